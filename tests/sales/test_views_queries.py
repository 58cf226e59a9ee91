"""The order grid and the order view run a constant number of SQL queries (DESIGN.md §6)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleschannel.core.roles import OPERATOR
from saleschannel.sales import services
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def operator_client(db):
    return client_for(make_role_user(OPERATOR))


# Pinned query counts, the same on SQLite and PostgreSQL. The tests below check that a page's count does not grow
# with its rows or items, and that it is exactly this number: a failure names the page (and tab) that changed.
# Every back-office page includes the Amazon ship-by notice (one query).
ORDER_GRID_QUERIES = 16
ORDER_VIEW_QUERIES = {"information": 19, "invoices": 19, "shipments": 19, "creditmemos": 19, "history": 19}
NEW_DOCUMENT_PAGE_QUERIES = {"invoice/new": 12, "shipment/new": 12}


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_order_grid_query_count_does_not_depend_on_page_size(store, operator_client, django_assert_num_queries):
    product = factories.make_product(price="3.00", qty=1000)
    for i in range(50):
        factories.make_order(store=store, items=[factories.line(product, 1 + i % 3)],
                             shipping_address=dict(factories.ADDRESS, first_name="Ship"))
    operator_client.get("/sales/orders/")  # warm the session and permission caches of this client

    small = _queries(operator_client, "/sales/orders/?per_page=20")
    large = _queries(operator_client, "/sales/orders/?per_page=50&cols=number,bill_to_name,ship_to_name,status")
    assert small == large
    assert small == ORDER_GRID_QUERIES, f"order grid: {small} queries, pinned {ORDER_GRID_QUERIES}"
    with django_assert_num_queries(small):
        response = operator_client.get("/sales/orders/?per_page=50&sort=grand_total")
    assert response.content.decode().count('name="order_ids"') == 50


def _order_with_items(store, count: int):
    products = [factories.make_product(price="4.00", qty=100) for _ in range(count)]
    order = factories.make_order(store=store, items=[factories.line(p, 2) for p in products])
    services.invoice_create(order=order, actor="tests")
    services.shipment_create(order=order, tracks=[{"carrier_code": "ups", "title": "UPS", "number": "1Z"}],
                             actor="tests")
    services.order_comment_add(order=order, comment="Checked.", actor="tests")
    return order


@pytest.mark.parametrize("tab", ["information", "invoices", "shipments", "creditmemos", "history"])
def test_order_view_query_count_does_not_depend_on_item_count(store, operator_client, tab):
    one = _order_with_items(store, 1)
    twenty = _order_with_items(store, 20)
    operator_client.get(f"/sales/orders/{one.pk}/")
    small = _queries(operator_client, f"/sales/orders/{one.pk}/?tab={tab}")
    assert small == _queries(operator_client, f"/sales/orders/{twenty.pk}/?tab={tab}")
    assert small == ORDER_VIEW_QUERIES[tab], (
        f"order view, {tab} tab: {small} queries, pinned {ORDER_VIEW_QUERIES[tab]}")


def test_new_document_pages_query_count_does_not_depend_on_item_count(store, operator_client):
    small = factories.make_order(store=store, items=[factories.line(factories.make_product(), 1)])
    big = factories.make_order(store=store, items=[factories.line(factories.make_product(), 1) for _ in range(20)])
    operator_client.get("/")
    measured = {}
    for page in ("invoice/new", "shipment/new"):
        measured[page] = _queries(operator_client, f"/sales/orders/{small.pk}/{page}/")
        assert measured[page] == _queries(operator_client, f"/sales/orders/{big.pk}/{page}/"), page
    assert measured == NEW_DOCUMENT_PAGE_QUERIES, "new-document pages: queries per page (measured == pinned)"
