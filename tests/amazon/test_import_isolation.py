"""One bad order never blocks a page, and is never lost (issue 11, findings 3 and 4): Amazon sends orders the
model does not allow (a quantity of "1.5", an amount of "abc", a missing amount, a duplicate item id); each is kept
in Error with a note naming the field, the rest of the page imports, the watermark moves, and the order imports once
Amazon sends a readable copy."""

from __future__ import annotations

import pytest

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, AmazonStore, ApiVersion
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.sync import refetch_orders
from saleschannel.sales.models import Order
from tests.amazon.conftest import settle, sync

S = AmazonOrderStatus
pytestmark = pytest.mark.django_db


def five_unshipped(sandbox) -> list[str]:
    ids = sandbox.create_orders(count=5, seed=31, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    return ids




@pytest.mark.parametrize(("path", "value", "field"), [
    ("orderItems.0.quantityOrdered", "1.5", "orderItems[0].quantityOrdered"),
    ("orderItems.0.quantityOrdered", None, "orderItems[0].quantityOrdered is missing"),
    ("orderItems.0.proceeds.breakdowns.0.subtotal.amount", "abc", "orderItems[0].proceeds.breakdowns[0].subtotal"),
    ("orderItems.0.proceeds.breakdowns.0.subtotal.amount", None, "subtotal.amount is missing"),
    ("proceeds.grandTotal.amount", "12,50", "proceeds.grandTotal.amount"),
    ("createdTime", "yesterday", "createdTime"),
    ("fulfillment.fulfillmentStatus", "SHIPPED_BY_DRONE", "fulfillment.fulfillmentStatus"),
])
def test_an_unreadable_order_is_kept_in_error_and_the_page_goes_on(sandbox, amazon_store, path, value, field):
    bad, *good = five_unshipped(sandbox)
    sandbox.malform(bad, path, value)
    settle()
    run = sync(amazon_store)
    assert (run.orders_seen, run.orders_created, run.orders_failed) == (5, 4, 1)
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(good)
    kept = AmazonOrder.objects.get(amazon_order_id=bad)
    assert kept.status == S.ERROR and kept.commerce_order_id is None and kept.refetch_needed
    assert field in kept.import_error and field in kept.notes
    assert kept.raw["orderId"] == bad  # the order as Amazon sent it, for whoever looks into it
    amazon_store.refresh_from_db()
    assert amazon_store.last_updated_before is not None  # the watermark moved

    sandbox.malform(bad, "")  # Amazon sends a readable copy
    settle()
    sync(amazon_store)
    kept.refresh_from_db()
    assert kept.status == S.UNSHIPPED and kept.commerce_order is not None and not kept.refetch_needed
    assert kept.commerce_order.grand_total == kept.order_total > 0


def test_garbage_amounts_never_become_zero(sandbox, amazon_store):
    bad, *_good = five_unshipped(sandbox)
    sandbox.malform(bad, "orderItems.0.proceeds.breakdowns.0.subtotal.amount", "not money")
    settle()
    sync(amazon_store)
    assert not Order.objects.filter(external_order_number=bad).exists()
    assert not Order.objects.filter(grand_total=0).exists()


def test_an_order_fetched_again_imports_when_amazon_sends_it_readable(sandbox, amazon_store):
    bad, *_good = five_unshipped(sandbox)
    sandbox.malform(bad, "orderItems.0.quantityOrdered", "two")
    settle()
    sync(amazon_store)
    with Gateway.for_store(amazon_store) as gateway:
        still = refetch_orders(store=amazon_store, gateway=gateway)  # getOrder: still unreadable
        assert (still.seen, still.failed) == (1, 1)
        assert AmazonOrder.objects.get(amazon_order_id=bad).status == S.ERROR
        sandbox.malform(bad, "")
        again = refetch_orders(store=amazon_store, gateway=gateway)
    assert (again.seen, again.created) == (1, 1)
    kept = AmazonOrder.objects.get(amazon_order_id=bad)
    assert kept.commerce_order is not None and not kept.refetch_needed


def test_an_order_that_fails_unexpectedly_is_kept_and_retried(sandbox, amazon_store):
    [bad] = sandbox.create_orders(count=1, seed=32, marketplace="US", fulfillment="MFN", status="Unshipped",
                                  lines=2)
    good = sandbox.create_orders(count=3, seed=33, marketplace="US", fulfillment="MFN", status="Unshipped")
    first_item = sandbox.order(bad)["items"][0]["orderItemId"]
    sandbox.malform(bad, "orderItems.1.orderItemId", first_item)  # two items with one id: our constraint refuses
    settle()
    run = sync(amazon_store)
    assert run.orders_failed == 1
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(good)
    kept = AmazonOrder.objects.get(amazon_order_id=bad)  # not dropped: kept, in Error, to be fetched again
    assert kept.status == S.ERROR and kept.refetch_needed
    assert "IntegrityError" in kept.import_error

    sandbox.malform(bad, "")
    settle()
    sync(amazon_store)
    kept.refresh_from_db()
    assert kept.commerce_order is not None and kept.items.count() == 2


def test_v0_unreadable_items_are_kept_in_error(sandbox, amazon_store):
    AmazonStore.objects.filter(pk=amazon_store.pk).update(api_version=ApiVersion.V0)
    amazon_store.refresh_from_db()
    bad, *good = five_unshipped(sandbox)
    sandbox.malform(bad, "0.QuantityOrdered", "1.5", version="v0items")
    settle()
    run = sync(amazon_store)
    assert (run.orders_created, run.orders_failed) == (4, 1)
    kept = AmazonOrder.objects.get(amazon_order_id=bad)
    assert kept.status == S.ERROR and "OrderItems[0].QuantityOrdered" in kept.import_error


def test_an_order_without_an_id_is_not_skipped_silently(sandbox, amazon_store):
    bad, *good = five_unshipped(sandbox)
    sandbox.malform(bad, "orderId", None)
    settle()
    run = sync(amazon_store)
    assert (run.orders_created, run.orders_failed) == (4, 1)
    assert "no order id" in run.error
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(good)
