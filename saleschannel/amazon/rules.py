"""Amazon channel rules: when an Amazon order becomes a Commerce order, and what may be done to it.

The creation matrix of DESIGN.md §4.3, in one place, used by the importer and shown on the screens:

| Channel | Stock of every item       | Amazon status                          | Create?           | Reserve?        |
|---------|---------------------------|----------------------------------------|-------------------|-----------------|
| FBM     | any                       | Pending, PendingAvailability, Canceled | no                | Pending: if set |
| FBM     | in stock or not managed   | Unshipped, PartiallyShipped, Shipped   | yes (processing)  | yes (the order) |
| FBM     | missing/disabled/no stock | Unshipped, PartiallyShipped, Shipped   | no → status Error | no              |
| FBA     | in stock or not managed   | Shipped                                | yes, complete     | no              |
| FBA     | any                       | anything but Shipped                   | no                | no              |

FBA stock is Amazon's: an FBA item only needs its product to exist, be enabled and be flagged in stock; the local
quantity is not checked (Amazon already shipped it) and is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _

from saleschannel.amazon.models import AmazonOrderStatus as S
from saleschannel.amazon.models import FulfillmentChannel

CREATABLE_FBM = frozenset({S.UNSHIPPED, S.PARTIALLY_SHIPPED, S.SHIPPED})
WAITING_FBM = frozenset({S.PENDING, S.PENDING_AVAILABILITY})
CANCELABLE_BY_SELLER = frozenset({S.UNSHIPPED})


class Outcome(StrEnum):
    CREATE = "create"  # create the Commerce order now (if the stock check passes)
    RESERVE = "reserve"  # not yet; hold stock for the Amazon order (Pending with "Reserve")
    WAIT = "wait"  # not yet (or never), nothing to hold
    RELEASE = "release"  # never: give back what the Amazon order held (canceled)


@dataclass(frozen=True)
class ImportDecision:
    outcome: Outcome
    as_complete: bool = False  # FBA: created shipped and complete, stock untouched
    check_stock: bool = True  # FBM: salable quantity checked and reserved by the order
    reason: str = ""

    @property
    def create(self) -> bool:
        return self.outcome == Outcome.CREATE


def import_decision(*, fulfillment_channel: str, amazon_status: str, import_enabled: bool, reserve_pending: bool,
                    import_fba: bool) -> ImportDecision:
    """What to do with an Amazon order that has no Commerce order yet (the matrix above)."""
    if amazon_status == S.CANCELED:
        return ImportDecision(Outcome.RELEASE, reason=_("The order was canceled on Amazon."))
    if not import_enabled:
        return ImportDecision(Outcome.RELEASE, reason=_("Import Amazon Orders is disabled for this store."))
    if fulfillment_channel == FulfillmentChannel.AFN:
        if not import_fba:
            return ImportDecision(Outcome.WAIT, reason=_("FBA orders are not imported (Order Settings)."))
        if amazon_status == S.SHIPPED:
            return ImportDecision(Outcome.CREATE, as_complete=True, check_stock=False)
        return ImportDecision(Outcome.WAIT, reason=_("FBA orders are imported once Amazon has shipped them."))
    if amazon_status in CREATABLE_FBM:
        return ImportDecision(Outcome.CREATE)
    if amazon_status == S.PENDING and reserve_pending:
        return ImportDecision(Outcome.RESERVE, reason=_("Waiting for Amazon to verify the payment."))
    if amazon_status in WAITING_FBM:
        return ImportDecision(Outcome.WAIT, reason=_("Waiting for Amazon to verify the payment."))
    return ImportDecision(Outcome.WAIT, reason=_("Orders in status %(status)s are not imported.") % {
        "status": amazon_status})


def product_problem(product, *, sku: str, qty: int, already_reserved: int = 0, fba: bool = False) -> str | None:
    """Why an item cannot go into a Commerce order (missing, disabled, out of stock), or None.

    ``already_reserved`` is what this Amazon order already holds of the product (reserved while Pending): it is
    the order's own stock and counts as available to it.
    """
    if product is None:
        return _('Product "%(sku)s" in order is not salable: it does not exist in the catalog.') % {"sku": sku}
    if not product.enabled:
        return _('Product "%(sku)s" in order is not salable: it is disabled.') % {"sku": sku}
    if not product.is_in_stock:
        return _('Product "%(sku)s" in order is not salable: it is out of stock.') % {"sku": sku}
    if fba or not product.manage_stock:
        return None
    available = product.qty - product.qty_reserved + already_reserved
    if available < qty:
        return _('Product "%(sku)s" in order is not salable: %(available)d available, %(wanted)d ordered.') % {
            "sku": sku, "available": max(available, 0), "wanted": qty}
    return None


def can_cancel_on_amazon(amazon_status: str) -> bool:
    """Staff may cancel an Amazon order from Amazon Order Details only while it is Unshipped (DESIGN §4.5)."""
    return amazon_status in CANCELABLE_BY_SELLER


def is_error_visible(status: str) -> bool:
    return status == S.ERROR
