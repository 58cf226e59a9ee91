"""Import over real HTTP against the SP-API sandbox: the creation matrix, totals, changes from Amazon (§4.3–§4.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.amazon.models import AmazonOrderStatus, SyncRunState
from saleschannel.amazon.notices import import_error_notices, stores_with_import_errors
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product, StockReservation
from saleschannel.customers.models import Customer
from saleschannel.sales.models import Order, OrderState
from tests.amazon.conftest import PENDING_DELAY, advance, amazon, connect_store, settle, sync

S = AmazonOrderStatus
pytestmark = pytest.mark.django_db






def test_every_kind_of_order_is_imported_with_amazons_totals(amazon_store, sandbox):
    ids = []
    ids += sandbox.create_orders(count=6, marketplace="US", fulfillment="MFN", status="Unshipped", seed=1)
    ids += sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped", prime=True,
                                 business=True, lines=3)
    ids += sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped", promotion=True,
                                 gift=True, lines=2)
    ids += sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped", replacement=True)
    ids += sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                 items=[{"sku": "SANDBOX-SKU-001", "qty": 3, "price": "10.01", "tax": "2.48",
                                         "shipping": "4.99", "shipping_tax": "0.41", "discount": "1.50"}])
    ids += sandbox.create_orders(count=2, marketplace="US", fulfillment="AFN", status="Shipped")
    settle()
    run = sync(amazon_store)
    assert run.orders_created == len(ids)
    for order_id in ids:
        row = amazon(order_id)
        remote = sandbox.order(order_id)
        commerce = row.commerce_order
        assert commerce is not None, (order_id, row.notes)
        assert commerce.origin == "amazon" and commerce.external_order_number == order_id
        assert commerce.grand_total == row.order_total
        expected = sum(Decimal(i["itemPrice"]) + Decimal(i["itemTax"]) + Decimal(i["shippingPrice"])
                       + Decimal(i["shippingTax"]) - Decimal(i["promotionDiscount"]) - Decimal(i["shippingDiscount"])
                       for i in remote["items"])
        assert commerce.grand_total == expected
        assert {i.sku for i in commerce.items.all()} == {i["sku"] for i in remote["items"]}
        assert commerce.payment.method_title == "Amazon Channel Payment"
        assert list(commerce.payment.additional_information.values()) == [order_id]
        assert commerce.total_invoiced == commerce.grand_total  # invoice on import
        assert not commerce.email_sent
    explicit = amazon(ids[11]).commerce_order
    item = explicit.items.get()
    assert (item.price, item.qty_ordered, item.tax_amount, item.discount_amount) == (
        Decimal("10.01"), 3, Decimal("2.48"), Decimal("1.50"))
    assert explicit.shipping_amount == Decimal("4.99") and explicit.shipping_tax_amount == Decimal("0.41")
    for fba_id in ids[-2:]:
        fba = amazon(fba_id)
        assert fba.fulfillment_channel == "AFN"
        assert fba.commerce_order.state == OrderState.COMPLETE
        assert fba.status == S.COMPLETED
    # FBA orders never touch the stock; FBM orders reserved theirs.
    assert StockReservation.objects.filter(reference__startswith="sales.order:").count() > 0
    fba_orders = [amazon(i).commerce_order.pk for i in ids[-2:]]
    assert not StockReservation.objects.filter(reference__in=[f"sales.order:{pk}" for pk in fba_orders]).exists()


def test_pending_waits_for_unshipped_and_reserves_stock(amazon_store, sandbox):
    product = Product.objects.get(sku="SANDBOX-SKU-002")
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Pending",
                                       items=[{"sku": "SANDBOX-SKU-002", "qty": 2}])
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.status == S.PENDING and row.commerce_order is None
    assert row.order_total is None  # Amazon gives no prices while Pending
    assert row.is_reserved and row.notes == "Inventory reserved"
    product.refresh_from_db()
    assert product.qty_reserved == 2
    assert StockReservation.objects.get(reference=f"amazon.order:{order_id}").qty == 2

    advance(PENDING_DELAY)  # Amazon verifies the payment: Pending → Unshipped
    sandbox.order(order_id)
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.status == S.UNSHIPPED and row.commerce_order is not None
    # The reservation moved to the Commerce order: still 2 units held, none under the Amazon name.
    product.refresh_from_db()
    assert product.qty_reserved == 2
    assert not StockReservation.objects.filter(reference=f"amazon.order:{order_id}").exists()
    assert StockReservation.objects.get(reference=f"sales.order:{row.commerce_order_id}").qty == 2


def test_pending_without_reserve_setting_holds_nothing(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, reserve_pending=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Pending")
    settle()
    sync(store)
    assert not amazon(order_id).is_reserved
    assert not StockReservation.objects.exists()


def test_pending_reservation_refused_when_stock_is_short(amazon_store, sandbox):
    Product.objects.filter(sku="SANDBOX-SKU-003").update(qty=1)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Pending",
                                       items=[{"sku": "SANDBOX-SKU-003", "qty": 2}])
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert not row.is_reserved
    assert row.notes == "Unable to reserve inventory as the quantity is not available."


def test_fba_is_imported_only_when_shipped(amazon_store, sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="AFN", status="Unshipped")
    settle()
    sync(amazon_store)
    assert amazon(order_id).commerce_order is None
    stock_before = dict(Product.objects.values_list("sku", "qty"))
    sandbox.set_status(order_id, "Shipped")
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.commerce_order.state == OrderState.COMPLETE
    assert row.commerce_order.shipments.count() == 1
    assert dict(Product.objects.values_list("sku", "qty")) == stock_before


def test_fba_not_imported_when_disabled(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, import_fba=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="AFN", status="Shipped")
    settle()
    sync(store)
    row = amazon(order_id)
    assert row.commerce_order is None and row.status == S.SHIPPED


def test_import_disabled_mirrors_only(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, import_enabled=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync(store)
    row = amazon(order_id)
    assert row.commerce_order is None and row.status == S.UNSHIPPED and row.items.count() >= 1
    assert not Order.objects.exists()
    # Switching import on imports the waiting order at the next pass, although nothing changed on Amazon.
    store.import_enabled = True
    store.save()
    sync(store)
    assert amazon(order_id).commerce_order is not None


def test_missing_sku_gives_error_note_and_banner_then_imports_once_the_product_exists(amazon_store, sandbox, rf):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "NOT-IN-CATALOG", "qty": 1}])
    [good_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    run = sync(amazon_store)
    assert run.orders_failed == 1 and run.orders_created == 1
    row = amazon(order_id)
    assert row.status == S.ERROR and row.commerce_order is None
    assert row.notes.startswith('Cannot create sales order: Product "NOT-IN-CATALOG" in order is not salable')
    assert amazon(good_id).commerce_order is not None  # one bad order does not block the others
    assert stores_with_import_errors() == [(amazon_store.pk, amazon_store.name)]
    request = rf.get("/")
    request.user = type("U", (), {"is_authenticated": True})()
    [notice] = import_error_notices(request)
    assert "cannot be imported" in notice.message and notice.links[0][0] == amazon_store.name

    sync(amazon_store)  # still missing: still in error, the note is not repeated in the log
    assert amazon(order_id).status == S.ERROR
    assert amazon(order_id).events.filter(kind="error").count() == 1

    Product.objects.create(sku="NOT-IN-CATALOG", name="Now in the catalog", price=Decimal("10"), qty=5)
    sync(amazon_store)  # nothing changed on Amazon: the order is retried from its stored copy
    row = amazon(order_id)
    assert row.status == S.UNSHIPPED and row.commerce_order is not None
    assert row.commerce_order.grand_total == row.order_total
    assert stores_with_import_errors() == []
    assert Order.objects.filter(external_order_number=order_id).count() == 1


def test_disabled_or_out_of_stock_products_are_errors(amazon_store, sandbox):
    Product.objects.filter(sku="SANDBOX-SKU-004").update(enabled=False)
    Product.objects.filter(sku="SANDBOX-SKU-005").update(qty=1)
    [disabled] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-004", "qty": 1}])
    [short] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                    items=[{"sku": "SANDBOX-SKU-005", "qty": 3}])
    settle()
    sync(amazon_store)
    assert amazon(disabled).status == S.ERROR and "disabled" in amazon(disabled).notes
    assert amazon(short).status == S.ERROR and "SANDBOX-SKU-005" in amazon(short).notes


def test_buyer_cancellation_request_is_flagged(amazon_store, sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync(amazon_store)
    sandbox.buyer_cancel(order_id, reason="Ordered by mistake")
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.buyer_cancel_requested and row.buyer_cancel_reason == "Ordered by mistake"
    assert row.items.filter(buyer_requested_cancel=True).exists()
    assert row.events.filter(kind="buyer_cancel").exists()
    assert row.commerce_order.history.filter(comment__contains="buyer requested cancellation").exists()
    assert row.commerce_order.state == OrderState.PROCESSING  # staff decide


def test_amazon_side_cancellation_refunds_the_invoiced_commerce_order(amazon_store, sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-006", "qty": 2}])
    settle()
    sync(amazon_store)
    assert Product.objects.get(sku="SANDBOX-SKU-006").qty_reserved == 2
    sandbox.amazon_cancel(order_id)
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.status == S.CANCELED and not row.is_reserved
    commerce = row.commerce_order
    assert commerce.state == OrderState.CLOSED  # invoiced on import → full credit memo
    assert commerce.creditmemos.get().grand_total == commerce.grand_total
    assert Product.objects.get(sku="SANDBOX-SKU-006").qty_reserved == 0


def test_amazon_side_cancellation_cancels_an_uninvoiced_commerce_order(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, invoice_on_import=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync(store)
    assert amazon(order_id).commerce_order.state == OrderState.PROCESSING
    sandbox.amazon_cancel(order_id)
    settle()
    sync(store)
    row = amazon(order_id)
    assert row.commerce_order.state == OrderState.CANCELED and row.status == S.CANCELED
    assert not StockReservation.objects.exists()


def test_canceled_pending_order_releases_its_reservation(amazon_store, sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Pending")
    settle()
    sync(amazon_store)
    assert amazon(order_id).is_reserved
    sandbox.amazon_cancel(order_id)
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.status == S.CANCELED and not row.is_reserved and row.commerce_order is None
    assert not StockReservation.objects.exists()


def test_shipped_in_seller_central_ships_the_commerce_order_and_completes(amazon_store, sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped", lines=2)
    settle()
    sync(amazon_store)
    sandbox.ship(order_id, tracking="1ZTRACK123", carrier="UPS")
    settle()
    sync(amazon_store)
    row = amazon(order_id)
    assert row.status == S.COMPLETED and row.amazon_status == S.SHIPPED
    commerce = row.commerce_order
    assert commerce.state == OrderState.COMPLETE
    assert all(i.qty_to_ship == 0 for i in commerce.items.all())
    track = commerce.shipments.get().tracks.get()
    assert (track.carrier_code, track.number) == ("ups", "1ZTRACK123")
    assert row.notes == "Status updated to Shipped."
    assert not StockReservation.objects.exists()  # the shipped units left the stock


def test_settings_customer_account_number_source_custom_status_no_invoice(sandbox, commerce_store, catalog):
    from saleschannel.sales.services import order_status_create

    order_status_create(code="amazon_new", label="Amazon new", state="processing", actor="test")
    store = connect_store(sandbox, commerce_store, customer_creation="account", order_number_source="amazon",
                          order_status_mode="custom", custom_processing_status="amazon_new", invoice_on_import=False)
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       buyer_email="buyer@marketplace.amazon.com", buyer_name="Zoë van der Berg")
    settle()
    sync(store)
    commerce = amazon(order_id).commerce_order
    assert commerce.number == order_id
    assert commerce.status == "amazon_new" and commerce.state == OrderState.PROCESSING
    assert commerce.total_invoiced == 0
    customer = Customer.objects.get(email="buyer@marketplace.amazon.com")
    assert commerce.customer == customer and not commerce.customer_is_guest
    assert (customer.first_name, customer.last_name) == ("Zoë", "van der Berg")


def test_currency_of_another_store_is_an_error(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store)
    store.marketplace_ids = ["A1PA6795UKMFR9"]  # Amazon.de sells in EUR; the Commerce store is in USD
    store.save()
    [order_id] = sandbox.create_orders(marketplace="DE", fulfillment="MFN", status="Unshipped")
    settle()
    sync(store)
    row = amazon(order_id)
    assert row.status == S.ERROR and "EUR" in row.import_error


def test_a_jpy_store_imports_whole_yen(sandbox, db, catalog):
    from saleschannel.catalog.models import Store

    jp = Store.objects.create(code="jp", name="JP", currency="JPY")
    # Amazon.co.jp sells in yen: a JPY Commerce store may take it (another currency is refused by the service).
    store = connect_store(sandbox, jp, name="Sandbox JP", region="FE", marketplace_ids=["A1VC38T7YXB528"])
    ids = sandbox.create_orders(count=3, marketplace="JP", fulfillment="MFN", status="Unshipped")
    settle()
    sync(store)
    for order_id in ids:
        row = amazon(order_id)
        assert row.currency == "JPY" and row.commerce_order.grand_total == row.order_total
        assert row.order_total == row.order_total.to_integral_value()


def test_overlapping_windows_import_each_order_once(amazon_store, sandbox):
    ids = sandbox.create_orders(count=20, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync(amazon_store)
    watermark = amazon_store.__class__.objects.get(pk=amazon_store.pk).last_updated_before
    assert watermark is not None
    # Three more passes over windows that overlap the first one (and a backfill over everything).
    for _ in range(2):
        settle()
        sync(amazon_store)
    from datetime import timedelta

    run = sync_store(store=amazon_store, since=watermark - timedelta(days=1), kind="backfill")
    assert run.state == SyncRunState.SUCCEEDED and run.orders_seen >= 20
    assert Order.objects.filter(origin="amazon").count() == 20
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(ids)


def test_watermark_does_not_move_when_amazon_fails(amazon_store, sandbox):
    sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync(amazon_store)
    amazon_store.refresh_from_db()
    watermark = amazon_store.last_updated_before
    sandbox.set_faults({"searchOrders": {"500": 1.0}})
    from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy

    gateway = Gateway.for_store(amazon_store, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    run = sync_store(store=amazon_store, gateway=gateway)
    assert run.state == SyncRunState.FAILED and "temporary problem" in run.error
    amazon_store.refresh_from_db()
    assert amazon_store.last_updated_before == watermark
    assert "temporary problem" in amazon_store.last_error


def test_v0_fallback_imports_the_same_way(sandbox, commerce_store, catalog):
    store = connect_store(sandbox, commerce_store, api_version="v0")
    ids = sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped", promotion=True)
    settle()
    sync(store)
    for order_id in ids:
        row = amazon(order_id)
        assert row.commerce_order.grand_total == row.order_total
        assert row.buyer_email and row.ship_address_line1  # personal data through a Restricted Data Token
    assert sandbox.requests(operation="getOrders") and not sandbox.requests(operation="searchOrders")
