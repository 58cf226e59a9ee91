"""The import's cost in SQL statements: a page of new orders costs a fixed number of statements (DESIGN.md §6).

Counting statements is deterministic where timing is not: the benchmark (``bench/amazon_backfill.py``) measures the
speed; this test keeps a change from quietly adding per-order queries back. New orders are written a page at a
time: the page's reads (existing rows, products, statuses), the numbers for the whole page, then one ``INSERT`` per
table and one conditional stock ``UPDATE``, whatever the number of orders (a big page only adds the extra
``INSERT`` statements SQLite's limit of 999 values per statement calls for). It was 37 statements per order, then 27.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.sync import SAFETY_LAG, import_orders
from saleschannel.sales.models import Invoice, Order, OrderHistory, OrderState
from tests.amazon.conftest import TIME_SCALE, settle

pytestmark = pytest.mark.django_db

PER_PAGE = 33  # 31 for 5 orders on SQLite; PostgreSQL adds the products' row lock
CHUNKS = 6  # extra INSERT statements 25 orders may need over 5 (SQLite's 999 values per statement)
# Pinned statements of the test's two pages, per database: the first (5 orders) also creates the store's order and
# invoice number sequences (6 statements), the second (25 orders) needs 3 more INSERTs on SQLite (999 values per
# statement); PostgreSQL locks the products' rows (one more statement) and needs no extra chunk. One statement per page
# reads the active webhook endpoints (the deliveries are written in the same transaction as the orders).
PAGE_STATEMENTS = {"sqlite": {5: 31, 25: 28}, "postgresql": {5: 32, 25: 26}}


def fetch_page(store) -> list:
    gateway = Gateway.for_store(store)
    try:
        now = timezone.now()
        return gateway.search_orders(last_updated_after=now - timedelta(days=1),
                                     last_updated_before=now - SAFETY_LAG / TIME_SCALE).orders
    finally:
        gateway.close()


def imported_with_statements(store, count: int, ids: list[str] | None = None) -> int:
    orders = [o for o in fetch_page(store) if ids is None or o.amazon_order_id in ids]
    assert len(orders) == count
    with CaptureQueriesContext(connection) as queries:
        counts = import_orders(store=store, orders=orders)
    assert counts.created == count, counts
    return len(queries.captured_queries)


def test_a_page_of_new_orders_costs_the_same_statements_whatever_its_size(amazon_store, sandbox):
    statements = {}
    for count in (5, 25):
        ids = sandbox.create_orders(count=count, marketplace="US", fulfillment="MFN", status="Unshipped", lines=3)
        settle()
        statements[count] = imported_with_statements(amazon_store, count, ids)
    assert statements[5] <= PER_PAGE, statements
    assert statements[25] - statements[5] <= CHUNKS, statements
    assert statements == PAGE_STATEMENTS[connection.vendor], (
        "import_orders: statements per page size (measured == pinned)")
    # What the statements wrote is the whole import: order, invoice, history and the link back to Amazon.
    assert Order.objects.filter(origin="amazon", state=OrderState.PROCESSING).count() == 30
    assert Invoice.objects.filter(order__origin="amazon").count() == 30
    assert OrderHistory.objects.filter(order__origin="amazon").count() == 2 * 30
    assert AmazonOrder.objects.filter(commerce_order__isnull=False, status=AmazonOrderStatus.UNSHIPPED).count() == 30


def test_a_bad_order_in_the_page_costs_no_more_and_blocks_nothing(amazon_store, sandbox):
    sandbox.create_orders(count=9, marketplace="US", fulfillment="MFN", status="Unshipped", lines=3)
    sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                          items=[{"sku": "NOT-IN-CATALOG", "qty": 1}])
    settle()
    orders = fetch_page(amazon_store)
    with CaptureQueriesContext(connection) as queries:
        counts = import_orders(store=amazon_store, orders=orders)
    assert (counts.created, counts.failed) == (9, 1)
    assert len(queries.captured_queries) <= PER_PAGE + CHUNKS
    bad = AmazonOrder.objects.get(commerce_order__isnull=True)
    assert bad.status == AmazonOrderStatus.ERROR
    assert bad.notes.startswith("Cannot create sales order:")
