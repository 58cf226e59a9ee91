"""Issue 12 in a real browser: an Amazon order cannot be canceled by a mass action, a stray Submit or Enter does
nothing, and Commerce's Cancel on an Amazon order opens the Amazon dialog (a reason is required)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrderStatus, OutboxKind, OutboxMessage
from saleschannel.catalog.models import Store
from saleschannel.sales.models import Order, OrderState
from tests import factories
from tests.amazon.browser.test_amazon_screens import _sign_in, imported  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = AmazonOrderStatus


def _row_box(page, order: Order):
    return page.locator(f'tr[data-order="{order.number}"] input[name="order_ids"]')


def test_mass_action_cannot_cancel_an_amazon_order_and_a_stray_submit_does_nothing(live_server, page,
                                                                                  imported):  # noqa: F811
    amazon = imported["Alice Martin"]
    commerce = amazon.commerce_order
    plain = factories.make_order(store=Store.objects.get(pk=commerce.store_id))
    _sign_in(page, live_server, "/sales/orders/")

    # A stray Submit: no action is chosen by default, so nothing happens and the page says so.
    expect(page.locator("#mass-action")).to_have_value("")
    _row_box(page, commerce).check()
    _row_box(page, plain).check()
    page.click("#mass-submit")
    expect(page.locator(".messages")).to_contain_text("Choose an action first: nothing was done.")
    # A stray Enter on the confirmation page goes back: the focus is on "Back to the orders".
    _row_box(page, commerce).check()
    _row_box(page, plain).check()
    page.select_option("#mass-action", "cancel")
    page.click("#mass-submit")
    expect(page.locator("#confirm-title")).to_have_text("Cancel 1 order?")
    expect(page.locator("#mass-skipped")).to_contain_text(
        f"#{commerce.number}: Amazon order: cancel it from Amazon Order Details with a reason.")
    expect(page.locator("#mass-back")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#order-grid")).to_be_visible()
    plain.refresh_from_db()
    assert plain.state != OrderState.CANCELED

    # Confirmed: the other order is canceled, the Amazon order is skipped and listed with the reason.
    _row_box(page, commerce).check()
    _row_box(page, plain).check()
    page.select_option("#mass-action", "cancel")
    page.click("#mass-submit")
    page.click("#mass-confirm-submit")
    messages = page.locator(".messages")
    expect(messages).to_contain_text("1 order canceled.")
    expect(messages).to_contain_text(
        f"Order #{commerce.number} skipped: Amazon order: cancel it from Amazon Order Details with a reason.")
    plain.refresh_from_db()
    amazon.refresh_from_db()
    commerce.refresh_from_db()
    assert plain.state == OrderState.CANCELED
    assert amazon.status == S.UNSHIPPED and commerce.state != OrderState.CANCELED
    assert not OutboxMessage.objects.filter(amazon_order=amazon).exists()


def test_commerce_cancel_of_an_amazon_order_asks_for_an_amazon_reason(live_server, page, imported):  # noqa: F811
    amazon = imported["Bruno Durand"]
    commerce = amazon.commerce_order
    path = f"/sales/orders/{commerce.pk}/"
    _sign_in(page, live_server, path)
    page.click('[data-action="cancel"]')
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#cancel-consequences")).to_contain_text("Amazon is told the order is canceled")
    expect(page.locator("#cancel-consequences")).to_contain_text(f"Commerce order #{commerce.number}")
    # A stray Enter keeps the order: the focus is on "Keep the order".
    expect(page.locator("#close-cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    # No reason, no cancellation: the browser asks for one.
    page.click('[data-action="cancel"]')
    page.click("#confirm-cancel")
    expect(dialog).to_be_visible()
    assert not OutboxMessage.objects.filter(amazon_order=amazon).exists()

    page.select_option("#id_reason", "NoInventory")
    page.click("#confirm-cancel")
    expect(page).to_have_url(f"{live_server.url}{path}")
    expect(page.locator(".messages")).to_contain_text("You canceled the order")
    message = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.CANCEL)
    assert message.payload["reason"] == "NoInventory"
    amazon.refresh_from_db()
    assert amazon.status == S.CANCELED
    # Refused now: Cancel is shown disabled, with the reason under the buttons.
    expect(page.locator('[data-action="cancel"]')).to_be_disabled()
    expect(page.locator("#action-reasons")).to_contain_text("Cancel: The order is already canceled.")


def test_disabled_buttons_look_disabled(live_server, page, imported):  # noqa: F811
    chloe = imported["Chloé Nguyen"]
    _sign_in(page, live_server, f"/amazon/orders/{chloe.pk}/")
    save = page.locator("#save-order")
    expect(save).to_be_disabled()
    expect(save).to_have_css("background-color", "rgb(240, 240, 240)")  # not the bright primary colour
    expect(save).to_have_css("cursor", "not-allowed")
    page.fill("#id_ship_address_line2", "Building 7")
    expect(save).to_be_enabled()
    expect(save).not_to_have_css("background-color", "rgb(240, 240, 240)")
