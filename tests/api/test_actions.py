"""POST actions go through the screens' services (and an Amazon order's cancellation through the Amazon path)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.amazon.models import AmazonOrderStatus, OutboxKind, OutboxMessage
from saleschannel.sales.models import CreditMemo, HistoryKind, Invoice, OrderState, Shipment
from saleschannel.sales.services import invoice_create
from tests.api.conftest import make_amazon_order

S = AmazonOrderStatus


def url(order, action: str) -> str:
    return f"/api/v1/orders/{order.pk}/{action}"


def test_invoice_part_then_the_rest(operator_api, order, operator):
    mug = order.items.get(sku="MUG-BLUE")
    response = operator_api.post(url(order, "invoices"), {"quantities": {str(mug.pk): 1}, "comment": "first"})
    assert response.status_code == 201, response.content
    body = response.json()
    invoice = Invoice.objects.get()
    assert body["id"] == invoice.pk and body["number"] == invoice.number and body["created_by"] == operator.username
    assert body["items"] == [{"order_item_id": mug.pk, "sku": "MUG-BLUE", "qty": 1}]
    assert order.history.filter(kind=HistoryKind.COMMENT, comment="first", author=operator).exists()

    rest = operator_api.post(url(order, "invoices"), {})
    assert rest.status_code == 201
    order.refresh_from_db()
    assert order.total_invoiced == order.grand_total and order.state == OrderState.PROCESSING


def test_ship_with_tracks(operator_api, order):
    response = operator_api.post(url(order, "shipments"), {
        "tracks": [{"carrier_code": "ups", "number": "1Z999"}, {"carrier_code": "custom", "title": "Speedy",
                                                                "number": "SP-1"}],
        "notify_customer": True})
    assert response.status_code == 201, response.content
    body = response.json()
    shipment = Shipment.objects.get()
    assert body["total_qty"] == 5 == shipment.total_qty
    assert body["tracks"] == [{"carrier_code": "ups", "title": "UPS", "number": "1Z999"},
                              {"carrier_code": "custom", "title": "Speedy", "number": "SP-1"}]
    assert order.history.filter(kind=HistoryKind.EMAIL).exists()


def test_creditmemo_with_quantities_shipping_and_adjustments(operator_api, order):
    invoice_create(order=order, actor="tests")
    tshirt = order.items.get(sku="TSHIRT-RED")
    response = operator_api.post(url(order, "creditmemos"), {
        "quantities": {str(tshirt.pk): 1}, "shipping_refund": "2.50", "adjustment_refund": 1,
        "adjustment_fee": "0.50", "return_to_stock": [tshirt.pk]})
    assert response.status_code == 201, response.content
    memo = CreditMemo.objects.get()
    body = response.json()
    assert body["grand_total"] == str(memo.grand_total)
    assert (memo.shipping_amount, memo.adjustment_refund, memo.adjustment_fee) == (
        Decimal("2.50"), Decimal("1.00"), Decimal("0.50"))
    assert body["items"][0] == {"order_item_id": tshirt.pk, "sku": "TSHIRT-RED", "qty": 1}


def test_hold_unhold_comment_email_cancel(operator_api, order, operator):
    held = operator_api.post(url(order, "hold"))
    assert held.status_code == 200 and held.json()["state"] == "holded"
    assert held.json()["actions"]["unhold"]["allowed"] is True
    refused = operator_api.post(url(order, "hold"))
    assert refused.status_code == 409 and refused.json()["detail"] == "The order is already on hold."
    assert operator_api.post(url(order, "unhold")).json()["state"] == "new"

    comment = operator_api.post(url(order, "comments"), {"comment": "Called the customer.", "visible_on_front": True})
    assert comment.status_code == 201
    assert comment.json()["comment"] == "Called the customer." and comment.json()["author"] == operator.username
    empty = operator_api.post(url(order, "comments"), {"comment": "  "})
    assert empty.status_code == 422 and empty.json()["field"] == "comment"
    status = operator_api.post(url(order, "comments"), {"comment": "x", "status": "complete"})
    assert status.status_code == 422 and status.json()["field"] == "status"

    email = operator_api.post(url(order, "email"))
    assert email.status_code == 200
    assert order.history.filter(kind=HistoryKind.EMAIL, author=operator).exists()

    canceled = operator_api.post(url(order, "cancel"), {"comment": "Out of stock"})
    assert canceled.status_code == 200 and canceled.json()["state"] == "canceled"
    assert order.history.filter(comment="Out of stock").exists()


@pytest.mark.parametrize("reason", ["", "Whatever"])
def test_amazon_cancel_requires_an_amazon_reason(operator_api, amazon_store, reason):
    amazon = make_amazon_order(amazon_store)
    response = operator_api.post(url(amazon.commerce_order, "cancel"), {"reason": reason})
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "reason"
    amazon.refresh_from_db()
    assert amazon.status == S.UNSHIPPED and not OutboxMessage.objects.exists()


def test_amazon_cancel_goes_the_amazon_way(operator_api, amazon_store):
    amazon = make_amazon_order(amazon_store)  # invoiced on import: canceling it refunds it
    commerce = amazon.commerce_order
    response = operator_api.post(url(commerce, "cancel"), {"reason": "NoInventory"})
    assert response.status_code == 200, response.content
    amazon.refresh_from_db()
    commerce.refresh_from_db()
    assert amazon.status == S.CANCELED
    assert commerce.state in (OrderState.CANCELED, OrderState.CLOSED)
    (message,) = OutboxMessage.objects.filter(amazon_order=amazon)
    assert message.kind == OutboxKind.CANCEL and message.payload["reason"] == "NoInventory"
    assert response.json()["amazon"]["status"] == "Canceled"

    again = operator_api.post(url(commerce, "cancel"), {"reason": "NoInventory"})
    assert again.status_code == 409
    assert OutboxMessage.objects.filter(amazon_order=amazon).count() == 1


def test_amazon_rules_still_apply(operator_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    refused = operator_api.post(url(amazon.commerce_order, "creditmemos"), {})
    assert refused.status_code == 409
    assert "Amazon Order Details" in refused.json()["detail"]
    assert not CreditMemo.objects.exists()
