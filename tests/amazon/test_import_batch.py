"""New orders are written a page at a time: what happens when the page cannot be written together, pages that mix
new and known orders, and the page read ahead while the previous one is imported (all over HTTP, real sandbox)."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, SyncRunState
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.sync import SAFETY_LAG, sync_store
from saleschannel.catalog.models import Product, StockReservation
from saleschannel.sales.models import Order
from saleschannel.sales.services import OrderDraft, order_create
from tests.amazon.conftest import TIME_SCALE, connect_store, settle

pytestmark = pytest.mark.django_db
S = AmazonOrderStatus


def test_a_page_short_of_stock_as_a_whole_is_imported_order_by_order(amazon_store, sandbox, catalog):
    scarce = catalog["SANDBOX-SKU-001"]
    Product.objects.filter(pk=scarce.pk).update(qty=2)
    ids = [sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                 items=[{"sku": scarce.sku, "qty": 1}])[0] for _ in range(3)]
    others = sandbox.create_orders(count=4, marketplace="US", fulfillment="MFN", status="Unshipped",
                                   items=[{"sku": "SANDBOX-SKU-002", "qty": 1}])
    settle()

    run = sync_store(store=amazon_store)

    assert run.state == SyncRunState.SUCCEEDED
    assert (run.orders_created, run.orders_failed) == (6, 1)
    scarce.refresh_from_db()
    assert (scarce.qty, scarce.qty_reserved) == (2, 2)  # every unit held once, none twice
    failed = AmazonOrder.objects.get(status=S.ERROR)
    assert failed.amazon_order_id in ids and failed.commerce_order_id is None
    assert "out of stock" in failed.import_error
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(ids + others) - {
        failed.amazon_order_id}


def test_an_amazon_number_already_taken_fails_that_order_only(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, order_number_source="amazon")
    taken, *fine = sandbox.create_orders(count=4, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    # A Commerce order (from elsewhere) already carries the number the first Amazon order would take.
    order_create(draft=OrderDraft(
        store=commerce_store, items=[{"sku": "SANDBOX-SKU-003", "qty": 1, "price": "5.00"}],
        customer_email="a@example.com", customer_first_name="A", customer_last_name="B",
        billing_address={"street1": "1 Main St", "city": "Town", "country_code": "US"}, number=taken,
        send_email=False,
    ), actor="test")

    run = sync_store(store=store)

    assert (run.orders_created, run.orders_failed) == (3, 1)
    assert set(Order.objects.filter(origin="amazon").values_list("number", flat=True)) == set(fine)
    error = AmazonOrder.objects.get(amazon_order_id=taken)
    assert error.status == S.ERROR and "already exists" in error.import_error


def test_a_page_mixing_new_known_pending_and_fba_orders(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, reserve_pending=True, import_fba=True)
    [known] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync_store(store=store)
    sandbox.ship(known, tracking="1Z999", carrier="UPS")
    new = sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped")
    [pending] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Pending",
                                      items=[{"sku": "SANDBOX-SKU-004", "qty": 2}])
    [fba] = sandbox.create_orders(marketplace="US", fulfillment="AFN", status="Shipped")
    settle()

    run = sync_store(store=store)

    assert run.state == SyncRunState.SUCCEEDED
    assert AmazonOrder.objects.get(amazon_order_id=known).status == S.COMPLETED  # known: shipped on Amazon
    for order_id in new:
        assert AmazonOrder.objects.get(amazon_order_id=order_id).commerce_order.state == "processing"
    held = AmazonOrder.objects.get(amazon_order_id=pending)
    assert held.is_reserved and held.commerce_order_id is None
    assert StockReservation.objects.get(reference=held.reservation_reference).qty == 2
    assert AmazonOrder.objects.get(amazon_order_id=fba).commerce_order.state == "complete"
    assert Order.objects.filter(origin="amazon").count() == 5  # known, 3 new, FBA


def test_a_sync_pass_gives_back_the_garbage_collector_settings(amazon_store, sandbox):
    before = gc.get_threshold()
    sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    seen = []
    sync_store(store=amazon_store, after_order=lambda data: seen.append(gc.get_threshold()[0]))
    assert seen and all(threshold >= 50_000 for threshold in seen)  # rarer collections during the pass
    assert gc.get_threshold() == before


def test_a_page_read_ahead_that_fails_is_asked_again_the_ordinary_way(amazon_store, sandbox):
    sandbox.create_orders(count=150, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    gateway = Gateway.for_store(amazon_store, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    try:
        now = timezone.now()
        first = gateway.search_orders(last_updated_after=now - timedelta(days=1),
                                      last_updated_before=now - SAFETY_LAG / TIME_SCALE)
        assert len(first.orders) == 100 and first.next_token
        sandbox.set_faults({"searchOrders": {"500": 1.0}})
        ahead = gateway.next_page_ahead(first)
        sandbox.wait_until(lambda: any(r["status"] == 500 for r in sandbox.requests(operation="searchOrders")),
                           message="the background attempt meeting the fault")
        sandbox.set_faults()
        second = ahead()
    finally:
        gateway.close()
    assert len(second.orders) == 50 and second.next_token is None
    assert not {o.amazon_order_id for o in first.orders} & {o.amazon_order_id for o in second.orders}
    assert gateway.calls == 3  # first page, failed read-ahead, the page asked again
    searches = [r for r in sandbox.requests(limit=100) if "/orders/2026-01-01/orders" in r["path"]]
    assert [r["status"] for r in searches][-2:] in ([500, 200], [200, 500])
