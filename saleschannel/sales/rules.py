"""What may be done to an order, and if not, why (DESIGN.md §3.2).

The single source for the order view's buttons, the API's errors and the services' refusals. ``check`` reads the
order's state, totals and items only; with the items prefetched (``prefetch_related("items")``) it runs no query,
whatever the number of items. After its own rules it asks the order's sales channel (``channels.channel_for``),
which may veto an action the channel cannot honour.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db.models import prefetch_related_objects
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from saleschannel.sales.channels import channel_for
from saleschannel.sales.models import Order, OrderState


class Action(StrEnum):
    INVOICE = "invoice"
    SHIP = "ship"
    CREDITMEMO = "creditmemo"
    CANCEL = "cancel"
    HOLD = "hold"
    UNHOLD = "unhold"
    COMMENT = "comment"
    EMAIL = "email"
    REORDER = "reorder"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | Promise = ""

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return str(self.reason)


ALLOWED = Verdict(True)

# Why an action is refused because of the order's state, in the words staff read on a disabled button.
STATE_REASONS = {
    OrderState.HOLDED: _("The order is on hold. Release the hold first."),
    OrderState.PAYMENT_REVIEW: _("The order's payment is under review."),
    OrderState.CANCELED: _("The order is canceled."),
    OrderState.COMPLETE: _("The order is complete."),
    OrderState.CLOSED: _("The order is closed."),
}

# States in which each action is refused (DESIGN.md §3.2).
BLOCKING_STATES = {
    Action.INVOICE: {OrderState.HOLDED, OrderState.PAYMENT_REVIEW, OrderState.CANCELED, OrderState.COMPLETE,
                     OrderState.CLOSED},
    Action.SHIP: {OrderState.HOLDED, OrderState.PAYMENT_REVIEW, OrderState.CANCELED},
    Action.CREDITMEMO: {OrderState.HOLDED, OrderState.PAYMENT_REVIEW, OrderState.CANCELED, OrderState.CLOSED},
    Action.CANCEL: {OrderState.CANCELED, OrderState.HOLDED, OrderState.PAYMENT_REVIEW, OrderState.COMPLETE,
                    OrderState.CLOSED},
    Action.HOLD: {OrderState.CANCELED, OrderState.PAYMENT_REVIEW, OrderState.COMPLETE, OrderState.CLOSED},
    Action.EMAIL: {OrderState.CANCELED},
}


def _state_verdict(order: Order, action: Action) -> Verdict | None:
    if order.state in BLOCKING_STATES.get(action, ()):
        return Verdict(False, STATE_REASONS[OrderState(order.state)])
    return None


def _own_rules(order: Order, action: Action, items: list | None = None, *, zero_refund: bool = False) -> Verdict:
    if action == Action.HOLD and order.state == OrderState.HOLDED:
        return Verdict(False, _("The order is already on hold."))
    if action == Action.UNHOLD:
        return ALLOWED if order.state == OrderState.HOLDED else Verdict(False, _("The order is not on hold."))
    refused = _state_verdict(order, action)
    if refused is not None:
        return refused
    if action in (Action.HOLD, Action.COMMENT, Action.EMAIL):
        return ALLOWED
    if items is None:
        items = list(order.items.all())  # the prefetch cache when there is one
    if action == Action.INVOICE:
        if not any(item.qty_to_invoice > 0 for item in items):
            return Verdict(False, _("Every item of the order has already been invoiced or canceled."))
    elif action == Action.SHIP:
        if not any(item.qty_to_ship > 0 for item in items):
            return Verdict(False, _("Nothing is left to ship: every item has been shipped, refunded or canceled."))
    elif action == Action.CREDITMEMO:
        # A zero credit memo closes invoiced items of an order that cost nothing (Magento's "Allow Zero Grand Total
        # Creditmemo"): only when asked, for items still to refund.
        zero_allowed = zero_refund and any(item.qty_to_refund > 0 for item in items)
        if order.total_paid - order.total_refunded <= 0 and not zero_allowed:
            return Verdict(False, _("Nothing paid is left to refund."))
    elif action == Action.CANCEL:
        if not any(item.qty_to_invoice > 0 for item in items):
            return Verdict(False, _("The order is fully invoiced: refund it with a credit memo instead."))
    elif action == Action.REORDER:
        gone = [item.sku for item in items if item.product_id is None]
        if gone:
            return Verdict(False, _('Product "%(sku)s" no longer exists.') % {"sku": gone[0]})
    return ALLOWED


def check(order: Order, action: Action | str, *, items: list | None = None, zero_refund: bool = False) -> Verdict:
    """Whether ``action`` may be done to ``order`` now; when not, ``reason`` says why in a sentence.

    ``items``: the order's items when the caller holds them (e.g. an order not written yet); read otherwise.
    ``zero_refund``: a credit memo may refund nothing but quantities (an order that cost nothing, canceled by its
    sales channel).
    """
    action = Action(action)
    channel = channel_for(order)
    if action == Action.CANCEL:
        # A channel that cancels its orders its own way (Amazon: with Amazon's reason) refuses Commerce's cancel
        # whatever the order's state: its reason comes first, so that staff are sent to the right place.
        veto = channel.veto(order, action.value)
        if veto:
            return Verdict(False, veto)
    verdict = _own_rules(order, action, items, zero_refund=zero_refund)
    if not verdict or action == Action.CANCEL:
        return verdict
    veto = channel.veto(order, action.value)
    return Verdict(False, veto) if veto else verdict


def available_actions(order: Order) -> dict[Action, Verdict]:
    """Every action (in ``Action`` order) with its verdict; loads the items once when they are not prefetched."""
    if "items" not in getattr(order, "_prefetched_objects_cache", {}):
        prefetch_related_objects([order], "items")
    return {action: check(order, action) for action in Action}


PERCENT = Decimal("0.01")


def item_tax_percent(item) -> Decimal | None:
    """The tax percent of an order item, as the screens show it: the rate the order was placed with, or, when it
    carries none (Amazon gives amounts, not rates), the tax over the row total. None ("—") when it cannot be told:
    tax on a row that costs nothing."""
    if item.tax_percent:
        return item.tax_percent.quantize(PERCENT)
    if not item.tax_amount:
        return Decimal("0.00")
    if item.row_total > 0:
        return (item.tax_amount * 100 / item.row_total).quantize(PERCENT)
    return None
