"""Catalog onboarding in a real browser: an order stops in Error for a SKU the catalog lacks; the operator reads
the store's listings, applies the preview, and the product is created and the order imported at once. And from an
empty database, the back office alone connects the sandbox seller, imports its listings, then its orders (issue 13,
"Done when")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, AmazonStore
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR
from saleschannel.sandbox.catalog import DEFAULT_SKUS
from tests.amazon.conftest import TIME_SCALE, US, settle
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_import_listings_creates_products_and_the_error_order_is_imported(live_server, page, sandbox,
                                                                           amazon_store):
    sandbox.set_listings("US", [{"sku": "ONBOARD-TEAPOT", "title": "Théière en fonte", "price": "34.90",
                                 "quantity": 12},
                                {"sku": "ONBOARD-SKIP", "title": "Not for this shop", "price": "3"}])
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "ONBOARD-TEAPOT", "qty": 2}])
    settle()
    sync_store(store=amazon_store)
    assert AmazonOrder.objects.get(amazon_order_id=order_id).status == AmazonOrderStatus.ERROR
    make_browser_user("olivia", OPERATOR)

    path = f"/amazon/stores/{amazon_store.pk}/listings/"
    sign_in(page, live_server, path, "olivia")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    page.click('#read-listings button[type=submit]')
    expect(page.locator("#listings-preview")).to_be_visible()
    expect(page.locator("#count-create")).to_have_text("2")
    teapot = page.locator('tr[data-sku="ONBOARD-TEAPOT"]')
    expect(teapot.locator("select")).to_have_value("create")
    page.locator('tr[data-sku="ONBOARD-SKIP"] select').select_option("ignore")
    page.once("dialog", lambda dialog: dialog.accept())  # "Create the products ... chosen below?"
    page.click("#apply")
    expect(page).to_have_url(re.compile(rf"/amazon/stores/{amazon_store.pk}/\?step=orders$"))
    expect(page.locator(".messages")).to_contain_text("1 products created")

    product = Product.objects.get(sku="ONBOARD-TEAPOT")
    assert (product.name, str(product.price), product.qty) == ("Théière en fonte", "34.90", 12)
    assert not Product.objects.filter(sku="ONBOARD-SKIP").exists()
    order = AmazonOrder.objects.select_related("commerce_order").get(amazon_order_id=order_id)
    assert order.status == AmazonOrderStatus.UNSHIPPED and order.commerce_order is not None  # retried at once
    page.goto(f"{live_server.url}/amazon/orders/{order.pk}/")
    expect(page.locator("body")).to_contain_text(f"#{order.commerce_order.number}")


def test_from_an_empty_database_the_back_office_alone_onboards_the_sandbox_seller(live_server, page, sandbox,
                                                                                  commerce_store):
    """Connect the sandbox seller on the "Add Amazon Store" form, follow "Import your listings", create the products
    from the preview, then "Import orders now": every order gets its Commerce order, none is in Error."""
    assert not Product.objects.exists() and not AmazonStore.objects.exists()
    make_browser_user("amelie", ADMINISTRATOR)
    listed = {"ONBOARD-KETTLE": ("Bouilloire émaillée", "42.00"), "ONBOARD-CUP": ("Tasse en grès", "9.50")}
    sandbox.set_listings("US", [{"sku": sku, "title": title, "price": price, "quantity": 20}
                                for sku, (title, price) in listed.items()])

    sign_in(page, live_server, "/amazon/", "amelie")
    page.click("#add-store")
    creds = sandbox.credentials
    page.fill("#id_name", "Sandbox US")
    page.fill("#id_seller_id", creds["seller_id"])
    page.select_option("#id_region", "NA")
    page.fill("#id_marketplace_ids", US)
    page.select_option("#id_store", str(commerce_store.pk))
    page.fill("#id_client_id", creds["client_id"])
    page.fill("#id_client_secret", creds["client_secret"])
    page.fill("#id_refresh_token", creds["refresh_token"])
    page.fill("#id_endpoint_override", sandbox.url)
    page.fill("#id_token_url_override", sandbox.token_url)
    page.fill("#id_time_scale", str(TIME_SCALE))
    page.click("#save-store")
    store = AmazonStore.objects.get()
    expect(page).to_have_url(re.compile(rf"/amazon/stores/{store.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("Next: Import your listings")

    # The seller sells meanwhile: orders of the listed SKUs wait on Amazon, none imported yet.
    ids = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                items=[{"sku": "ONBOARD-KETTLE", "qty": 1}, {"sku": "ONBOARD-CUP", "qty": 2}])
    ids += sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                 items=[{"sku": "ONBOARD-CUP", "qty": 4}])
    page.click("#import-listings")
    page.click('#read-listings button[type=submit]')
    expect(page.locator("#listings-preview")).to_be_visible()
    created = len(DEFAULT_SKUS) + len(listed)  # the sandbox seller's own catalog, and these two
    expect(page.locator("#count-create")).to_have_text(str(created))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#apply")
    expect(page).to_have_url(re.compile(rf"/amazon/stores/{store.pk}/\?step=orders$"))
    expect(page.locator(".messages")).to_contain_text(f"{created} products created")
    assert {p.sku: (p.name, str(p.price)) for p in Product.objects.filter(sku__in=listed)} == listed

    settle()  # the orders are older than Amazon's 2-minute rule
    page.click("#import-orders")
    expect(page.locator(".messages")).to_contain_text("A sync of Sandbox US was queued")
    page.click("#all-orders")
    for order_id in ids:
        row = page.locator(f'#amazon-orders tr[data-order="{order_id}"]')
        expect(row).to_contain_text("Unshipped")
        expect(row).not_to_contain_text("Error")
        expect(row.get_by_test_id("commerce-link")).to_have_text(re.compile(r"^#US"))
    orders = list(AmazonOrder.objects.filter(store=store).values_list("status", "commerce_order_id", "notes"))
    assert len(orders) == len(ids)
    assert all(status == AmazonOrderStatus.UNSHIPPED and commerce for status, commerce, _n in orders), orders
