"""Cancel, hold/unhold, comments with status changes, resending the order email, reorder."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.catalog.models import StockReservation
from saleschannel.sales import channels
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import HistoryKind, Order, OrderState
from saleschannel.sales.services import (
    creditmemo_create,
    invoice_create,
    order_cancel,
    order_comment_add,
    order_email_send,
    order_hold,
    order_reorder,
    order_status_create,
    order_unhold,
    shipment_create,
    stock_reference,
)
from tests.factories import fresh, line, make_order

pytestmark = pytest.mark.django_db


def refused(service, order, message, *, code="not_allowed", field=None, **kwargs):
    before = (fresh(order).state, fresh(order).status, order.history.count(), Order.objects.count())
    with pytest.raises(OrderActionError) as caught:
        service(order=order, actor="tests", **kwargs)
    assert (caught.value.message, caught.value.code) == (message, code)
    if field is not None:
        assert caught.value.field == field
    assert (fresh(order).state, fresh(order).status, order.history.count(), Order.objects.count()) == before


# --- Cancel ----------------------------------------------------------------------------------------------------


def test_cancel_a_new_order_releases_its_reservations(order, products, staff_user):
    order_cancel(order=order, comment="Customer called.", reason="BuyerCanceled", actor=staff_user)
    assert (order.state, order.status) == (OrderState.CANCELED, "canceled")
    assert [i.qty_canceled for i in fresh(order).items.all()] == [2, 3]
    assert order.total_canceled == order.grand_total
    assert not StockReservation.objects.filter(reference=stock_reference(order)).exists()
    products[0].refresh_from_db()
    assert products[0].qty_reserved == 0
    event, comment = order.history.filter(kind=HistoryKind.EVENT).first(), order.history.get(kind=HistoryKind.COMMENT)
    assert event.comment == "Order canceled. Reason: BuyerCanceled. The order status is now Canceled."
    assert (event.author, comment.comment) == (staff_user, "Customer called.")


def test_cancel_a_partly_invoiced_order_keeps_it_processing(order, products):
    tshirt, mug = fresh(order).items.all()
    invoice_create(order=order, quantities={tshirt.pk: 1}, actor="tests")
    order_cancel(order=order, actor="tests")
    items = list(fresh(order).items.all())
    assert [(i.qty_invoiced, i.qty_canceled) for i in items] == [(1, 1), (0, 3)]
    assert order.state == OrderState.PROCESSING
    assert order.history.first().comment == "Items not invoiced were canceled."
    products[0].refresh_from_db()
    assert products[0].qty_reserved == 1  # the invoiced unit is still to ship
    shipment_create(order=order, actor="tests")
    assert order.state == OrderState.COMPLETE


def test_cancel_refusals(order):
    invoice_create(order=order, actor="tests")
    refused(order_cancel, order, "The order is fully invoiced: refund it with a credit memo instead.")
    order_hold(order=order, actor="tests")
    refused(order_cancel, order, "The order is on hold. Release the hold first.")


def test_cancel_refused_on_a_complete_order(order):
    invoice_create(order=order, actor="tests")
    shipment_create(order=order, actor="tests")
    refused(order_cancel, order, "The order is complete.")


def test_cancel_calls_the_channel(order, monkeypatch):
    calls = []

    class Channel(channels.OrderChannel):
        origin = "recording"

        def after_cancel(self, order, *, reason=""):
            calls.append((order.number, order.state, reason))

    monkeypatch.setitem(channels._channels, "recording", Channel())
    Order.objects.filter(pk=order.pk).update(origin="recording")
    order.origin = "recording"
    order_cancel(order=order, reason="NoInventory", actor="tests")
    assert calls == [(order.number, OrderState.CANCELED, "NoInventory")]


# --- Hold / unhold ---------------------------------------------------------------------------------------------


def test_hold_remembers_and_unhold_restores_state_and_status(order, staff_user):
    order_status_create(code="fraud_check", label="Fraud check", state="processing", actor="tests")
    invoice_create(order=order, quantities={fresh(order).items.all()[0].pk: 1}, actor="tests")
    order_comment_add(order=order, comment="Checking.", status="fraud_check", actor="tests")
    order_hold(order=order, actor=staff_user)
    assert (order.state, order.status) == (OrderState.HOLDED, "holded")
    assert (order.hold_before_state, order.hold_before_status) == ("processing", "fraud_check")
    assert order.history.first().comment == "The order was put on hold."
    order_unhold(order=order, actor=staff_user)
    assert (order.state, order.status) == ("processing", "fraud_check")
    assert (order.hold_before_state, order.hold_before_status) == ("", "")
    line_ = order.history.first()
    assert (line_.comment, line_.status, line_.author) == ("The hold on the order was released.", "fraud_check",
                                                           staff_user)


def test_hold_and_unhold_refusals(order):
    refused(order_unhold, order, "The order is not on hold.")
    order_hold(order=order, actor="tests")
    refused(order_hold, order, "The order is already on hold.")
    order_unhold(order=order, actor="tests")
    order_cancel(order=order, actor="tests")
    refused(order_hold, order, "The order is canceled.")


# --- Comments --------------------------------------------------------------------------------------------------


def test_comment_with_status_change_notify_and_storefront(order, staff_user, mailoutbox,
                                                          django_capture_on_commit_callbacks):
    order_status_create(code="awaiting_stock", label="Awaiting stock", state="new", actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        line_ = order_comment_add(order=order, comment="Your parcel leaves tomorrow.", status="awaiting_stock",
                                  notify_customer=True, visible_on_front=True, actor=staff_user)
    assert order.status == "awaiting_stock" and fresh(order).status == "awaiting_stock"
    assert (line_.kind, line_.comment, line_.status, line_.is_customer_notified, line_.is_visible_on_front) == (
        HistoryKind.COMMENT, "Your parcel leaves tomorrow.", "awaiting_stock", True, True)
    assert line_.author == staff_user
    assert len(mailoutbox) == 1 and "Your parcel leaves tomorrow." in mailoutbox[0].body
    assert order.history.filter(kind=HistoryKind.EMAIL, comment="The comment was emailed to the customer.").exists()


def test_comment_refusals(order):
    refused(order_comment_add, order, "Enter a comment.", code="invalid", field="comment", comment="  ")
    refused(order_comment_add, order, "The status must belong to the order's current state (New).", code="invalid",
            field="status", comment="x", status="complete")
    refused(order_comment_add, order, 'Unknown order status "nope".', code="invalid", comment="x", status="nope")


def test_comment_is_allowed_on_held_and_canceled_orders(order):
    order_hold(order=order, actor="tests")
    order_comment_add(order=order, comment="On hold, still commentable.", actor="tests")
    order_unhold(order=order, actor="tests")
    order_cancel(order=order, actor="tests")
    order_comment_add(order=order, comment="Canceled, still commentable.", actor="tests")
    assert order.history.filter(kind=HistoryKind.COMMENT).count() == 2


# --- Email -----------------------------------------------------------------------------------------------------


def test_send_email_again(order, staff_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order_email_send(order=order, actor=staff_user)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["zoe@example.com"]
    line_ = order.history.first()
    assert (line_.kind, line_.comment, line_.author) == (
        HistoryKind.EMAIL, "The order confirmation email was sent to the customer.", staff_user)
    assert Order.objects.get(pk=order.pk).email_sent


def test_send_email_refused_when_canceled(order, mailoutbox, django_capture_on_commit_callbacks):
    order_cancel(order=order, actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        refused(order_email_send, order, "The order is canceled.")
    assert mailoutbox == []


# --- Reorder ---------------------------------------------------------------------------------------------------


def test_reorder_uses_current_prices(order, products, staff_user):
    products[0].price = Decimal("17.50")
    products[0].save()
    new = order_reorder(order=order, actor=staff_user)
    assert new.pk != order.pk and new.reordered_from == order
    assert new.number == "US000000002" and new.state == OrderState.NEW
    items = [(i.sku, i.qty_ordered, i.price, i.tax_amount, i.discount_amount) for i in new.items.all()]
    # 8 % tax recomputed on the new price; the old discount does not carry over.
    assert items == [("TSHIRT-RED", 2, Decimal("17.50"), Decimal("2.80"), Decimal("0")),
                     ("MUG-BLUE", 3, Decimal("8.50"), Decimal("0"), Decimal("0"))]
    assert new.grand_total == Decimal("35.00") + Decimal("25.50") + Decimal("2.80") + Decimal("5.00")
    assert new.addresses.get(address_type="shipping").city == "Lyon"
    assert new.history.filter(comment=f"Reorder of order #{order.number}.").exists()
    assert order.history.filter(comment=f"Reordered as order #{new.number}.").exists()


def test_reorder_refused_when_a_product_is_gone_or_disabled(order, products):
    products[1].enabled = False
    products[1].save()
    refused(order_reorder, order, 'Product "MUG-BLUE" is disabled.', code="not_salable")
    products[1].delete()
    refused(order_reorder, order, 'Product "MUG-BLUE" no longer exists.')


def test_reorder_of_a_closed_order(store, products):
    o = make_order(store=store, items=[line(products[2], 1)])
    invoice_create(order=o, actor="tests")
    creditmemo_create(order=o, actor="tests")
    assert o.state == OrderState.CLOSED
    assert order_reorder(order=o, actor="tests").grand_total == Decimal("12.00")
