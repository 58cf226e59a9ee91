"""Amazon channel rules: when an Amazon order becomes a Commerce order, and what may be done to it.

The one place that decides, for the import, the screens, the services, the API and the commands: the creation
matrix of DESIGN.md §4.3 (``import_decision``), who may cancel an Amazon order (``can_cancel_on_amazon``) or edit its
address (``can_edit_address``), what Commerce may do to its Commerce order (``commerce_action_veto``) and whether an
outbound message may be retried by hand (``outbox_retry_verdict``).

The creation matrix:

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
from django.utils.translation import gettext_lazy

from saleschannel.amazon.events import coded
from saleschannel.amazon.models import AmazonOrderStatus as S
from saleschannel.amazon.models import FulfillmentChannel, OutboxKind, OutboxState
from saleschannel.sales.models import OrderState
from saleschannel.sales.rules import STATE_REASONS

CREATABLE_FBM = frozenset({S.UNSHIPPED, S.PARTIALLY_SHIPPED, S.SHIPPED})
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

    @property
    def create(self) -> bool:
        return self.outcome == Outcome.CREATE


def import_decision(*, fulfillment_channel: str, amazon_status: str, import_enabled: bool, reserve_pending: bool,
                    import_fba: bool) -> ImportDecision:
    """What to do with an Amazon order that has no Commerce order yet (the matrix above)."""
    if amazon_status == S.CANCELED:
        return ImportDecision(Outcome.RELEASE)
    if not import_enabled:
        return ImportDecision(Outcome.RELEASE)
    if fulfillment_channel == FulfillmentChannel.AFN:
        if not import_fba:
            return ImportDecision(Outcome.WAIT)  # FBA orders are not imported (Order Settings)
        if amazon_status == S.SHIPPED:
            return ImportDecision(Outcome.CREATE, as_complete=True)
        return ImportDecision(Outcome.WAIT)  # FBA orders are imported once Amazon has shipped them
    if amazon_status in CREATABLE_FBM:
        return ImportDecision(Outcome.CREATE)
    if amazon_status == S.PENDING and reserve_pending:
        return ImportDecision(Outcome.RESERVE)
    return ImportDecision(Outcome.WAIT)  # waiting for Amazon to verify the payment, or never imported


def product_problem(product, *, sku: str, qty: int, already_reserved: int = 0, fba: bool = False) -> str | None:
    """Why an item cannot go into a Commerce order (missing, disabled, out of stock), or None.

    ``already_reserved`` is what this Amazon order already holds of the product (reserved while Pending): it is
    the order's own stock and counts as available to it.
    """
    if product is None:
        return coded("unknown_sku", sku=sku)  # a str; in a note, shown in the reader's language with its fix
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


@dataclass(frozen=True)
class Verdict:
    """May staff do something to an Amazon order now (cancel it, edit its address), and if not, why."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def can_cancel_on_amazon(amazon_order, *, commerce_order=None, outbox_kinds=None) -> Verdict:
    """The one rule behind every cancellation of an Amazon order by staff (DESIGN §4.5): Cancel Order on Amazon
    Order Details, Cancel on the Commerce order view, the API and ``services.amazon_order_cancel``.

    Allowed only while the order is Unshipped (locally and on Amazon), fulfilled by the merchant, nothing of it has
    shipped (on Amazon or in Commerce), no shipment or cancellation is queued for (or was sent to) Amazon, and its
    Commerce order is neither on hold nor under payment review.

    ``commerce_order``: the Commerce order when the caller holds it (its items prefetched); read otherwise.
    ``outbox_kinds``: the kinds of the order's outbound messages when the caller holds them; read (one query, and
    only when every other condition holds) otherwise.
    """
    if amazon_order.is_fba:
        return Verdict(False, _("Amazon fulfils this order (FBA): it cannot be canceled here."))
    for status in (amazon_order.status, amazon_order.amazon_status):
        if status not in CANCELABLE_BY_SELLER:
            if status == S.CANCELED:
                return Verdict(False, _("The order is already canceled."))
            return Verdict(False, _(
                "Only an Unshipped Amazon order can be canceled; this one is %(status)s.") % {
                "status": S(status).label})
    shipped = _("Items of this order were shipped: it cannot be canceled any more; refund the shipped items with "
                "a credit memo instead.")
    if amazon_order.items_shipped:
        return Verdict(False, shipped)
    if commerce_order is None and amazon_order.commerce_order_id:
        commerce_order = amazon_order.commerce_order
    if commerce_order is not None:
        if any(item.qty_shipped for item in commerce_order.items.all()):
            return Verdict(False, shipped)
        if commerce_order.state in (OrderState.HOLDED, OrderState.PAYMENT_REVIEW):
            return Verdict(False, str(STATE_REASONS[OrderState(commerce_order.state)]))
    if outbox_kinds is None:
        outbox_kinds = set(amazon_order.outbox_messages.values_list("kind", flat=True).distinct())
    if OutboxKind.CANCEL in outbox_kinds:
        return Verdict(False, _("This order's cancellation was already sent to Amazon."))
    if OutboxKind.SHIPMENT in outbox_kinds:
        return Verdict(False, shipped)
    return Verdict(True)


