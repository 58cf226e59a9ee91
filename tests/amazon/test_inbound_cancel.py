"""Amazon cancels an order: the Commerce order ends canceled or closed whatever was paid, stock is released, and a
change Commerce cannot apply yet is visible in Error and applied at a later pass (issue 11, finding 2)."""

from __future__ import annotations

import pytest

from saleschannel.amazon import services
from saleschannel.amazon.models import AmazonOrderStatus, OutboxKind
from saleschannel.catalog.models import Product, StockReservation
from saleschannel.sales.models import OrderState
from saleschannel.sales.services import invoice_create, order_hold, order_unhold
from tests.amazon.conftest import amazon, connect_store, settle, sync

S = AmazonOrderStatus
pytestmark = pytest.mark.django_db






def cancel_on_amazon(sandbox, store, order_id):
    sandbox.amazon_cancel(order_id)
    settle()
    return sync(store)


def test_a_zero_total_invoiced_order_canceled_on_amazon_is_closed(sandbox, amazon_store):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped", replacement=True,
                                       items=[{"sku": "SANDBOX-SKU-004", "qty": 1}])
    settle()
    sync(amazon_store)
    commerce = amazon(order_id).commerce_order
    assert commerce.grand_total == 0 and commerce.total_invoiced == 0 and commerce.invoices.count() == 1
    assert Product.objects.get(sku="SANDBOX-SKU-004").qty_reserved == 1

    run = cancel_on_amazon(sandbox, amazon_store, order_id)
    row = amazon(order_id)
    assert row.status == S.CANCELED and not row.is_reserved, row.notes
    row.commerce_order.refresh_from_db()
    assert row.commerce_order.state == OrderState.CLOSED  # a zero credit memo closes it
    assert row.commerce_order.creditmemos.get().grand_total == 0
    assert Product.objects.get(sku="SANDBOX-SKU-004").qty_reserved == 0
    assert run.orders_failed == 0


def test_a_partly_invoiced_order_is_refunded_and_the_rest_canceled(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, invoice_on_import=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-001", "qty": 1}, {"sku": "SANDBOX-SKU-002",
                                                                                     "qty": 2}])
    settle()
    sync(store)
    commerce = amazon(order_id).commerce_order
    first = commerce.items.get(sku="SANDBOX-SKU-001")
    invoice_create(order=commerce, quantities={first.pk: 1}, actor=None)

    cancel_on_amazon(sandbox, store, order_id)
    commerce.refresh_from_db()
    assert amazon(order_id).status == S.CANCELED
    assert commerce.state in (OrderState.CLOSED, OrderState.CANCELED)
    assert commerce.total_refunded == commerce.total_invoiced > 0
    assert all(item.qty_to_ship == 0 for item in commerce.items.all())
    assert not StockReservation.objects.exists()


def test_a_cancel_commerce_refuses_is_visible_and_applied_later(sandbox, amazon_store):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-003", "qty": 1}])
    settle()
    sync(amazon_store)
    commerce = amazon(order_id).commerce_order
    order_hold(order=commerce, actor=None)

    cancel_on_amazon(sandbox, amazon_store, order_id)
    row = amazon(order_id)
    assert row.status == S.ERROR and row.refetch_needed
    assert "could not be canceled" in row.notes and "on hold" in row.notes
    assert Product.objects.get(sku="SANDBOX-SKU-003").qty_reserved == 1

    order_unhold(order=commerce, actor=None)
    sync(amazon_store)  # the order is asked for again, and the cancellation now applies
    row = amazon(order_id)
    assert row.status == S.CANCELED and not row.refetch_needed
    row.commerce_order.refresh_from_db()
    assert row.commerce_order.state == OrderState.CLOSED
    assert Product.objects.get(sku="SANDBOX-SKU-003").qty_reserved == 0


def test_staff_cancel_of_a_zero_total_invoiced_order_closes_it(sandbox, amazon_store, staff_user):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped", replacement=True,
                                       items=[{"sku": "SANDBOX-SKU-005", "qty": 1}])
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.commerce_order.grand_total == 0 and row.commerce_order.invoices.exists()
    services.amazon_order_cancel(amazon_order=row, reason="NoInventory", actor=staff_user)
    row = amazon(order_id)
    row.commerce_order.refresh_from_db()
    assert row.status == S.CANCELED and row.commerce_order.state == OrderState.CLOSED
    assert row.outbox_messages.get().kind == OutboxKind.CANCEL
    assert Product.objects.get(sku="SANDBOX-SKU-005").qty_reserved == 0
