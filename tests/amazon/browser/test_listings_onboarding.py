"""Catalog onboarding in a real browser: an order stops in Error for a SKU the catalog lacks; the operator reads
the store's listings, applies the preview, and the product is created and the order imported at once."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product
from saleschannel.core.roles import OPERATOR, assign_role
from tests.amazon.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-pass-2026"


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
    user = get_user_model().objects.create_user(username="olivia", password=PASSWORD)
    assign_role(user=user, role=OPERATOR)

    path = f"/amazon/stores/{amazon_store.pk}/listings/"
    page.goto(f"{live_server.url}{path}")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    page.click('#read-listings button[type=submit]')
    expect(page.locator("#listings-preview")).to_be_visible()
    expect(page.locator("#count-create")).to_have_text("2")
    teapot = page.locator('tr[data-sku="ONBOARD-TEAPOT"]')
    expect(teapot.locator("select")).to_have_value("create")
    page.locator('tr[data-sku="ONBOARD-SKIP"] select').select_option("ignore")
    page.once("dialog", lambda dialog: dialog.accept())  # "Create the products ... chosen below?"
    page.click("#apply")
    expect(page).to_have_url(re.compile(rf"/amazon/stores/{amazon_store.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("1 products created")

    product = Product.objects.get(sku="ONBOARD-TEAPOT")
    assert (product.name, str(product.price), product.qty) == ("Théière en fonte", "34.90", 12)
    assert not Product.objects.filter(sku="ONBOARD-SKIP").exists()
    order = AmazonOrder.objects.select_related("commerce_order").get(amazon_order_id=order_id)
    assert order.status == AmazonOrderStatus.UNSHIPPED and order.commerce_order is not None  # retried at once
    page.goto(f"{live_server.url}/amazon/orders/{order.pk}/")
    expect(page.locator("body")).to_contain_text(f"#{order.commerce_order.number}")
