"""Ship-by deadlines of Amazon orders (issue 15): the one rule that says how close an order's Latest Ship Date is,
and the orders still to ship by a deadline. Screens, grids, the dashboard and the alerts ask here; templates only
show the state they are given.

* ``deadline_state(latest_ship_date, now)`` → ``overdue`` (passed), ``today`` (before midnight, local time),
  ``soon`` (within ``soon_hours``), ``later``; None without a date.
* ``awaiting_shipment(orders)``: merchant-fulfilled orders Amazon still expects us to ship (Unshipped without a
  shipment confirmation queued here, or Partially Shipped), with a Latest Ship Date.
* ``ship_by_filter(orders, choice, now)``: the grids' "Ship by" filter (overdue, due today, due within N hours).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saleschannel.amazon.models import AmazonOrderStatus, FulfillmentChannel, OutboxKind, OutboxMessage, OutboxState

S = AmazonOrderStatus
DEFAULT_SOON_HOURS = 6


class DeadlineState(StrEnum):
    OVERDUE = "overdue"
    TODAY = "today"
    SOON = "soon"
    LATER = "later"


STATE_LABELS = {
    DeadlineState.OVERDUE: _("Overdue"), DeadlineState.TODAY: _("Ship today"),
    DeadlineState.SOON: _("Ship soon"), DeadlineState.LATER: _("On time"),
}
# The badge class of each state (the status badge colours of web/static, contrast-checked).
STATE_LEVELS = {DeadlineState.OVERDUE: "state-error", DeadlineState.TODAY: "state-hold",
                DeadlineState.SOON: "state-pending", DeadlineState.LATER: "state-new"}

# The grids' "Ship by" filter: value → label; "Nh" = due within N hours.
WITHIN_HOURS = (6, 12, 24, 48)


def ship_by_choices() -> list[tuple[str, str]]:
    """The "Ship by" filter's choices, in the reader's language (a callable: forms evaluate it per request)."""
    return [("overdue", gettext("Overdue")), ("today", gettext("Due today")),
            *[(f"{hours}h", gettext("Due within %(hours)d hours") % {"hours": hours}) for hours in WITHIN_HOURS]]


def end_of_day(now: datetime) -> datetime:
    """Midnight after ``now``, in the current time zone."""
    zone = timezone.get_current_timezone()
    day = timezone.localtime(now, zone).date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min), zone)


def deadline_state(latest_ship_date: datetime | None, now: datetime, *,
                   soon_hours: int = DEFAULT_SOON_HOURS) -> DeadlineState | None:
    """How close ``latest_ship_date`` is at ``now``: overdue, today, soon (within ``soon_hours``) or later."""
    if latest_ship_date is None:
        return None
    if latest_ship_date < now:
        return DeadlineState.OVERDUE
    if latest_ship_date < end_of_day(now):
        return DeadlineState.TODAY
    if latest_ship_date <= now + timedelta(hours=soon_hours):
        return DeadlineState.SOON
    return DeadlineState.LATER


def is_awaiting_shipment(order) -> bool:
    """The Python twin of ``awaiting_shipment`` for one loaded order (the badge), without the outbox check."""
    return (order.fulfillment_channel == FulfillmentChannel.MFN and order.latest_ship_date is not None
            and order.status in (S.UNSHIPPED, S.PARTIALLY_SHIPPED))


def order_deadline_state(order, now: datetime) -> DeadlineState | None:
    """The state of an Amazon order's deadline, or None when it is not waiting to be shipped."""
    if not is_awaiting_shipment(order):
        return None
    return deadline_state(order.latest_ship_date, now, soon_hours=order.store.ship_by_alert_hours)


def awaiting_shipment_q(prefix: str = "") -> Q:
    """Q of the Amazon orders still to ship (``prefix``: e.g. "amazon_order__" from Commerce orders)."""
    confirmed = OutboxMessage.objects.filter(amazon_order=OuterRef(f"{prefix}pk"),
                                             kind=OutboxKind.SHIPMENT).exclude(state=OutboxState.DEAD)
    unshipped = Q(**{f"{prefix}status": S.UNSHIPPED}) & ~Exists(confirmed)
    return ((unshipped | Q(**{f"{prefix}status": S.PARTIALLY_SHIPPED}))
            & Q(**{f"{prefix}fulfillment_channel": FulfillmentChannel.MFN, f"{prefix}latest_ship_date__isnull": False}))


def awaiting_shipment(orders: QuerySet) -> QuerySet:
    return orders.filter(awaiting_shipment_q())


def ship_by_window(choice: str, now: datetime) -> tuple[datetime | None, datetime]:
    """The Latest Ship Dates a "Ship by" choice selects: ``[start, end)`` (start None: no lower bound)."""
    if choice == "overdue":
        return None, now
    if choice == "today":
        return now, end_of_day(now)
    hours = int(choice.rstrip("h"))
    return now, now + timedelta(hours=hours)


def ship_by_q(choice: str, now: datetime, prefix: str = "") -> Q:
    start, end = ship_by_window(choice, now)
    window = Q(**{f"{prefix}latest_ship_date__lt": end})
    if start is not None:
        window &= Q(**{f"{prefix}latest_ship_date__gte": start})
    return awaiting_shipment_q(prefix) & window


def ship_by_filter(orders: QuerySet, choice: str, now: datetime | None = None, *, prefix: str = "") -> QuerySet:
    """``orders`` narrowed by a "Ship by" choice (``ship_by_choices``)."""
    return orders.filter(ship_by_q(choice, now or timezone.now(), prefix))


def ship_by_label(choice: str) -> str:
    return dict(ship_by_choices()).get(choice, choice)