def can_edit_address(amazon_order) -> Verdict:
    """The one rule behind the editable shipping address of Amazon Order Details and
    ``services.amazon_order_address_update``: allowed until the order's personal data is redacted."""
    if amazon_order.pii_redacted_at:
        return Verdict(False, _("The personal data of this order was redacted; it cannot be edited."))
    return Verdict(True)


# --- What Commerce may do to the Commerce order of an Amazon order ---------------------------------------------

NOT_SHIPPED = frozenset({S.PENDING, S.PENDING_AVAILABILITY, S.UNSHIPPED})
# Why Commerce's own Cancel (order view without the dialog, mass action, services) refuses an Amazon order.
CANCEL_THE_AMAZON_WAY = gettext_lazy("Amazon order: cancel it from Amazon Order Details with a reason.")


def commerce_action_veto(amazon_order, commerce_order, action: str) -> str | None:
    """Why Commerce may not do ``action`` (``sales.rules`` action names) to ``commerce_order``, the Commerce order of
    ``amazon_order``, or None: Commerce's own (reasonless) cancellation — an Amazon order is canceled only the Amazon
    way, ``services.amazon_order_cancel``, with one of Amazon's reasons —, a credit memo on an order that has not
    shipped (it must be canceled instead), shipping an FBA or canceled order. Changes Amazon itself made are not
    asked about (the channel lets them through)."""
    if action == "creditmemo" and amazon_order.amazon_status in NOT_SHIPPED and amazon_order.status != S.COMPLETED \
            and not any(item.qty_shipped for item in commerce_order.items.all()):
        return _("This Amazon order has not shipped: cancel it from Amazon Order Details instead.")
    if action == "cancel":
        # Never Commerce's reasonless cancel: the order view offers the Amazon dialog instead (cancel_dialog).
        return str(CANCEL_THE_AMAZON_WAY)
    if action == "ship":
        if amazon_order.is_fba:
            return _("Amazon ships this order (FBA).")
        if amazon_order.amazon_status == S.CANCELED:
            return _("This order was canceled on Amazon.")
    return None


# --- Retrying an outbound message by hand ---------------------------------------------------------------------

RETRYABLE_STATES = frozenset({OutboxState.FAILED, OutboxState.DEAD})


@dataclass(frozen=True)
class RetryVerdict:
    """May an outbound message be sent again by hand, and with what risk (DESIGN §8.1: never repeated blindly)."""

    allowed: bool
    needs_confirmation: bool = False
    reason: str = ""  # why it may not be retried, or the risk a person must accept to retry it

    @property
    def safe(self) -> bool:
        return self.allowed and not self.needs_confirmation


def outbox_retry_verdict(message) -> RetryVerdict:
    """The one rule behind the Retry buttons, their confirmation step and ``saleschannel amazon outbox retry``.

    * Only a failed or dead-lettered message can be retried.
    * A refund whose feed Amazon may have applied (the outcome of its submission is unknown, and Amazon's feeds,
      asked just before, could not tell) needs a person's confirmation: sending it again may refund twice.
    * Anything else is safe: a shipment looks at the order before sending (Amazon refuses a package reference it
      has), a cancellation sent twice changes nothing, a feed Amazon refused or never got can be sent, and a feed
      Amazon has (its id is known) is followed, not sent again.
    """
    if message.state not in RETRYABLE_STATES:
        return RetryVerdict(False, reason=_("Only a failed message can be retried; this one is %(state)s.") % {
            "state": OutboxState(message.state).label})
    if message.kind == OutboxKind.REFUND and message.outcome_unknown and not message.feed_id:
        payload = message.payload or {}
        return RetryVerdict(True, needs_confirmation=True, reason=_(
            "Amazon may already have applied this refund (credit memo #%(number)s, %(amount)s %(currency)s): its "
            "submission got no clear answer and Amazon's feed list cannot tell. Sending it again may refund the "
            "buyer twice. Check order %(order)s in Seller Central (Payments › Refunds) first, and send it again "
            "only if the refund is not there.") % {
            "number": payload.get("creditmemo_number", ""), "amount": payload.get("total", ""),
            "currency": payload.get("currency", ""), "order": message.amazon_order.amazon_order_id})
    return RetryVerdict(True)



def suggested_cancel_reason(amazon_order) -> str:
    """The reason the cancel dialog preselects: "BuyerCanceled" when the buyer asked Amazon to cancel (such a cancel
    does not count in the Pre-fulfillment Cancel Rate, DESIGN.md §8.4); none otherwise (the seller chooses)."""
    return "BuyerCanceled" if amazon_order.buyer_cancel_requested else ""
