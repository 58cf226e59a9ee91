"""sales.rules: which action is allowed in which state, and the reason given when it is not (DESIGN.md §3.2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.sales import channels, rules
from saleschannel.sales.models import Order, OrderItem, OrderState
from saleschannel.sales.rules import Action, Verdict, available_actions, check
from tests.factories import fresh

pytestmark = pytest.mark.django_db

ON_HOLD = "The order is on hold. Release the hold first."
IN_REVIEW = "The order's payment is under review."
CANCELED = "The order is canceled."
COMPLETE = "The order is complete."
CLOSED = "The order is closed."


def with_state(order: Order, state: str, **fields) -> Order:
    """The order (items prefetched) as if it were in ``state`` — rules only read, so nothing is saved."""
    order = fresh(order)
    order.state = state
    for name, value in fields.items():
        setattr(order, name, value)
    return order


def set_items(order: Order, **qtys) -> Order:
    for item in order.items.all():
        for name, value in qtys.items():
            setattr(item, name, value if isinstance(value, int) else value(item))
    return order


def reason(order, action) -> str:
    verdict = check(order, action)
    assert not verdict and verdict.allowed is False
    return str(verdict.reason)


def test_verdict_is_truthy_only_when_allowed():
    assert Verdict(True)
    assert not Verdict(False, "no")
    assert Verdict(False, "no").message == "no"


def test_a_new_order_allows_the_usual_actions(order):
    verdicts = available_actions(fresh(order))
    assert list(verdicts) == list(Action)
    allowed = {action for action, verdict in verdicts.items() if verdict}
    assert allowed == {Action.INVOICE, Action.SHIP, Action.CANCEL, Action.HOLD, Action.COMMENT, Action.EMAIL,
                       Action.REORDER}
    assert str(verdicts[Action.CREDITMEMO].reason) == "Nothing paid is left to refund."
    assert str(verdicts[Action.UNHOLD].reason) == "The order is not on hold."


def test_check_accepts_the_action_name(order):
    assert check(fresh(order), "invoice")
    with pytest.raises(ValueError):
        check(fresh(order), "teleport")


# --- Invoice ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [(OrderState.HOLDED, ON_HOLD), (OrderState.PAYMENT_REVIEW, IN_REVIEW), (OrderState.CANCELED, CANCELED),
     (OrderState.COMPLETE, COMPLETE), (OrderState.CLOSED, CLOSED)],
)
def test_invoice_refused_by_state(order, state, message):
    assert reason(with_state(order, state), Action.INVOICE) == message


def test_invoice_refused_when_everything_is_invoiced_or_canceled(order):
    o = set_items(with_state(order, OrderState.PROCESSING), qty_invoiced=lambda i: i.qty_ordered - 1, qty_canceled=1)
    assert reason(o, Action.INVOICE) == "Every item of the order has already been invoiced or canceled."


def test_invoice_allowed_in_pending_payment_and_processing(order):
    assert check(with_state(order, OrderState.PENDING_PAYMENT), Action.INVOICE)
    assert check(with_state(order, OrderState.PROCESSING), Action.INVOICE)


# --- Ship ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [(OrderState.HOLDED, ON_HOLD), (OrderState.PAYMENT_REVIEW, IN_REVIEW), (OrderState.CANCELED, CANCELED)],
)
def test_ship_refused_by_state(order, state, message):
    assert reason(with_state(order, state), Action.SHIP) == message


def test_ship_refused_when_nothing_is_left_to_ship(order):
    o = set_items(with_state(order, OrderState.PROCESSING), qty_shipped=lambda i: i.qty_ordered - 1, qty_refunded=1)
    assert reason(o, Action.SHIP) == "Nothing is left to ship: every item has been shipped, refunded or canceled."


def test_ship_allowed_on_a_complete_order_with_units_left(order):
    # Magento lets a complete order (e.g. invoiced, refunded by adjustment) ship what is still due.
    assert check(with_state(order, OrderState.COMPLETE), Action.SHIP)


# --- Credit memo -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [(OrderState.HOLDED, ON_HOLD), (OrderState.PAYMENT_REVIEW, IN_REVIEW), (OrderState.CANCELED, CANCELED),
     (OrderState.CLOSED, CLOSED)],
)
def test_creditmemo_refused_by_state(order, state, message):
    o = with_state(order, state, total_paid=Decimal("10"))
    assert reason(o, Action.CREDITMEMO) == message


def test_creditmemo_needs_money_left_to_refund(order):
    o = with_state(order, OrderState.COMPLETE, total_paid=Decimal("10.00"), total_refunded=Decimal("10.00"))
    assert reason(o, Action.CREDITMEMO) == "Nothing paid is left to refund."
    o.total_refunded = Decimal("9.99")
    assert check(o, Action.CREDITMEMO)


# --- Cancel ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [(OrderState.CANCELED, CANCELED), (OrderState.HOLDED, ON_HOLD), (OrderState.PAYMENT_REVIEW, IN_REVIEW),
     (OrderState.COMPLETE, COMPLETE), (OrderState.CLOSED, CLOSED)],
)
def test_cancel_refused_by_state(order, state, message):
    assert reason(with_state(order, state), Action.CANCEL) == message


def test_cancel_refused_when_fully_invoiced(order):
    o = set_items(with_state(order, OrderState.PROCESSING), qty_invoiced=lambda i: i.qty_ordered)
    assert reason(o, Action.CANCEL) == "The order is fully invoiced: refund it with a credit memo instead."


def test_cancel_allowed_when_partly_invoiced(order):
    o = set_items(with_state(order, OrderState.PROCESSING), qty_invoiced=1)
    assert check(o, Action.CANCEL)


# --- Hold / unhold ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "message"),
    [(OrderState.CANCELED, CANCELED), (OrderState.PAYMENT_REVIEW, IN_REVIEW), (OrderState.COMPLETE, COMPLETE),
     (OrderState.CLOSED, CLOSED), (OrderState.HOLDED, "The order is already on hold.")],
)
def test_hold_refused(order, state, message):
    assert reason(with_state(order, state), Action.HOLD) == message


@pytest.mark.parametrize("state", [OrderState.NEW, OrderState.PROCESSING, OrderState.PENDING_PAYMENT])
def test_hold_allowed(order, state):
    assert check(with_state(order, state), Action.HOLD)


def test_unhold_only_when_held(order):
    assert check(with_state(order, OrderState.HOLDED), Action.UNHOLD)
    for state in OrderState.values:
        if state != OrderState.HOLDED:
            assert reason(with_state(order, state), Action.UNHOLD) == "The order is not on hold."


# --- Comment, email, reorder -----------------------------------------------------------------------------------


def test_comment_always_allowed(order):
    for state in OrderState.values:
        assert check(with_state(order, state), Action.COMMENT)


def test_email_refused_only_when_canceled(order):
    for state in OrderState.values:
        verdict = check(with_state(order, state), Action.EMAIL)
        assert bool(verdict) is (state != OrderState.CANCELED)
    assert reason(with_state(order, OrderState.CANCELED), Action.EMAIL) == CANCELED


def test_reorder_refused_when_a_product_no_longer_exists(order, products):
    products[1].delete()
    assert reason(fresh(order), Action.REORDER) == 'Product "MUG-BLUE" no longer exists.'


def test_reorder_allowed_in_any_state_while_products_exist(order):
    for state in OrderState.values:
        assert check(with_state(order, state), Action.REORDER)


# --- Channel veto and efficiency -------------------------------------------------------------------------------


class NoRefundChannel(channels.OrderChannel):
    origin = "testchannel"

    def __init__(self):
        self.asked = []

    def veto(self, order, action):
        self.asked.append(action)
        return "Refunds go through the channel." if action == "creditmemo" else None


def test_the_channel_can_veto_an_action_it_cannot_honour(order, monkeypatch):
    channel = NoRefundChannel()
    monkeypatch.setitem(channels._channels, "testchannel", channel)
    o = with_state(order, OrderState.PROCESSING, origin="testchannel", total_paid=Decimal("5"))
    assert reason(o, Action.CREDITMEMO) == "Refunds go through the channel."
    assert check(o, Action.INVOICE)
    # The channel is only asked about actions our own rules allow.
    channel.asked.clear()
    assert not check(o, Action.UNHOLD)
    assert channel.asked == []


def test_rules_run_no_query_on_a_prefetched_order(order, django_assert_num_queries):
    o = Order.objects.prefetch_related("items").get(pk=order.pk)
    with django_assert_num_queries(0):
        available_actions(o)


def test_rules_read_item_quantities_from_the_prefetch(order):
    o = fresh(order)
    items = list(o.items.all())
    OrderItem.objects.filter(order=o).update(qty_invoiced=0)
    for item in items:
        item.qty_invoiced = item.qty_ordered
    assert not rules.check(o, Action.INVOICE)  # what the caller holds is what is judged


def test_available_actions_loads_the_items_once(order, django_assert_num_queries):
    o = Order.objects.get(pk=order.pk)
    with django_assert_num_queries(1):
        verdicts = available_actions(o)
    assert verdicts[Action.INVOICE]
