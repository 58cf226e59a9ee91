"""The Amazon screens in a real browser, against the SP-API sandbox: dashboard, filters, details, cancel, address."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, OutboxMessage, OutboxState
from saleschannel.amazon.sync import sync_store
from saleschannel.core.roles import OPERATOR
from tests.amazon.conftest import settle
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = AmazonOrderStatus


@pytest.fixture
def imported(sandbox, amazon_store):
    """Three imported Unshipped orders with known buyers, signed in as an Operator."""
    ids = []
    for buyer in ("Alice Martin", "Bruno Durand", "Chloé Nguyen"):
        ids += sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped", lines=1,
                                     buyer_name=buyer, prime=False, replacement=False)
    settle()
    run = sync_store(store=amazon_store)
    assert run.orders_created == 3, list(AmazonOrder.objects.values_list("import_error", flat=True))
    make_browser_user("olivia", OPERATOR)
    return {AmazonOrder.objects.get(amazon_order_id=i).buyer_name: AmazonOrder.objects.get(amazon_order_id=i)
            for i in ids}


def _sign_in(page, live_server, path: str):
    sign_in(page, live_server, path, "olivia")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def test_store_dashboard_and_all_orders_with_filters(live_server, page, imported, amazon_store, sandbox):
    alice, bruno = imported["Alice Martin"], imported["Bruno Durand"]
    _sign_in(page, live_server, "/amazon/")
    page.click(f'#amazon-stores a:text("{amazon_store.name}")')
    expect(page.locator("h1")).to_have_text(amazon_store.name)
    rows = page.locator("#amazon-orders tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(f'tr[data-order="{alice.amazon_order_id}"]')).to_contain_text("Alice Martin")
    expect(page.locator('[data-testid="revenue"]')).to_contain_text("$")
    expect(page.locator('[data-testid="queued-outbound"]')).to_have_text("0")
    # The Commerce order is one click away.
    expect(page.locator(f'tr[data-order="{alice.amazon_order_id}"] [data-testid="commerce-link"]')).to_have_text(
        f"#{alice.commerce_order.number}")

    # The dashboard refreshes itself: an order imported now shows up without reloading the page.
    sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped", lines=1,
                          buyer_name="Dora Late", prime=False, replacement=False)
    settle()
    assert sync_store(store=amazon_store).orders_created == 1
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(4, timeout=25_000)
    expect(page.locator("#amazon-orders")).to_contain_text("Dora Late")

    page.click("#all-orders")
    expect(page.locator("#records-found")).to_contain_text("4 records")
    page.fill("#id_buyer", "alice")
    page.check('#filter-status input[value="Unshipped"]')
    page.click("#apply-filters")
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(1)
    expect(page.locator("#active-filters .chip")).to_have_count(3)  # buyer, status, store
    expect(page.locator("#amazon-orders")).to_contain_text(alice.amazon_order_id)

    page.click('#active-filters .chip:has-text("Buyer") a')
    expect(page.locator("#active-filters .chip")).to_have_count(2)
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(4)
    page.click("#clear-filters")
    expect(page.locator("#active-filters")).to_have_count(0)
    page.click('th[data-column="buyer"] a')
    expect(page.locator("#amazon-orders tbody tr").first).to_contain_text("Alice Martin")
    page.click('th[data-column="buyer"] a')
    expect(page.locator("#amazon-orders tbody tr").first).to_contain_text("Dora Late")
    page.click(f'a:text("{bruno.amazon_order_id}")')
    expect(page.locator("#amazon-status")).to_contain_text("Unshipped")


def test_details_cancel_with_a_reason(live_server, page, imported, sandbox):
    bruno = imported["Bruno Durand"]
    _sign_in(page, live_server, f"/amazon/orders/{bruno.pk}/")
    page.click("#tab-items")
    expect(page.locator("#order-items tbody tr")).to_have_count(1)
    page.click("#tab-details")

    page.click("#cancel-order")
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    page.click("#close-cancel")
    expect(dialog).to_be_hidden()
    page.click("#cancel-order")
    page.select_option("#id_reason", "CustomerExchange")
    page.click("#confirm-cancel")
    expect(page.locator(".messages")).to_contain_text("You canceled the order")
    expect(page.locator("#amazon-status")).to_contain_text("Canceled")
    expect(page.locator("#cancel-order")).to_be_disabled()  # refused now: shown disabled with the reason
    expect(page.locator("#action-reasons")).to_contain_text("The order is already canceled.")

    message = OutboxMessage.objects.get(amazon_order=bruno)
    assert message.payload["reason"] == "CustomerExchange"
    # The worker sent the feed when the request committed (tests run tasks at once); follow it to its report.
    from tests.amazon.test_outbound import deliver_until_done

    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert sandbox.order(bruno.amazon_order_id)["status"] == "Canceled"
    page.click("#tab-log")
    expect(page.locator('#outbox tr[data-kind="cancel"]')).to_have_attribute("data-state", "accepted")
    expect(page.locator("#sync-log")).to_contain_text("Cancellation accepted by Amazon.")


def test_address_correction_enables_save_order_only_after_a_change(live_server, page, imported):
    chloe = imported["Chloé Nguyen"]
    _sign_in(page, live_server, f"/amazon/orders/{chloe.pk}/")
    save = page.locator("#save-order")
    expect(save).to_be_disabled()
    line2 = page.locator("#id_ship_address_line2")
    original = line2.input_value()
    line2.fill("Building 7, door code 1234")
    expect(save).to_be_enabled()
    line2.fill(original)
    expect(save).to_be_disabled()
    line2.fill("Building 7, door code 1234")
    page.fill("#id_ship_postal_code", "98109")
    save.click()
    expect(page.locator(".messages")).to_contain_text("You saved the order's shipping address")
    expect(page.locator("#id_ship_address_line2")).to_have_value("Building 7, door code 1234")
    expect(page.locator("#address-corrected")).to_be_visible()
    chloe.refresh_from_db()
    shipping = chloe.commerce_order.addresses.get(address_type="shipping")
    assert (shipping.street2, shipping.postcode) == ("Building 7, door code 1234", "98109")


def test_order_settings_grey_out_and_warn_as_you_type(live_server, page, amazon_store):
    from saleschannel.core.roles import ADMINISTRATOR

    make_browser_user("olivia", ADMINISTRATOR)
    _sign_in(page, live_server, f"/amazon/stores/{amazon_store.pk}/settings/")
    custom = page.locator("#id_custom_processing_status")
    warning = page.locator("#frequency-warning")
    expect(custom).to_be_disabled()  # Order status is Default
    expect(warning).to_be_hidden()
    page.select_option("#id_order_status_mode", "custom")
    expect(custom).to_be_enabled()
    page.fill("#id_sync_frequency_minutes", "2")
    expect(warning).to_be_visible()
    page.select_option("#id_import_enabled", "0")
    for field in ("#id_customer_creation", "#id_order_number_source", "#id_sync_frequency_minutes", "#id_import_fba"):
        expect(page.locator(field)).to_be_disabled()
    expect(warning).to_be_hidden()
    page.click("#save-settings")
    expect(page.locator(".messages")).to_contain_text("You saved the Order Settings")
    amazon_store.refresh_from_db()
    assert not amazon_store.import_enabled and amazon_store.sync_frequency_minutes == 5
