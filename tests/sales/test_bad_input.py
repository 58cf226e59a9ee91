"""Bad input is a 400 with a message (or a 404), never a 500 (issue 11, finding 9).

Amounts have bounds, ids are checked for type and range, and very large orders (10,000 lines) can be invoiced,
shipped, refunded and printed.
"""

from __future__ import annotations

import io
import time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from saleschannel.core.money import MAX_AMOUNT, in_range, is_exact, to_money
from saleschannel.core.roles import OPERATOR
from saleschannel.sales import services
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.ids import MAX_ID, parse_id
from saleschannel.sales.models import CreditMemo, Invoice, Order, OrderItem, Shipment
from tests import factories
from tests.factories import client_for, make_role_user
from tests.sales.large_orders import make_large_order

BIG_ID = str(2**63)  # one above the largest bigint
BAD_IDS = [BIG_ID, "9" * 30, "٣", "３", "¹", "0", "-1", "1.0", "abc", " 1", "1e3"]


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


@pytest.fixture
def invoiced(order):
    services.invoice_create(order=order, actor="tests")
    return Order.objects.get(pk=order.pk)


def _memo_data(order, **amounts):
    data = {f"qty_{item.pk}": "0" for item in order.items.all()}
    return {"shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "0", **data, **amounts}


# --- Amounts -------------------------------------------------------------------------------------------------------

def test_money_helpers_bear_huge_amounts():
    huge = Decimal("1e30")
    assert is_exact(huge, "USD") and not in_range(huge)
    assert not is_exact(Decimal("1000000000000000000000000000000.001"), "USD")  # no InvalidOperation either
    with pytest.raises(ValueError, match="too large"):
        to_money("1e30", "USD")
    assert to_money(str(MAX_AMOUNT), "USD") == MAX_AMOUNT


@pytest.mark.parametrize("field", ["adjustment_refund", "adjustment_fee", "shipping_refund"])
@pytest.mark.parametrize("value", ["1e30", "1E+30", "99999999999999999999", "1000000000000", "1.001", "NaN",
                                   "Infinity", "-1", "abc"])
def test_refund_amounts_out_of_bounds_are_form_errors(client, invoiced, field, value):
    response = client.post(f"/sales/orders/{invoiced.pk}/creditmemo/new/", _memo_data(invoiced, **{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not CreditMemo.objects.exists()
    assert Order.objects.get(pk=invoiced.pk).total_refunded == 0


def test_refund_amounts_take_the_currency_decimals(jpy_store, products):
    order = factories.make_order(store=jpy_store, items=[factories.line(products[0], 1, price="1000")])
    services.invoice_create(order=order, actor="tests")
    client = client_for(make_role_user(OPERATOR))
    response = client.post(f"/sales/orders/{order.pk}/creditmemo/new/",
                           _memo_data(order, adjustment_refund="1.5"))
    assert response.status_code == 400 and response.context["form"].errors["adjustment_refund"]
    response = client.post(f"/sales/orders/{order.pk}/creditmemo/new/", _memo_data(order, adjustment_refund="15"))
    assert response.status_code == 302
    assert CreditMemo.objects.get().adjustment_refund == Decimal("15")


@pytest.mark.parametrize("field", ["adjustment_refund", "adjustment_fee", "shipping_refund"])
def test_the_service_refuses_huge_amounts_itself(invoiced, field):
    with pytest.raises(OrderActionError) as refused:
        services.creditmemo_create(order=invoiced, quantities={}, actor="tests", **{field: "1e30"})
    assert refused.value.field == field
    assert not CreditMemo.objects.exists()


def test_the_service_refuses_huge_quantities(order):
    item = order.items.first()
    with pytest.raises(OrderActionError, match="too large"):
        services.invoice_create(order=order, quantities={item.pk: "1e30"}, actor="tests")
    assert not Invoice.objects.exists()


def test_grid_total_filters_have_bounds(client, order):
    response = client.get("/sales/orders/", {"total_min": "1e30", "total_max": "1e400000"})
    assert response.status_code == 200
    assert response.context["grid"].form.errors["total_min"]
    assert response.context["grid"].form.errors["total_max"]


# --- Ids -----------------------------------------------------------------------------------------------------------

def test_parse_id():
    assert parse_id("42") == 42 and parse_id(str(MAX_ID)) == MAX_ID
    for bad in [*BAD_IDS, "", None, 3.0]:
        assert parse_id(bad) is None, bad


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("action", ["hold", "cancel", "print_invoices"])
def test_mass_action_with_a_bad_id_is_a_400_and_changes_nothing(client, order, action, bad):
    response = client.post("/sales/orders/mass-action/", {"action": action, "order_ids": [order.pk, bad]})
    assert response.status_code == 400
    assert "is not a valid id" in response.content.decode()
    assert Order.objects.get(pk=order.pk).state == order.state


def test_mass_action_with_the_largest_id_finds_nothing(client, order):
    response = client.post("/sales/orders/mass-action/", {"action": "hold", "order_ids": [str(MAX_ID)]},
                           follow=True)
    assert response.status_code == 200
    assert "None of the selected orders exists any more." in response.content.decode()


@pytest.mark.parametrize("kind", ["invoices", "shipments", "creditmemos"])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_mass_print_with_a_bad_id_is_a_400(client, kind, bad):
    response = client.post(f"/sales/{kind}/print/", {"ids": ["1", bad]})
    assert response.status_code == 400
    assert "is not a valid id" in response.content.decode()


ID_URLS = [
    "/sales/orders/{}/", "/sales/orders/{}/invoice/new/", "/sales/orders/{}/shipment/new/",
    "/sales/orders/{}/creditmemo/new/", "/sales/invoices/{}/", "/sales/invoices/{}/pdf/", "/sales/shipments/{}/",
    "/sales/shipments/{}/pdf/", "/sales/creditmemos/{}/", "/sales/creditmemos/{}/pdf/",
]


@pytest.mark.parametrize("url", ID_URLS)
@pytest.mark.parametrize("bad", [BIG_ID, str(MAX_ID), "9" * 25, "٣", "３", "0"])
def test_ids_in_urls_out_of_range_or_not_ascii_are_404(client, url, bad):
    assert client.get(url.format(bad)).status_code == 404


@pytest.mark.parametrize("url", ["/sales/orders/{}/hold/", "/sales/orders/{}/cancel/", "/sales/orders/{}/comment/",
                                 "/sales/orders/views/{}/delete/"])
def test_ids_in_action_urls_are_404(client, url):
    assert client.post(url.format(BIG_ID), {"comment": "x"}).status_code == 404


# --- Anything thrown at every sales view ---------------------------------------------------------------------------

JUNK = ["-1", "0", "abc", "1e30", "1.5", "٣", "３", "9" * 30, BIG_ID, "", "NaN", "Infinity", "\x00", "9999-12-31",
        "0001-01-01", "2026-02-30", "<b>", "'; --", "a\r\nLocation: x", "é" * 5000]
GRID_KEYS = ["page", "per_page", "sort", "cols", "created_from", "created_to", "total_min", "total_max", "status",
             "store", "origin", "q", "bill_to", "ship_to", "tab", "next"]


@pytest.fixture
def documents(client, invoiced):
    services.shipment_create(order=invoiced, actor="tests")
    services.creditmemo_create(order=invoiced, quantities={}, shipping_refund="1", actor="tests")
    return {"order": invoiced.pk, "invoice": Invoice.objects.get().pk, "shipment": Shipment.objects.get().pk,
            "creditmemo": CreditMemo.objects.get().pk}


def _get_urls(ids):
    return [
        "/sales/orders/", "/sales/orders/export.csv", "/sales/invoices/", "/sales/shipments/", "/sales/creditmemos/",
        f"/sales/orders/{ids['order']}/", f"/sales/orders/{ids['order']}/invoice/new/",
        f"/sales/orders/{ids['order']}/shipment/new/", f"/sales/orders/{ids['order']}/creditmemo/new/",
        f"/sales/invoices/{ids['invoice']}/", f"/sales/invoices/{ids['invoice']}/pdf/",
        f"/sales/shipments/{ids['shipment']}/", f"/sales/shipments/{ids['shipment']}/pdf/",
        f"/sales/creditmemos/{ids['creditmemo']}/", f"/sales/creditmemos/{ids['creditmemo']}/pdf/",
    ]


@pytest.mark.parametrize("value", JUNK)
def test_no_sales_page_fails_on_junk_query_parameters(client, documents, value):
    for url in _get_urls(documents):
        response = client.get(url, {key: value for key in GRID_KEYS})
        assert response.status_code < 500, (url, value)
        response = client.get(url, {"page": value})
        assert response.status_code < 500, (url, value)


@pytest.mark.parametrize("value", JUNK)
def test_no_sales_form_fails_on_junk_values(client, documents, value):
    order = Order.objects.prefetch_related("items").get(pk=documents["order"])
    qtys = {f"qty_{item.pk}": value for item in order.items.all()}
    base = f"/sales/orders/{order.pk}/"
    posts = [
        (base + "invoice/new/", qtys),
        (base + "invoice/new/", {**qtys, "update": "1"}),
        (base + "shipment/new/", {**qtys, "track-TOTAL_FORMS": value, "track-INITIAL_FORMS": value,
                                  "track-0-carrier_code": value, "track-0-number": value}),
        (base + "shipment/new/", {**qtys, "add_track": "1", "track-TOTAL_FORMS": value}),
        (base + "creditmemo/new/", {**qtys, "shipping_refund": value, "adjustment_refund": value,
                                    "adjustment_fee": value, **{f"stock_{i.pk}": value for i in order.items.all()}}),
        (base + "creditmemo/new/", {**qtys, "update": "1", "adjustment_refund": value}),
        (base + "comment/", {"comment": value or "x", "status": value, "notify_customer": value}),
        ("/sales/orders/mass-action/", {"action": value, "order_ids": [value]}),
        ("/sales/orders/mass-action/", {"action": "hold", "order_ids": [value], "next": value}),
        ("/sales/orders/views/", {"name": value, "query": value}),
        ("/sales/invoices/print/", {"ids": [value]}),
        ("/sales/shipments/print/", {"ids": [value]}),
        ("/sales/creditmemos/print/", {"ids": [value]}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code < 500, (url, value, data)
    assert CreditMemo.objects.count() == 1 and Shipment.objects.count() == 1


# --- A 10,000-line order -------------------------------------------------------------------------------------------

LINES = 10_000


def _timed(figures, label, call):
    start = time.perf_counter()
    response = call()
    figures[label] = round(time.perf_counter() - start, 2)
    return response


def _last_page_text(response) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(response.content))
    return len(reader.pages), reader.pages[-1].extract_text()


def _post(client, url, data):
    """Posted as a browser does (urlencoded): 10,000 lines are 10,000 to 20,000 fields, above Django's default
    DATA_UPLOAD_MAX_NUMBER_FIELDS of 1,000."""
    return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")


@pytest.fixture
def large(store):
    order = make_large_order(store=store, lines=LINES)
    items = list(OrderItem.objects.filter(order=order).values_list("pk", "sku"))
    return order, items


def unwrapped(text: str) -> str:
    """PDF text without its line breaks: a long SKU wraps inside its cell (how long depends on the tests run before)."""
    return text.replace("\n", "")


@pytest.fixture
def figures():
    figures: dict[str, float] = {}
    yield figures
    print(f"{LINES:,}-line order, seconds:", figures)


def test_a_10000_line_order_is_invoiced_and_printed(client, large, figures):
    order, items = large
    base = f"/sales/orders/{order.pk}/"
    page = _timed(figures, "invoice page", lambda: client.get(base + "invoice/new/"))
    assert page.status_code == 200 and page.content.decode().count('class="qty"') == LINES
    response = _timed(figures, "invoice post", lambda: _post(
        client, base + "invoice/new/", {f"qty_{pk}": "2" for pk, _sku in items}))
    assert response.status_code == 302
    invoice = Invoice.objects.get(order=order)
    assert invoice.items.count() == LINES and invoice.grand_total == Decimal("3.00") * LINES
    assert _timed(figures, "invoice view", lambda: client.get(f"/sales/invoices/{invoice.pk}/")).status_code == 200
    pdf = _timed(figures, "invoice pdf", lambda: client.get(f"/sales/invoices/{invoice.pk}/pdf/"))
    assert pdf.status_code == 200
    pages, text = _last_page_text(pdf)
    assert pages > 100 and items[-1][1] in unwrapped(text) and "$30,000.00" in text


def test_a_10000_line_order_is_shipped_and_printed(client, large, figures):
    order, items = large
    base = f"/sales/orders/{order.pk}/"
    page = _timed(figures, "shipment page", lambda: client.get(base + "shipment/new/"))
    assert page.status_code == 200 and page.content.decode().count('class="qty"') == LINES
    response = _timed(figures, "shipment post", lambda: _post(client, base + "shipment/new/", {
        **{f"qty_{pk}": "1" for pk, _sku in items}, "track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0",
        "track-0-carrier_code": "ups", "track-0-number": "1Z999"}))
    assert response.status_code == 302
    shipment = Shipment.objects.get(order=order)
    assert shipment.total_qty == LINES
    pdf = _timed(figures, "packing slip pdf", lambda: client.get(f"/sales/shipments/{shipment.pk}/pdf/"))
    assert pdf.status_code == 200
    pages, text = _last_page_text(pdf)
    assert pages > 100 and items[-1][1] in unwrapped(text) and "1Z999" in text


@pytest.mark.slow  # ~6 s on SQLite and on PostgreSQL (it invoices the 10,000 lines first)
def test_a_10000_line_order_is_refunded_and_printed(client, large, figures):
    order, items = large
    services.invoice_create(order=order, actor="tests")
    base = f"/sales/orders/{order.pk}/"
    page = _timed(figures, "credit memo page", lambda: client.get(base + "creditmemo/new/"))
    assert page.status_code == 200 and page.content.decode().count('type="checkbox"') >= LINES
    data = {"shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "0",
            **{f"qty_{pk}": "1" for pk, _sku in items}, **{f"stock_{pk}": "on" for pk, _sku in items}}
    response = _timed(figures, "credit memo post (20,000 fields)",
                      lambda: _post(client, base + "creditmemo/new/", data))
    assert response.status_code == 302
    memo = CreditMemo.objects.get(order=order)
    assert memo.grand_total == Decimal("1.50") * LINES and memo.items.filter(back_to_stock=True).count() == LINES
    assert _timed(figures, "credit memo view",
                  lambda: client.get(f"/sales/creditmemos/{memo.pk}/")).status_code == 200
    pdf = _timed(figures, "credit memo pdf", lambda: client.get(f"/sales/creditmemos/{memo.pk}/pdf/"))
    assert pdf.status_code == 200
    pages, text = _last_page_text(pdf)
    assert pages > 100 and items[-1][1] in unwrapped(text) and "$15,000.00" in text


# Pinned query counts of the document pages (3 lines or 1,500; SQLite and PostgreSQL alike): a failure names the page
# that changed. The HTML pages include the Amazon ship-by notice (one query).
DOCUMENT_PAGE_QUERIES = {
    "/sales/orders/{}/invoice/new/": 12, "/sales/orders/{}/shipment/new/": 12,
    "/sales/orders/{}/creditmemo/new/": 12, "/sales/invoices/{}/": 12, "/sales/invoices/{}/pdf/": 8,
}


def test_document_pages_keep_a_constant_query_count(client, store):
    """3 lines or 1,500: the new-document pages, the document page and its PDF run the same queries."""
    small = make_large_order(store=store, lines=3)
    large = make_large_order(store=store, lines=1_500)

    def count(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        return len(captured)

    measured = {}

    def same(path: str) -> None:
        client.get(path.format(small.pk))  # warm the session and permission caches
        measured[path] = count(path.format(small.pk))
        assert measured[path] == count(path.format(large.pk)), path

    same("/sales/orders/{}/invoice/new/")
    for order in (small, large):
        services.invoice_create(order=order, actor="tests")
    same("/sales/orders/{}/shipment/new/")
    same("/sales/orders/{}/creditmemo/new/")
    invoices = {invoice.order_id: invoice.pk for invoice in Invoice.objects.all()}
    small_id, large_id = invoices[small.pk], invoices[large.pk]
    for path in ("/sales/invoices/{}/", "/sales/invoices/{}/pdf/"):
        client.get(path.format(small_id))
        measured[path] = count(path.format(small_id))
        assert measured[path] == count(path.format(large_id)), path
    assert measured == DOCUMENT_PAGE_QUERIES, "document pages: queries per page (measured == pinned)"


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize("spelling", [ARABIC_INDIC, FULLWIDTH])
def test_the_services_take_item_ids_in_ascii_digits_only(order, spelling):
    """int() reads "٣" as 3: an item id written so must not name item 3."""
    item = order.items.first()
    bad = str(item.pk).translate(spelling)
    assert bad != str(item.pk) and int(bad) == item.pk
    with pytest.raises(OrderActionError, match="is not an item of this order"):
        services.invoice_create(order=order, quantities={bad: 1}, actor="tests")
    assert not Invoice.objects.exists()
    services.invoice_create(order=order, actor="tests")
    with pytest.raises(OrderActionError, match="is not an item of this order"):
        services.creditmemo_create(order=order, quantities={item.pk: 1}, return_to_stock=[bad], actor="tests")
    assert not CreditMemo.objects.exists()


def test_mass_action_ids_in_other_digits_do_not_name_an_order(client, order):
    bad = str(order.pk).translate(ARABIC_INDIC)
    response = client.post("/sales/orders/mass-action/", {"action": "hold", "order_ids": [bad]})
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).state == order.state
