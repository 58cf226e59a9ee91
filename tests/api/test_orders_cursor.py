"""GET /api/v1/orders with a cursor: the same queries as the first page, ties on updated_at across page
boundaries, and a page deep in the set read from the cursor onwards (bench/api_list.py, docs/performance.md)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.sales.models import Order
from tests import factories
from tests.api.test_orders import LIST_QUERIES, ORDERS


def _walk(client, limit: int, **params) -> tuple[list[int], int]:
    seen, cursor, pages = [], "", 0
    while True:
        body = client.get(ORDERS, {"limit": str(limit), **params, **({"cursor": cursor} if cursor else {})}).json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_orders_changed_at_one_moment_are_each_listed_once_across_pages(operator_api, store, products):
    made = [factories.make_order(store=store, items=[factories.line(products[1], 1)]) for _ in range(6)]
    same = timezone.now().replace(microsecond=0)
    Order.objects.filter(pk__in=[order.pk for order in made[1:5]]).update(updated_at=same)
    expected = list(Order.objects.order_by("updated_at", "id").values_list("pk", flat=True))
    for limit in (1, 2, 3):
        seen, _pages = _walk(operator_api, limit)
        assert seen == expected, limit
    seen, _pages = _walk(operator_api, 1, state="processing")
    assert seen == list(Order.objects.filter(state="processing").order_by("updated_at", "id")
                        .values_list("pk", flat=True))


@pytest.mark.parametrize("count", [5, 50])
def test_a_cursor_page_costs_the_queries_of_the_first(operator_api, store, count):
    products = [factories.make_product(qty=1000), factories.make_product(qty=1000)]
    for _ in range(count + 3):
        factories.make_order(store=store, items=[factories.line(products[0], 1), factories.line(products[1], 2)],
                             shipping_address=dict(factories.ADDRESS))
    first = operator_api.get(ORDERS, {"limit": "3"}).json()  # also writes the token's last use (once a minute)
    with CaptureQueriesContext(connection) as queries:
        response = operator_api.get(ORDERS, {"limit": str(count), "cursor": first["next_cursor"]})
    assert response.status_code == 200 and len(response.json()["items"]) == count
    assert len(queries) == LIST_QUERIES


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_a_cursor_page_seeks_the_index_instead_of_reading_it_from_the_start(operator_api, store, products):
    """With ``updated_at > m OR (updated_at = m AND id > p)`` alone the database reads the (updated_at, id) index
    from its start up to the cursor: 0.3-1 s for a page deep in a million orders."""
    for _ in range(3):
        factories.make_order(store=store, items=[factories.line(products[1], 1)])
    first = operator_api.get(ORDERS, {"limit": "1"}).json()
    with CaptureQueriesContext(connection) as queries:
        operator_api.get(ORDERS, {"limit": "1", "cursor": first["next_cursor"]})
    (page,) = [query["sql"] for query in queries if query["sql"].startswith('SELECT "sales_order"."id"')]
    with connection.cursor() as cursor:
        plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {page}").fetchall())
    assert "USING INDEX order_updated_id (updated_at>?)" in plan, plan
