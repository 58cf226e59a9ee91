"""The order grid: keyword search, filters, chips, sorting, columns, page size, saved views, CSV, extension hook."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from saleschannel.core.models import SavedGridView
from saleschannel.core.roles import OPERATOR
from saleschannel.sales import grid
from saleschannel.sales.models import Order
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


@pytest.fixture
def orders(store, fr_store):
    mug = factories.make_product(sku="MUG-1", price="10.00", qty=100)
    lamp = factories.make_product(sku="LAMP-9", price="99.00", qty=100)
    alice = factories.make_order(
        store=store, items=[factories.line(mug, 1)], customer_email="alice@example.com", customer_first_name="Alice",
        customer_last_name="Martin", billing_address=dict(factories.ADDRESS, first_name="Alice", last_name="Martin"),
        shipping_address=dict(factories.ADDRESS, first_name="Bob", last_name="Gift"),
        created_at=timezone.now() - dt.timedelta(days=10),
    )
    bruno = factories.make_order(
        store=fr_store, items=[factories.line(lamp, 2)], customer_email="bruno@example.fr",
        customer_first_name="Bruno", customer_last_name="Durand",
        billing_address=dict(factories.ADDRESS, first_name="Bruno", last_name="Durand"),
        origin="amazon", external_order_number="111-2222222-3333333",
    )
    chloe = factories.make_order(
        store=store, items=[factories.line(mug, 3), factories.line(lamp, 1)], customer_email="chloe@example.com",
        customer_first_name="Chloé", customer_last_name="Petit",
        billing_address=dict(factories.ADDRESS, first_name="Chloé", last_name="Petit"),
        created_at=timezone.now() - dt.timedelta(days=3),
    )
    return {"alice": alice, "bruno": bruno, "chloe": chloe}


def _numbers(client, query: str) -> list[str]:
    response = client.get("/sales/orders/" + query)
    assert response.status_code == 200
    return [order.number for order, _cells in response.context["rows"]]


@pytest.mark.parametrize(("keyword", "expected"), [
    ("alice@example.com", ["alice"]),
    ("Durand", ["bruno"]),
    ("111-2222222", ["bruno"]),
    ("LAMP-9", ["bruno", "chloe"]),
    ("chloé petit", ["chloe"]),
    ("nobody-here", []),
])
def test_keyword_search(client, orders, keyword, expected):
    assert sorted(_numbers(client, f"?q={keyword}")) == sorted(orders[name].number for name in expected)


def test_keyword_search_by_order_number(client, orders):
    assert _numbers(client, f"?q={orders['chloe'].number}") == [orders["chloe"].number]


def test_filters(client, orders, store, fr_store):
    alice, bruno, chloe = orders["alice"], orders["bruno"], orders["chloe"]
    since = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    until = (timezone.localdate() - dt.timedelta(days=5)).isoformat()
    assert sorted(_numbers(client, f"?created_from={since}")) == sorted([bruno.number, chloe.number])
    assert _numbers(client, f"?created_to={until}") == [alice.number]
    assert _numbers(client, f"?store={fr_store.pk}") == [bruno.number]
    assert _numbers(client, "?origin=amazon") == [bruno.number]
    assert sorted(_numbers(client, "?origin=other")) == sorted([alice.number, chloe.number])
    assert _numbers(client, "?total_min=150") == [bruno.number]
    assert _numbers(client, "?total_max=20") == [alice.number]
    assert _numbers(client, "?bill_to=martin") == [alice.number]
    assert _numbers(client, "?ship_to=gift") == [alice.number]
    assert _numbers(client, "?ship_to=martin") == []
    assert _numbers(client, "?status=pending&store=" + str(store.pk)) == [chloe.number, alice.number]
    assert _numbers(client, "?status=canceled") == []


def test_invalid_filter_shows_its_error_and_the_valid_filters_still_apply(client, orders):
    response = client.get("/sales/orders/?total_min=abc&origin=amazon")
    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    assert [order.number for order, _cells in response.context["rows"]] == [orders["bruno"].number]
    assert [chip.label for chip in response.context["grid"].chips()] == ["Origin"]


def test_chips_remove_one_filter_and_clear_all_keeps_the_view(client, orders):
    response = client.get("/sales/orders/?q=Durand&origin=amazon&per_page=50&sort=number&cols=number&cols=status")
    chips = response.context["grid"].chips()
    assert [chip.label for chip in chips] == ["Keyword", "Origin"]
    assert chips[0].value == "Durand" and chips[1].value == "Amazon"
    assert "q=" not in chips[0].remove_url and "origin=amazon" in chips[0].remove_url
    clear_all = response.context["grid"].clear_all_url()
    assert "q=" not in clear_all and "origin" not in clear_all and "per_page=50" in clear_all
    assert "cols=number&cols=status" in clear_all
    assert "✕" in response.content.decode() and "Clear all" in response.content.decode()


def test_sorting(client, orders):
    by_total = _numbers(client, "?sort=grand_total")
    totals = list(Order.objects.filter(number__in=by_total).order_by("grand_total").values_list("number", flat=True))
    assert by_total == totals
    assert _numbers(client, "?sort=-grand_total") == list(reversed(totals))
    assert _numbers(client, "?sort=-created_at")[0] == orders["bruno"].number
    assert _numbers(client, "?sort=not-a-column")[0] == orders["bruno"].number  # falls back to the default


def test_column_chooser_and_page_size(client, orders):
    response = client.get("/sales/orders/?cols=number&cols=customer_email&per_page=20")
    header = [column["key"] for column in response.context["grid"].header()]
    assert header == ["number", "customer_email"]
    assert "alice@example.com" in response.content.decode()
    response = client.get("/sales/orders/?per_page=7")  # not an offered size
    assert response.context["grid"].per_page == grid.DEFAULT_PAGE_SIZE


def test_default_columns(client, orders):
    """Number, purchase date, bill-to name, status, channel (with the channel's own number), grand total, action.
    The external order number is offered in the column chooser, off by default."""
    response = client.get("/sales/orders/")
    grid_ = response.context["grid"]
    assert [column["key"] for column in grid_.header()] == [
        "number", "created_at", "bill_to_name", "status", "channel", "grand_total"]
    choices = {choice["key"]: choice["checked"] for choice in grid_.column_choices()}
    assert choices["external_order_number"] is False and choices["store"] is False
    page = response.content.decode()
    assert "External Order Number" in page  # in the column chooser
    assert page.count("111-2222222-3333333") == 1  # once, in the Channel column
    channel = {order.number: cells[4][0] for order, cells in response.context["rows"]}
    assert "Back office" in channel[orders["alice"].number]
    assert channel[orders["bruno"].number].startswith('<span class="muted channel-name">Amazon</span>')
    assert "Action" in page and ">View</a>" in page
    # Sorting by channel groups the origins; the CSV writes the channel and its number in one cell.
    assert _numbers(client, "?sort=channel")[0] == orders["bruno"].number  # "amazon" before "backoffice"
    assert _numbers(client, "?sort=-channel")[-1] == orders["bruno"].number
    exported = b"".join(client.get("/sales/orders/export.csv?sort=number").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0] == ["Order Number", "Purchase Date", "Bill-to Name", "Status", "Channel", "Grand Total"]
    assert ["Amazon 111-2222222-3333333"] == [row[4] for row in rows[1:] if row[0] == orders["bruno"].number]
    # The external number stays available.
    response = client.get("/sales/orders/?cols=number,external_order_number")
    assert [column["key"] for column in response.context["grid"].header()] == ["number", "external_order_number"]


def test_pagination(client, store):
    product = factories.make_product(qty=100)
    for _ in range(23):
        factories.make_order(store=store, items=[factories.line(product, 1)])
    first = client.get("/sales/orders/?per_page=20")
    second = client.get("/sales/orders/?per_page=20&page=2")
    assert len(first.context["rows"]) == 20 and len(second.context["rows"]) == 3
    assert "Page 1 of 2" in first.content.decode()


def test_saved_views_are_per_user(client, orders):
    response = client.post("/sales/orders/views/", {"name": "Amazon only", "query": "origin=amazon&sort=number"})
    assert response.status_code == 302 and response["Location"].endswith("?origin=amazon&sort=number")
    saved = SavedGridView.objects.get(name="Amazon only")
    page = client.get("/sales/orders/").content.decode()
    assert "Amazon only" in page and "?origin=amazon&amp;sort=number" in page
    other = client_for(make_role_user(OPERATOR, "other-operator"))
    assert "Amazon only" not in other.get("/sales/orders/").content.decode()
    assert other.post(f"/sales/orders/views/{saved.pk}/delete/").status_code == 404
    assert client.post(f"/sales/orders/views/{saved.pk}/delete/").status_code == 302
    assert not SavedGridView.objects.exists()


def test_csv_export_streams_the_filtered_set(client, orders):
    response = client.get("/sales/orders/export.csv?origin=other&cols=number,grand_total,customer_email&sort=number")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Order Number", "Grand Total", "Customer Email"]
    expected = sorted([orders["alice"], orders["chloe"]], key=lambda o: o.number)
    assert [row[0] for row in rows[1:]] == [o.number for o in expected]
    assert rows[1][2] == expected[0].customer_email
    assert rows[1][1] == f"${expected[0].grand_total:,.2f}"


def test_registered_column_appears_and_exports(client, orders):
    def text(order):
        return order.external_order_number or "—"

    grid.register_column("channel_ref", "Channel Ref", text=text, sort="store__name", after="number",
                         queryset=lambda orders: orders.select_related("store"))
    try:
        keys = list(grid.columns())
        assert keys.index("channel_ref") == keys.index("number") + 1
        response = client.get("/sales/orders/?cols=number,channel_ref&sort=-channel_ref")
        assert "111-2222222-3333333" in response.content.decode()
        assert response.context["rows"][-1][0].store.name == "Boutique France"  # sorted by store name, descending
        assert client.get("/sales/orders/?sort=channel_ref").context["rows"][0][0].store.name == "Boutique France"
        assert "Channel Ref" in response.content.decode()
        exported = b"".join(client.get("/sales/orders/export.csv?cols=channel_ref").streaming_content).decode()
        assert "111-2222222-3333333" in exported
    finally:
        grid._columns.pop("channel_ref")


def test_mass_actions_report_applied_and_skipped(client, orders):
    alice, chloe = orders["alice"], orders["chloe"]
    from saleschannel.sales import services

    services.invoice_create(order=alice, actor="tests")  # fully invoiced: cannot be canceled
    response = client.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": [alice.pk, chloe.pk],
                                                         "next": "/sales/orders/?q=x", "confirmed": "1"},
                           follow=True)
    text = response.content.decode()
    assert response.redirect_chain[-1][0] == "/sales/orders/?q=x"
    assert "1 order canceled." in text
    assert f"Order #{alice.number} skipped" in text
    chloe.refresh_from_db()
    assert chloe.state == "canceled"

    response = client.post("/sales/orders/mass-action/", {"action": "hold", "order_ids": [alice.pk, chloe.pk]},
                           follow=True)
    assert "1 order put on hold." in response.content.decode()
    response = client.post("/sales/orders/mass-action/", {"action": "unhold", "order_ids": [alice.pk, chloe.pk]},
                           follow=True)
    assert "1 order released from hold." in response.content.decode()
    assert f"Order #{chloe.number} skipped" in response.content.decode()


def test_mass_print(client, orders):
    from saleschannel.sales import services

    services.invoice_create(order=orders["alice"], actor="tests")
    response = client.post("/sales/orders/mass-action/", {"action": "print_invoices",
                                                         "order_ids": [orders["alice"].pk, orders["chloe"].pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    response = client.post("/sales/orders/mass-action/", {"action": "print_creditmemos",
                                                         "order_ids": [orders["alice"].pk]}, follow=True)
    assert "There are no printable documents related to selected orders." in response.content.decode()
    response = client.post("/sales/orders/mass-action/", {"action": "cancel"}, follow=True)
    assert "Select at least one order." in response.content.decode()


def test_grid_shows_money_in_the_order_currency(client, orders):
    page = client.get("/sales/orders/?q=Durand").content.decode()
    assert f"€{orders['bruno'].grand_total:,.2f}" in page
    assert orders["bruno"].grand_total == Decimal("198.00")


def test_registered_filter_narrows_the_grid_and_has_a_chip(client, orders):
    from django import forms

    grid.register_filter(
        "has_external", forms.BooleanField(label="Has external number", required=False),
        apply=lambda qs, value: qs.exclude(external_order_number=""), describe=lambda value: "yes",
    )
    try:
        response = client.get("/sales/orders/?has_external=on")
        assert [order.number for order, _cells in response.context["rows"]] == [orders["bruno"].number]
        chips = response.context["grid"].chips()
        assert [(c.label, c.value) for c in chips] == [("Has external number", "yes")]
        assert 'name="has_external"' in response.content.decode()
        exported = b"".join(client.get("/sales/orders/export.csv?has_external=on").streaming_content).decode()
        assert orders["bruno"].number in exported and orders["alice"].number not in exported
    finally:
        grid._filters.pop("has_external")


def test_customer_text_is_escaped_in_the_grid_and_defused_in_csv(client, store, products):
    factories.make_order(store=store, items=[factories.line(products[0], 1)], customer_first_name="=HYPERLINK(1)",
                         billing_address=dict(factories.ADDRESS, first_name="<script>alert(1)</script>"))
    page = client.get("/sales/orders/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    exported = b"".join(client.get("/sales/orders/export.csv?cols=customer_name,grand_total").streaming_content)
    rows = list(csv.reader(io.StringIO(exported.decode())))
    assert rows[1][0].startswith("'=HYPERLINK(1)")
    assert grid.csv_safe("-12.50") == "-12.50" and grid.csv_safe("-cmd") == "'-cmd"
