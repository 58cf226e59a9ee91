"""The back office in a real browser: one staff member's day, from sign-in to the French interface."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from saleschannel.catalog.models import Product
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.models import Order, Shipment
from tests import factories
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def shop(transactional_db, settings, tmp_path):
    # Customer emails as files, as in production's default set-up, in a folder of this test.
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    store = factories.make_store(code="us", currency="USD", prefix="US", name="US Store")
    tshirt = factories.make_product(sku="TSHIRT-RED", name="Red T-shirt", price="20.00", qty=50)
    mug = factories.make_product(sku="MUG-BLUE", name="Blue Mug", price="8.00", qty=20)
    lamp = factories.make_product(sku="LAMP-1", name="Desk Lamp", price="45.00", qty=5)
    main = factories.make_order(
        store=store, items=[factories.line(tshirt, 2), factories.line(mug, 3)], shipping_amount="5.00",
        customer_email="alice.martin@example.com", customer_first_name="Alice", customer_last_name="Martin",
        billing_address=dict(factories.ADDRESS, first_name="Alice", last_name="Martin"),
    )
    other = factories.make_order(
        store=store, items=[factories.line(lamp, 1)], customer_email="bruno@example.com",
        customer_first_name="Bruno", customer_last_name="Durand",
        billing_address=dict(factories.ADDRESS, first_name="Bruno", last_name="Durand"),
        origin="amazon", external_order_number="114-5555555-6666666",
    )
    make_browser_user("olivia", OPERATOR)
    return {"main": main, "other": other, "tshirt": tshirt, "mail": tmp_path / "mail"}


def _set_qty(page, sku: str, qty: int):
    page.locator(f'#document-items tr[data-sku="{sku}"] input.qty').fill(str(qty))


def test_a_day_in_the_back_office(live_server, page, shop):
    main, other = shop["main"], shop["other"]
    page.on("dialog", lambda dialog: dialog.accept())

    # Sign in.
    sign_in(page, live_server, "/sales/orders/", "olivia")
    expect(page.locator("h1")).to_have_text("Orders")

    # Find the order by keyword (a SKU), then by filters.
    page.fill("input[name=q]", "MUG-BLUE")
    page.click("#search-button")
    expect(page.locator("#order-grid tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-order="{main.number}"]')).to_be_visible()
    page.click("#clear-filters")
    expect(page.locator("#order-grid tbody tr")).to_have_count(2)
    page.click("#filters summary")
    page.select_option("#id_origin", "amazon")
    page.fill("#id_total_min", "40")
    page.click("#apply-filters")
    expect(page.locator("#order-grid tbody tr")).to_have_count(1)
    expect(page.locator(f'tr[data-order="{other.number}"]')).to_be_visible()
    expect(page.locator("#active-filters .chip")).to_have_count(2)
    page.click("#saved-views summary")
    page.fill("#view-name", "Big Amazon orders")
    page.click("button[form=save-view-form]")
    expect(page.locator(".messages")).to_contain_text('View "Big Amazon orders" saved.')
    expect(page.locator("#active-filters .chip")).to_have_count(2)  # the saved view is shown
    page.locator("#active-filters .chip", has_text="Origin").locator("a").click()
    expect(page.locator("#active-filters .chip")).to_have_count(1)
    page.click("#clear-filters")

    # Export the grid as CSV and check its rows.
    with page.expect_download() as download_info:
        page.click("#export-csv")
    rows = list(csv.reader(io.StringIO(open(download_info.value.path(), encoding="utf-8").read())))
    assert rows[0][0] == "Order Number"
    assert sorted(row[0] for row in rows[1:]) == sorted([main.number, other.number])

    # Invoice part of the main order (one T-shirt), after checking the totals with "Update Qty's".
    page.click(f'tr[data-order="{main.number}"] >> text={main.number}')
    expect(page.locator("h1")).to_have_text(f"#{main.number}")
    page.click('a[data-action="invoice"]')
    _set_qty(page, "TSHIRT-RED", 9)
    page.click("#update-qtys")  # htmx: the form comes back with the error next to the field
    expect(page.locator('#document-items tr[data-sku="TSHIRT-RED"] .errorlist')).to_be_visible()
    _set_qty(page, "TSHIRT-RED", 1)
    _set_qty(page, "MUG-BLUE", 0)
    page.click("#update-qtys")
    expect(page.locator("#preview-grand-total")).to_have_text("$25.00")  # one T-shirt and the shipping
    page.click("#submit-document")
    expect(page.locator(".messages")).to_contain_text("has been created")

    # Ship everything in two packages with tracking numbers.
    page.click('a[data-action="ship"]')
    page.select_option("select[name='track-0-carrier_code']", "dhl")
    page.fill("input[name='track-0-number']", "JD014600003")
    _set_qty(page, "MUG-BLUE", 0)
    page.click("#submit-document")
    expect(page.locator(".messages")).to_contain_text("has been created")
    page.click('a[data-action="ship"]')
    page.click("#add-track")
    expect(page.locator("#tracking-rows tbody tr")).to_have_count(2)
    page.select_option("select[name='track-0-carrier_code']", "ups")
    page.fill("input[name='track-0-number']", "1Z999AA10123456784")
    page.select_option("select[name='track-1-carrier_code']", "custom")
    page.fill("input[name='track-1-number']", "CL-7")
    page.click("#submit-document")
    expect(page.locator("#tracking-rows")).to_contain_text("custom carrier")  # error next to the field
    page.fill("input[name='track-1-title']", "Coursier Lyon")
    page.click("#submit-document")
    expect(page.locator(".messages")).to_contain_text("has been created")
    assert [s.total_qty for s in Shipment.objects.filter(order=main).order_by("id")] == [2, 3]
    page.click("text=Shipments (2)")
    expect(page.locator("#order-shipments")).to_contain_text("1Z999AA10123456784")
    expect(page.locator("#order-shipments")).to_contain_text("CL-7")

    # Refund the invoiced T-shirt with return to stock.
    stock_before = Product.objects.get(pk=shop["tshirt"].pk).qty
    page.click("text=Information")
    page.click('a[data-action="creditmemo"]')
    page.check("#document-items tr[data-sku='TSHIRT-RED'] input[type=checkbox]")
    page.fill("input[name=shipping_refund]", "0")
    page.click("#submit-document")
    expect(page.locator(".messages")).to_contain_text("You created the credit memo")
    assert Product.objects.get(pk=shop["tshirt"].pk).qty == stock_before + 1
    expect(page.locator("#total-refunded")).to_have_text("$20.00")

    # Hold and unhold.
    page.click('button[data-action="hold"]')
    expect(page.locator(".messages")).to_contain_text("on hold")
    expect(page.locator("#order-status")).to_have_text("On Hold")
    page.click('button[data-action="unhold"]')
    expect(page.locator(".messages")).to_contain_text("released")

    # Comment with customer notification: the email is written.
    page.fill("#comment-form textarea", "Your parcels are on their way.")
    page.check("#comment-form input[name=notify_customer]")
    page.click("#comment-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("The comment was added.")
    expect(page.locator("#notes")).to_contain_text("Your parcels are on their way.")
    written = list(shop["mail"].iterdir())
    assert any("Your parcels are on their way." in path.read_text(errors="replace") for path in written)

    # Cancel the other order (confirmation accepted).
    page.goto(f"{live_server.url}/sales/orders/{other.pk}/")
    page.click('button[data-action="cancel"]')
    expect(page.locator(".messages")).to_contain_text("You canceled the order.")
    assert Order.objects.get(pk=other.pk).state == "canceled"

    # Switch to French.
    page.select_option("#language-select", "fr")
    expect(page.locator("nav.sidebar")).to_contain_text("Tableau de bord")
    expect(page.locator(".tabs")).to_contain_text("Historique des commentaires")
    expect(page.locator("#order-actions")).to_contain_text("Retour")
