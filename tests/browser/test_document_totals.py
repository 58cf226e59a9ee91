"""What the invoice and credit memo forms preview is what the document says once created (issue 12).

An order with item discounts, an order-level discount, item tax and shipping tax is invoiced in part; then part of it
is refunded with some of the shipping, an adjustment refund and an adjustment fee. Each time the totals shown under
the form after "Update Qty's" must be, line by line, those of the document page and of the stored document, in
English and in French.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import translation
from playwright.sync_api import expect

from saleschannel.core.money import format_money
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.models import CreditMemo, Invoice
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def discounted_order(transactional_db):
    store = factories.make_store(code="us", currency="USD", prefix="US", name="US Store")
    tshirt = factories.make_product(sku="TSHIRT-RED", name="Red T-shirt", price="20.00", qty=50)
    mug = factories.make_product(sku="MUG-BLUE", name="Blue Mug", price="8.00", qty=50)
    return factories.make_order(
        store=store,
        items=[factories.line(tshirt, 3, tax_amount="4.80", tax_percent="8", discount_amount="6.00"),
               factories.line(mug, 3, tax_amount="1.92", tax_percent="8")],
        shipping_amount="10.00", shipping_tax_amount="0.80", discount_amount="1.50",
        shipping_method_code="flatrate", shipping_method_title="Flat Rate",
    )


@pytest.fixture
def signed_in(page, live_server):
    client = factories.client_for(factories.make_role_user(OPERATOR))
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                               "url": live_server.url}])
    return page


def _rows(page, selector: str) -> list[tuple[str, str]]:
    """(label, amount) of each line of a totals table."""
    rows = page.locator(f"{selector} tr")
    return [(rows.nth(i).locator("th").inner_text().strip(), rows.nth(i).locator("td").inner_text().strip())
            for i in range(rows.count())]


def _set_qty(page, sku: str, qty: int):
    page.locator(f'#document-items tr[data-sku="{sku}"] input.qty').fill(str(qty))


def _money(amount: Decimal, language: str) -> str:
    with translation.override(language):
        return format_money(amount, "USD")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_previewed_totals_are_the_documents_totals(live_server, signed_in, discounted_order, language):
    page, order = signed_in, discounted_order
    page.context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language,
                               "url": live_server.url}])

    # Invoice two T-shirts and the three mugs: the first invoice also carries the shipping and its discount.
    page.goto(f"{live_server.url}/sales/orders/{order.pk}/invoice/new/")
    _set_qty(page, "TSHIRT-RED", 2)
    page.click("#update-qtys")
    invoice_subtotal = _money(Decimal("64.00"), language)  # 2 × 20.00 + 3 × 8.00
    expect(page.locator("#preview-subtotal")).to_have_text(invoice_subtotal)
    preview = _rows(page, "#totals-preview table")
    page.click("#submit-document")
    expect(page.locator("h1")).to_have_text(f"#{order.number}")  # back on the order
    invoice = Invoice.objects.get(order=order)
    page.goto(f"{live_server.url}/sales/invoices/{invoice.pk}/")
    assert _rows(page, "#document-totals table") == preview
    stored = [invoice.subtotal, invoice.shipping_amount, invoice.discount_amount, invoice.tax_amount,
              invoice.grand_total]
    assert [amount for _label, amount in preview] == [
        _money(stored[0], language), _money(stored[1], language), "-" + _money(stored[2], language),
        _money(stored[3], language), _money(stored[4], language)]
    assert invoice.discount_amount == Decimal("5.50")  # 2/3 of the T-shirts' discount and the order-level discount
    assert invoice.grand_total == invoice.subtotal + invoice.shipping_amount - invoice.discount_amount \
        + invoice.tax_amount

    # Refund one T-shirt, $4 of the shipping, a $2.25 adjustment refund and a $3.50 adjustment fee.
    page.goto(f"{live_server.url}/sales/orders/{order.pk}/creditmemo/new/")
    _set_qty(page, "TSHIRT-RED", 1)
    _set_qty(page, "MUG-BLUE", 0)
    page.fill("input[name=shipping_refund]", "4")
    page.fill("input[name=adjustment_refund]", "2.25")
    page.fill("input[name=adjustment_fee]", "3.50")
    page.click("#update-qtys")
    expect(page.locator("#preview-adjustment-fee")).to_have_text("-" + _money(Decimal("3.50"), language))
    preview = _rows(page, "#totals-preview table")
    assert len(preview) == 7, preview  # subtotal, shipping, discount, tax, adjustment refund and fee, grand total
    page.click("#submit-document")
    expect(page.locator("h1")).to_have_text(f"#{order.number}")
    memo = CreditMemo.objects.get(order=order)
    page.goto(f"{live_server.url}/sales/creditmemos/{memo.pk}/")
    shown = _rows(page, "#document-totals table")
    assert [amount for _label, amount in shown] == [amount for _label, amount in preview]
    assert [label for label, _amount in shown][:-1] == [label for label, _amount in preview][:-1]  # "Total Refunded"
    assert [amount for _label, amount in preview] == [
        _money(memo.subtotal, language), _money(memo.shipping_amount, language),
        "-" + _money(memo.discount_amount, language), _money(memo.tax_amount, language),
        _money(memo.adjustment_refund, language), "-" + _money(memo.adjustment_fee, language),
        _money(memo.grand_total, language)]
    assert (memo.shipping_amount, memo.adjustment_refund, memo.adjustment_fee) == (
        Decimal("4.00"), Decimal("2.25"), Decimal("3.50"))
    assert memo.grand_total == (memo.subtotal + memo.shipping_amount - memo.discount_amount + memo.tax_amount
                                + memo.adjustment_refund - memo.adjustment_fee)
