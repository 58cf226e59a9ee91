"""Amazon screens: permissions, stores, Order Settings, dashboard, All Amazon orders, Amazon Order Details."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderItem,
    AmazonOrderStatus,
    AmazonStore,
    ChannelSettings,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.services import amazon_store_create
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from saleschannel.sales.models import AddressType, OrderState
from tests import factories
from tests.factories import client_for, make_role_user

S = AmazonOrderStatus
SECRET = "Atzr|very-secret-refresh-token"


def _client(role: str):
    return client_for(make_role_user(role))


@pytest.fixture
def admin(db):
    return _client(ADMINISTRATOR)


@pytest.fixture
def operator(db):
    return _client(OPERATOR)


@pytest.fixture
def viewer(db):
    return _client(VIEWER)


@pytest.fixture
def amazon_store(store):
    return amazon_store_create(name="Seller US", seller_id="A1SELLER", marketplace_ids=["ATVPDKIKX0DER"],
                               store=store, client_id="amzn1.application-oa2-client.x", client_secret="s3cr3t",
                               refresh_token=SECRET, endpoint_override="http://127.0.0.1:9/",
                               token_url_override="http://127.0.0.1:9/auth/o2/token")


_numbers = iter(range(1000000, 9999999))


def make_amazon_order(amazon_store, *, status=S.UNSHIPPED, commerce=True, buyer="John Smith",
                      total="25.00", days_ago=0, cancel_requested=False, invoiced=True) -> AmazonOrder:
    number = f"111-{next(_numbers)}-{next(_numbers)}"
    product = factories.make_product(price="10.00", qty=50)
    order = AmazonOrder.objects.create(
        store=amazon_store, amazon_order_id=number, marketplace_id="ATVPDKIKX0DER", status=status,
        amazon_status=S.UNSHIPPED if status == S.CANCELED else status, buyer_name=buyer,
        buyer_email="buyer@marketplace.amazon.com", currency="USD",
        order_total=Decimal(total) if total is not None else None,
        purchase_date=timezone.now() - timedelta(days=days_ago), ship_address_line1="123 Main Street",
        ship_city="Seattle", ship_region="WA", ship_postal_code="98101", ship_country_code="US",
        buyer_cancel_requested=cancel_requested, notes="Imported.",
    )
    item = AmazonOrderItem.objects.create(order=order, order_item_id=f"9{next(_numbers)}", seller_sku=product.sku,
                                          title="Thing", qty_ordered=2, item_price=Decimal("20.00"))
    if commerce:
        address = {"first_name": "John", "last_name": "Smith", "street1": "123 Main Street", "city": "Seattle",
                   "region": "WA", "postcode": "98101", "country_code": "US"}
        placed = factories.make_order(
            store=amazon_store.store, items=[factories.line(product, 2, external_item_id=item.order_item_id)],
            origin="amazon", external_order_number=number, billing_address=address, shipping_address=address,
        )
        if invoiced:
            from saleschannel.sales.services import invoice_create

            invoice_create(order=placed, actor="tests")
        order.commerce_order = placed
        order.save()
    return order


# --- Permissions ---------------------------------------------------------------------------------------------


def test_every_role_reads_only_operators_act_only_administrators_configure(admin, operator, viewer, amazon_store):
    order = make_amazon_order(amazon_store)
    pages = ["/amazon/", f"/amazon/stores/{amazon_store.pk}/", "/amazon/orders/", f"/amazon/orders/{order.pk}/",
             f"/amazon/orders/{order.pk}/?tab=items", f"/amazon/orders/{order.pk}/?tab=tracking",
             f"/amazon/orders/{order.pk}/?tab=log"]
    for client in (admin, operator, viewer):
        for page in pages:
            assert client.get(page).status_code == 200, page
    for page in (f"/amazon/stores/{amazon_store.pk}/edit/", f"/amazon/stores/{amazon_store.pk}/settings/",
                 "/amazon/stores/new/"):
        assert viewer.get(page).status_code == 403
        assert operator.get(page).status_code == 403
        assert admin.get(page).status_code == 200
    assert viewer.post(f"/amazon/orders/{order.pk}/cancel/", {"reason": "NoInventory"}).status_code == 403
    assert viewer.post(f"/amazon/stores/{amazon_store.pk}/sync/").status_code == 403
    assert viewer.post(f"/amazon/orders/{order.pk}/address/", {"ship_address_line1": "x"}).status_code == 403
    order.refresh_from_db()
    assert order.status == S.UNSHIPPED
    detail = viewer.get(f"/amazon/orders/{order.pk}/").content.decode()
    assert 'id="cancel-order"' not in detail and 'id="save-order"' not in detail
    detail = operator.get(f"/amazon/orders/{order.pk}/").content.decode()
    assert 'id="cancel-order"' in detail and 'id="save-order"' in detail
    assert Client().get("/amazon/").status_code == 302  # login first


def test_navigation_shows_the_amazon_section(viewer, amazon_store):
    page = viewer.get("/amazon/").content.decode()
    assert 'href="/amazon/orders/"' in page and "Amazon Stores" in page


# --- Stores --------------------------------------------------------------------------------------------------


def test_store_create_and_edit_never_shows_credentials_back(admin, fr_store):
    data = {"name": "EU seller", "seller_id": "A2EU", "region": "EU",
            "marketplace_ids": "A1PA6795UKMFR9, A13V1IB3VIYZZH",
            "store": fr_store.pk, "client_id": "client-1", "client_secret": "secret-1", "refresh_token": SECRET,
            "api_version": "2026-01-01", "time_scale": "1", "pacing_enabled": "on", "is_active": "on"}
    response = admin.post("/amazon/stores/new/", data)
    assert response.status_code == 302
    created = AmazonStore.objects.get(name="EU seller")
    assert created.marketplace_ids == ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"]
    assert created.credentials().refresh_token == SECRET
    assert SECRET not in created.refresh_token_encrypted

    page = admin.get(f"/amazon/stores/{created.pk}/edit/").content.decode()
    assert SECRET not in page and "secret-1" not in page and "•••• set" in page
    response = admin.post(f"/amazon/stores/{created.pk}/edit/", {**data, "name": "EU seller 2", "client_secret": "",
                                                                 "refresh_token": ""})
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.name == "EU seller 2" and created.credentials().client_secret == "secret-1"


def test_new_store_needs_every_credential(admin, store):
    response = admin.post("/amazon/stores/new/", {"name": "X", "seller_id": "A", "region": "NA",
                                                  "marketplace_ids": "ATVPDKIKX0DER", "store": store.pk,
                                                  "api_version": "2026-01-01", "time_scale": "1"})
    assert response.status_code == 400
    assert not AmazonStore.objects.exists()


def test_test_connection_reports_in_plain_words(admin, amazon_store):
    data = {"name": amazon_store.name, "seller_id": "A1SELLER", "region": "NA", "marketplace_ids": "ATVPDKIKX0DER",
            "store": amazon_store.store_id, "endpoint_override": "http://127.0.0.1:9/",
            "token_url_override": "http://127.0.0.1:9/auth/o2/token", "api_version": "2026-01-01",
            "time_scale": "1", "test": "1"}
    page = admin.post(f"/amazon/stores/{amazon_store.pk}/edit/", data).content.decode()
    assert 'id="connection-result"' in page and "Connection failed:" in page
    assert SECRET not in page
    amazon_store.refresh_from_db()
    assert amazon_store.name == "Seller US"  # testing saves nothing


def test_test_connection_against_the_sandbox(admin, sandbox, commerce_store):
    creds = sandbox.credentials
    data = {"name": "Sandbox", "seller_id": creds["seller_id"], "region": "NA", "marketplace_ids": "ATVPDKIKX0DER",
            "store": commerce_store.pk, "client_id": creds["client_id"], "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"], "endpoint_override": sandbox.url,
            "token_url_override": sandbox.token_url, "api_version": "2026-01-01", "time_scale": "600",
            "pacing_enabled": "on", "test": "1"}
    page = admin.post("/amazon/stores/new/", data).content.decode()
    assert "Connection succeeded:" in page, page[page.find("connection-result"):][:400]
    assert not AmazonStore.objects.exists()


def test_order_settings_grey_out_and_warn(admin, amazon_store):
    page = admin.get(f"/amazon/stores/{amazon_store.pk}/settings/").content.decode()
    for label in ("Import Amazon Orders", "Import into Commerce store", "Customer creation", "Order number source",
                  "Pending orders", "Order status", "Invoice on import", "FBA orders", "Sync frequency"):
        assert label in page
    assert 'disabled="disabled"' not in page

    response = admin.post(f"/amazon/stores/{amazon_store.pk}/settings/", {
        "import_enabled": "0", "customer_creation": "account", "sync_frequency_minutes": "30"})
    assert response.status_code == 302
    amazon_store.refresh_from_db()
    assert not amazon_store.import_enabled
    assert amazon_store.customer_creation == "guest" and amazon_store.sync_frequency_minutes == 5  # greyed out
    page = admin.get(f"/amazon/stores/{amazon_store.pk}/settings/").content.decode()
    assert page.count('disabled="disabled"') == 10  # with the ship-by alert threshold

    base = {"import_enabled": "1", "customer_creation": "account", "order_number_source": "amazon",
            "reserve_pending": "0", "order_status_mode": "default", "invoice_on_import": "0", "import_fba": "0",
            "sync_frequency_minutes": "2"}
    response = admin.post(f"/amazon/stores/{amazon_store.pk}/settings/", base, follow=True)
    assert "once every 3 minutes" in response.content.decode()
    amazon_store.refresh_from_db()
    assert (amazon_store.import_enabled, amazon_store.customer_creation, amazon_store.reserve_pending,
            amazon_store.sync_frequency_minutes) == (True, "account", False, 2)

    response = admin.post(f"/amazon/stores/{amazon_store.pk}/settings/", {**base, "order_status_mode": "custom"})
    assert response.status_code == 400
    response = admin.post(f"/amazon/stores/{amazon_store.pk}/settings/", {**base, "sync_frequency_minutes": "61"})
    assert response.status_code == 400


def test_sync_now_queues_a_sync(operator, amazon_store, monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    from saleschannel.amazon import tasks

    monkeypatch.setattr(tasks, "amazon_sync_store", lambda store_id: calls.append(store_id))
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(f"/amazon/stores/{amazon_store.pk}/sync/", follow=True)
    assert "A sync of Seller US was queued" in response.content.decode()
    assert calls == [amazon_store.pk]


# --- Dashboard -----------------------------------------------------------------------------------------------


def test_store_dashboard_recent_orders_health_and_revenue(viewer, amazon_store):
    shown = make_amazon_order(amazon_store, total="10.00")
    make_amazon_order(amazon_store, status=S.CANCELED, total="1000.00", commerce=False)
    make_amazon_order(amazon_store, status=S.ERROR, total="2000.00", commerce=False)
    make_amazon_order(amazon_store, status=S.SHIPPED, total="5.50", commerce=False)
    OutboxMessage.objects.create(amazon_order=shown, kind=OutboxKind.SHIPMENT, idempotency_key="k1",
                                 package_reference_id=1)
    page = viewer.get(f"/amazon/stores/{amazon_store.pk}/").content.decode()
    assert 'data-testid="revenue">$15.50<' in page
    assert 'data-testid="queued-outbound">1<' in page
    assert shown.amazon_order_id in page and f"/amazon/orders/{shown.pk}/" in page
    assert f"/sales/orders/{shown.commerce_order_id}/" in page
    assert "Order Notes" in page and "Buyer's Name" in page


def test_recent_orders_are_the_last_sixty(viewer, amazon_store):
    orders = [make_amazon_order(amazon_store, commerce=False, days_ago=i) for i in range(62)]
    page = viewer.get(f"/amazon/stores/{amazon_store.pk}/").content.decode()
    assert page.count("<tr data-order=") == 60
    assert orders[0].amazon_order_id in page and orders[61].amazon_order_id not in page


# --- All Amazon orders ---------------------------------------------------------------------------------------


def test_filters_chips_clear_all_sort_and_pages(viewer, amazon_store):
    alice = make_amazon_order(amazon_store, buyer="Alice Martin", total="12.00", days_ago=3, commerce=False)
    bob = make_amazon_order(amazon_store, buyer="Bob Stone", total="99.00", days_ago=1, status=S.SHIPPED,
                            commerce=False)
    make_amazon_order(amazon_store, buyer="Carol", total="50.00", days_ago=20, status=S.PENDING, commerce=False)
    today = timezone.localdate()
    response = viewer.get("/amazon/orders/", {
        "purchased_from": (today - timedelta(days=5)).isoformat(), "purchased_to": today.isoformat(),
        "total_min": "10", "total_max": "100", "status": ["Unshipped", "Shipped"]})
    page = response.content.decode()
    assert alice.amazon_order_id in page and bob.amazon_order_id in page and "Carol" not in page
    assert page.count('class="chip"') == 5
    assert "Status: Unshipped, Shipped" in page
    assert 'id="clear-filters"' in page and "Clear all filters" in page
    ordered = response.context["page"].object_list
    assert [o.pk for o in ordered] == [bob.pk, alice.pk]  # newest first

    chip_urls = [chip.remove_url for chip in response.context["grid"].chips()]
    without_status = next(url for url in chip_urls if "status" not in url)
    assert "total_min=10" in without_status

    page = viewer.get("/amazon/orders/", {"buyer": "alice"}).content.decode()
    assert alice.amazon_order_id in page and bob.amazon_order_id not in page
    page = viewer.get("/amazon/orders/", {"number": bob.amazon_order_id[-7:]}).content.decode()
    assert bob.amazon_order_id in page and alice.amazon_order_id not in page

    response = viewer.get("/amazon/orders/", {"sort": "total"})
    assert [o.buyer_name for o in response.context["page"].object_list] == ["Alice Martin", "Carol", "Bob Stone"]
    response = viewer.get("/amazon/orders/", {"sort": "-buyer"})
    assert [o.buyer_name for o in response.context["page"].object_list][0] == "Carol"

    assert viewer.get("/amazon/orders/", {"total_min": "abc"}).status_code == 400


# pinned: /amazon/orders/ with 5 or 50 rows (SQLite and PostgreSQL alike); the ship-by notice costs one
AMAZON_ORDER_LIST_QUERIES = 12


def test_pagination_and_constant_queries(viewer, amazon_store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(5):
        make_amazon_order(amazon_store, commerce=True, days_ago=i)
    viewer.get("/amazon/orders/")  # warm up (session, settings row)
    with CaptureQueriesContext(connection) as few:
        viewer.get("/amazon/orders/")
    for i in range(50):
        make_amazon_order(amazon_store, commerce=i % 5 == 0, days_ago=10 + i)
    with CaptureQueriesContext(connection) as many:
        response = viewer.get("/amazon/orders/")
    assert len(many.captured_queries) == len(few.captured_queries)  # independent of the rows shown
    assert len(few.captured_queries) == AMAZON_ORDER_LIST_QUERIES, (
        f"Amazon order list: {len(few.captured_queries)} queries, pinned {AMAZON_ORDER_LIST_QUERIES}")
    assert len(response.context["page"].object_list) == 50
    second = viewer.get("/amazon/orders/", {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "Page 1 of 2" in response.content.decode()


def test_buyer_cancel_filter_badge_and_dashboard_alert(viewer, amazon_store):
    flagged = make_amazon_order(amazon_store, cancel_requested=True)
    other = make_amazon_order(amazon_store)
    page = viewer.get("/amazon/orders/", {"buyer_cancel": "on"}).content.decode()
    assert flagged.amazon_order_id in page and other.amazon_order_id not in page
    assert 'data-testid="buyer-cancel-badge"' in page
    dashboard = viewer.get("/").content.decode()
    assert "1 Amazon order has a buyer cancellation request" in dashboard and flagged.amazon_order_id in dashboard
    assert "buyer cancellation request" not in viewer.get("/amazon/").content.decode()


# --- Amazon Order Details ------------------------------------------------------------------------------------


def test_details_tabs_show_amazons_view(viewer, amazon_store):
    order = make_amazon_order(amazon_store)
    AmazonOrderEvent.objects.create(order=order, kind="mirrored", message="Order received from Amazon.",
                                    response="raw answer")
    page = viewer.get(f"/amazon/orders/{order.pk}/").content.decode()
    for text in ("Order details and shipping", "Order items", "Tracking", "Sync log", "Inventory reserved",
                 "Latest ship date", "Fulfillment channel", "123 Main Street"):
        assert text in page
    assert f"/sales/orders/{order.commerce_order_id}/" in page
    items = viewer.get(f"/amazon/orders/{order.pk}/?tab=items").content.decode()
    assert order.items.get().seller_sku in items and "$20.00" in items
    log = viewer.get(f"/amazon/orders/{order.pk}/?tab=log").content.decode()
    assert "Order received from Amazon." in log and "raw answer" in log


def test_cancel_with_a_reason(operator, amazon_store):
    order = make_amazon_order(amazon_store)
    page = operator.get(f"/amazon/orders/{order.pk}/").content.decode()
    dialog = page[page.index('id="cancel-form"'):page.index("</dialog>")]
    assert dialog.count('<option value="') == 11  # "Select a reason" + Amazon's 10 reasons
    assert "Shipping address undeliverable" in page

    response = operator.post(f"/amazon/orders/{order.pk}/cancel/", {"reason": ""})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == S.UNSHIPPED and not OutboxMessage.objects.exists()

    response = operator.post(f"/amazon/orders/{order.pk}/cancel/", {"reason": "ShippingAddressUndeliverable"},
                             follow=True)
    assert "You canceled the order" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.CANCELED
    message = OutboxMessage.objects.get(amazon_order=order)
    assert (message.kind, message.state, message.payload["reason"]) == (
        OutboxKind.CANCEL, OutboxState.QUEUED, "ShippingAddressUndeliverable")
    commerce = order.commerce_order
    commerce.refresh_from_db()
    assert commerce.state == OrderState.CLOSED  # it was invoiced: refunded in full
    page = response.content.decode()
    assert 'id="cancel-order" disabled title="The order is already canceled."' in page  # refused: disabled, with why


def test_cancel_not_offered_nor_accepted_when_shipped(operator, amazon_store):
    order = make_amazon_order(amazon_store, status=S.SHIPPED)
    page = operator.get(f"/amazon/orders/{order.pk}/").content.decode()
    assert 'id="cancel-order" disabled' in page and "Only an Unshipped Amazon order can be canceled" in page
    response = operator.post(f"/amazon/orders/{order.pk}/cancel/", {"reason": "NoInventory"}, follow=True)
    assert "Only an Unshipped Amazon order can be canceled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.SHIPPED and not OutboxMessage.objects.exists()


def test_address_correction_updates_both_sides(operator, amazon_store):
    order = make_amazon_order(amazon_store)
    data = {"ship_address_line1": "125 Main Street", "ship_address_line2": "Suite 9", "ship_address_line3": "",
            "ship_city": "Seattle", "ship_region": "WA", "ship_postal_code": "98104", "ship_country_code": "us"}
    response = operator.post(f"/amazon/orders/{order.pk}/address/", data, follow=True)
    assert "You saved the order" in response.content.decode()
    order.refresh_from_db()
    assert (order.ship_address_line1, order.ship_postal_code, order.ship_country_code) == (
        "125 Main Street", "98104", "US")
    assert order.address_edited_at is not None
    shipping = order.commerce_order.addresses.get(address_type=AddressType.SHIPPING)
    assert (shipping.street1, shipping.street2, shipping.postcode) == ("125 Main Street", "Suite 9", "98104")
    event = order.events.get(kind="address")
    assert "125 Main" not in event.message  # personal data stays out of the log
    assert order.commerce_order.history.filter(comment__contains="Shipping address corrected").exists()

    response = operator.post(f"/amazon/orders/{order.pk}/address/", {**data, "ship_country_code": "USA"})
    assert response.status_code == 400
    response = operator.post(f"/amazon/orders/{order.pk}/address/", {**data, "ship_address_line1": ""})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.ship_country_code == "US"


def test_outbox_state_visible_and_retry_by_hand(operator, viewer, amazon_store):
    order = make_amazon_order(amazon_store)
    dead = OutboxMessage.objects.create(amazon_order=order, kind=OutboxKind.SHIPMENT, idempotency_key="dead-1",
                                        package_reference_id=1, state=OutboxState.DEAD, attempts=8,
                                        last_error="Amazon refused the request: bad carrier")
    page = viewer.get(f"/amazon/orders/{order.pk}/?tab=log").content.decode()
    assert "Dead letter" in page and "bad carrier" in page and "data-retry" not in page
    ChannelSettings.objects.update_or_create(pk=1, defaults={"read_only": True})  # keep the retry queued
    response = operator.post(f"/amazon/outbox/{dead.pk}/retry/")
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.state == OutboxState.QUEUED and dead.attempts == 0
    response = operator.post(f"/amazon/outbox/{dead.pk}/retry/", follow=True)
    assert "Only a failed message can be retried" in response.content.decode()


def test_read_only_toggle_is_for_administrators(admin, operator):
    assert operator.post("/amazon/read-only/", {"read_only": "1"}).status_code == 403
    assert admin.post("/amazon/read-only/", {"read_only": "1"}).status_code == 302
    assert ChannelSettings.load().read_only
    assert "Read-only mode is on." in admin.get("/amazon/").content.decode()
    assert "Amazon read-only mode is on: 0 changes wait" in admin.get("/").content.decode()
    admin.post("/amazon/read-only/", {"read_only": "0"})
    assert not ChannelSettings.load().read_only


# --- Commerce order view and grid ----------------------------------------------------------------------------


def test_commerce_order_view_links_to_amazon(viewer, amazon_store):
    order = make_amazon_order(amazon_store)
    page = viewer.get(f"/sales/orders/{order.commerce_order_id}/").content.decode()
    assert f"Amazon Order Number: {order.amazon_order_id}" in page
    assert "View or Cancel Amazon Order" in page and "View all Amazon Orders" in page
    assert f'href="/amazon/orders/{order.pk}/"' in page
    assert "Changes sent to Amazon" not in page
    OutboxMessage.objects.create(amazon_order=order, kind=OutboxKind.SHIPMENT, idempotency_key="s1",
                                 package_reference_id=1, state=OutboxState.DEAD)
    OutboxMessage.objects.create(amazon_order=order, kind=OutboxKind.REFUND, idempotency_key="r1")
    page = viewer.get(f"/sales/orders/{order.commerce_order_id}/").content.decode()
    assert "Changes sent to Amazon: 1 queued, 1 dead letter" in page
    order.status = S.SHIPPED
    order.save()
    page = viewer.get(f"/sales/orders/{order.commerce_order_id}/").content.decode()
    assert "View Amazon Order" in page and "View or Cancel Amazon Order" not in page


def test_order_grid_has_the_amazon_order_number_and_buyer_cancel_badge(viewer, amazon_store):
    order = make_amazon_order(amazon_store, cancel_requested=True)
    response = viewer.get("/sales/orders/")
    page = response.content.decode()
    cells = {order_.pk: dict(zip([c["key"] for c in response.context["grid"].header()], cells, strict=True))
             for order_, cells in response.context["rows"]}
    channel = cells[order.commerce_order_id]["channel"][0]  # one column: the channel and the Amazon order number
    assert "Amazon" in channel and f"/amazon/orders/{order.pk}/" in channel and order.amazon_order_id in channel
    assert 'data-testid="buyer-cancel-badge"' in channel and 'data-testid="buyer-cancel-badge"' in page
    # A saved view that names the former "Amazon Order Number" column shows the Channel column.
    assert [c["key"] for c in viewer.get("/sales/orders/?cols=number,amazon_order_number&sort=amazon_order_number")
            .context["grid"].header()] == ["number", "channel"]


def test_credit_memo_on_unshipped_amazon_order_points_to_cancel(operator, amazon_store):
    order = make_amazon_order(amazon_store)
    from saleschannel.sales import rules

    verdict = rules.check(order.commerce_order, rules.Action.CREDITMEMO)
    assert not verdict and "Amazon Order Details" in verdict.reason


@pytest.fixture
def _restore_language():
    from django.utils import translation

    yield
    translation.activate("en")  # the client's requests activated French in this thread


def test_amazon_screens_speak_french(viewer, amazon_store, _restore_language):
    order = make_amazon_order(amazon_store)
    viewer.cookies.load({"django_language": "fr"})
    page = viewer.get(f"/amazon/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Détails de la commande Amazon" in page and "Non expédiée" in page
    page = viewer.get(f"/sales/orders/{order.commerce_order_id}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Afficher ou annuler la commande Amazon" in page and "Afficher toutes les commandes Amazon" in page


# --- Sync health and the currency of marketplaces ----------------------------------------------------------------


def test_a_marketplace_in_another_currency_is_refused_by_the_form(admin, store, fr_store, amazon_store):
    data = {"name": "France", "seller_id": "A2EU", "region": "EU", "marketplace_ids": "A13V1IB3VIYZZH",
            "store": store.pk, "client_id": "client-1", "client_secret": "secret-1", "refresh_token": SECRET,
            "api_version": "2026-01-01", "time_scale": "1", "pacing_enabled": "on", "is_active": "on"}
    response = admin.post("/amazon/stores/new/", data)
    assert response.status_code == 400
    assert ("Marketplace A13V1IB3VIYZZH (France) sells in EUR; Commerce store &#x27;us&#x27; is in USD. Choose a "
            "EUR store or another marketplace.") in response.content.decode()
    assert not AmazonStore.objects.filter(name="France").exists()

    assert admin.post("/amazon/stores/new/", {**data, "store": fr_store.pk}).status_code == 302
    assert AmazonStore.objects.get(name="France").store == fr_store

    edit = {"name": amazon_store.name, "seller_id": "A1SELLER", "region": "NA",
            "marketplace_ids": "ATVPDKIKX0DER A1F83G8C2ARO7P", "store": store.pk, "api_version": "2026-01-01",
            "time_scale": "1", "endpoint_override": amazon_store.endpoint_override,  # unchanged: no secrets needed
            "token_url_override": amazon_store.token_url_override}
    page = admin.post(f"/amazon/stores/{amazon_store.pk}/edit/", edit).content.decode()
    assert "Marketplace A1F83G8C2ARO7P (United Kingdom) sells in GBP" in page
    amazon_store.refresh_from_db()
    assert amazon_store.marketplace_ids == ["ATVPDKIKX0DER"]
    assert admin.post(f"/amazon/stores/{amazon_store.pk}/edit/",
                      {**edit, "marketplace_ids": "ATVPDKIKX0DER"}).status_code == 302


def test_importing_into_a_store_in_another_currency_is_refused_in_order_settings(admin, amazon_store, fr_store):
    response = admin.post(f"/amazon/stores/{amazon_store.pk}/settings/", {
        "import_enabled": "1", "import_store": fr_store.pk, "customer_creation": "guest",
        "order_number_source": "commerce", "reserve_pending": "1", "order_status_mode": "default",
        "invoice_on_import": "1", "import_fba": "1", "sync_frequency_minutes": "5"})
    assert response.status_code == 400
    assert "Marketplace ATVPDKIKX0DER (United States) sells in USD; Commerce store &#x27;fr&#x27; is in EUR" \
        in response.content.decode()
    amazon_store.refresh_from_db()
    assert amazon_store.import_store_id is None


@pytest.fixture
def sandbox_store(sandbox, commerce_store, catalog):
    from tests.amazon.conftest import connect_store

    return connect_store(sandbox, commerce_store)


def _notices(page: str) -> str:
    start = page.find('id="notices"')
    return page[start:page.find("</ul>", start)] if start >= 0 else ""


def test_sync_health_on_the_tile_the_list_and_the_banners(admin, viewer, sandbox, sandbox_store,
                                                          django_capture_on_commit_callbacks, _restore_language):
    from django.utils import translation
    from django.utils.html import escape

    from saleschannel.amazon.health import failing_text
    from saleschannel.amazon.services import amazon_store_update
    from saleschannel.amazon.sync import sync_store
    from tests.amazon.conftest import settle

    def sync():
        with django_capture_on_commit_callbacks(execute=True):
            return sync_store(store=AmazonStore.objects.get(pk=sandbox_store.pk))

    dashboard = f"/amazon/stores/{sandbox_store.pk}/"
    assert sync().state == "succeeded"
    page = viewer.get(dashboard).content.decode()
    assert 'data-testid="sync-status">OK<' in page and "Sync failing since" not in page
    assert 'data-testid="sync-health">OK<' in viewer.get("/amazon/").content.decode()

    amazon_store_update(amazon_store=sandbox_store, refresh_token="Atzr|revoked")
    run = sync()
    assert run.state == "failed"
    text = escape(failing_text(AmazonStore.objects.get(pk=sandbox_store.pk)))
    assert text.startswith("Sync failing since ") and escape(run.error) in text
    page = viewer.get(dashboard).content.decode()
    assert 'data-testid="sync-status">Failing<' in page
    assert f'data-testid="sync-failing">{text}<' in page and "1 failed pass in a row" in page
    assert "the next pass retries" in page
    assert text in viewer.get("/amazon/").content.decode().split('data-testid="sync-health">')[1]
    # Before the alert: a warning banner on the Amazon pages only.
    banner = _notices(page)
    assert f"Amazon store Sandbox US: {text}" in banner and "The next pass retries automatically." in banner
    assert 'class="warning"' in banner
    assert "Sync failing since" not in _notices(viewer.get("/").content.decode())

    sync()
    assert "Sync failing since" not in _notices(viewer.get("/").content.decode())  # two failures: no alert yet
    sync()
    home = _notices(admin.get("/").content.decode())
    assert "Amazon store Sandbox US: Sync failing since" in home and "3 sync passes in a row failed" in home
    assert "this alert clears at the next successful sync" in home and f'href="{dashboard}"' in home
    assert 'class="error"' in home
    page = viewer.get(dashboard).content.decode()
    assert "3 failed passes in a row" in page and 'data-testid="sync-alerted"' in page
    french = client_for(make_role_user(ADMINISTRATOR, username="administrateur"))
    french.cookies.load({"django_language": "fr"})
    page = french.get(dashboard, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "État de la synchronisation" in page and "Synchronisation en échec depuis" in page
    assert "3 synchronisations en échec d'affilée" in page
    assert "3 synchronisations successives ont échoué" in _notices(french.get("/").content.decode())
    translation.activate("en")  # the French requests activated French in this thread

    amazon_store_update(amazon_store=sandbox_store, refresh_token=sandbox.credentials["refresh_token"])
    settle()
    assert sync().state == "succeeded"
    for path in ("/", "/amazon/", dashboard):
        assert "Sync failing since" not in admin.get(path).content.decode(), path
    assert 'data-testid="sync-status">OK<' in viewer.get(dashboard).content.decode()
