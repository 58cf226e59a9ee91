"""The default order statuses (DESIGN.md §3.2): one default per state, plus "fraud" under processing.

Reference data that must always exist. It is (re)created after every ``migrate`` — and after every ``flush``,
which Django follows with the same post-migrate step — so that an emptied database (a transactional test, a
restored dump without this table) never leaves orders without their statuses.
"""

from __future__ import annotations

from saleschannel.sales.models import OrderStatus

DEFAULT_STATUSES = [
    ("pending", "Pending", "new", True),
    ("pending_payment", "Pending Payment", "pending_payment", True),
    ("processing", "Processing", "processing", True),
    ("fraud", "Suspected Fraud", "processing", False),
    ("complete", "Complete", "complete", True),
    ("closed", "Closed", "closed", True),
    ("canceled", "Canceled", "canceled", True),
    ("holded", "On Hold", "holded", True),
    ("payment_review", "Payment Review", "payment_review", True),
]


def ensure_default_statuses(using: str = "default") -> int:
    """Create the missing default statuses; existing rows (and merchant edits of their labels) are kept."""
    existing = set(OrderStatus.objects.using(using).values_list("code", flat=True))
    missing = [
        OrderStatus(code=code, label=label, state=state, is_default=is_default, is_system=True)
        for code, label, state, is_default in DEFAULT_STATUSES
        if code not in existing
    ]
    OrderStatus.objects.using(using).bulk_create(missing)
    return len(missing)
