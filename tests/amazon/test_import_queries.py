"""The import's cost in SQL statements: bounded per imported order, whatever the page size (DESIGN.md §6).

Counting statements is deterministic where timing is not: the benchmark (``bench/amazon_backfill.py``) measures the
speed; this test keeps a change from quietly adding per-order queries back (the import was about 40 statements per
order before the order core learnt to invoice on creation without re-reading what it had just written).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.amazon.gateway import Gateway
from saleschannel.amazon.importer import SAFETY_LAG, import_orders
from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.sales.models import Invoice, Order, OrderHistory, OrderState
from tests.amazon.conftest import TIME_SCALE, settle

pytestmark = pytest.mark.django_db

# Statements for one imported order (3 lines, invoice on import), savepoints included: the mirror (insert, items,
# link, update, event) and the Commerce order (number, order, items, addresses, payment, invoice number, invoice,
# invoice items, stock reservation, history; PostgreSQL adds the products' row lock). A page adds a few statements
# of its own (existing rows, products).
# The same page cost 37 statements per order before (bench/amazon_backfill.py --queries lists them).
PER_ORDER = 27
PER_PAGE = 10


def fetch_page(store) -> list:
    gateway = Gateway.for_store(store)
    try:
        now = timezone.now()
        return gateway.search_orders(last_updated_after=now - timedelta(days=1),
                                     last_updated_before=now - SAFETY_LAG / TIME_SCALE).orders
    finally:
        gateway.close()


def imported_with_statements(store, count: int) -> int:
    orders = fetch_page(store)
    assert len(orders) == count
    with CaptureQueriesContext(connection) as queries:
        counts = import_orders(store=store, orders=orders)
    assert counts.created == count, counts
    return len(queries.captured_queries)


@pytest.mark.parametrize("count", [5, 25])
def test_statements_per_imported_order_are_bounded(amazon_store, sandbox, count):
    sandbox.create_orders(count=count, marketplace="US", fulfillment="MFN", status="Unshipped", lines=3)
    settle()
    statements = imported_with_statements(amazon_store, count)
    assert statements <= PER_PAGE + PER_ORDER * count, f"{statements} statements for {count} orders"
    # What the statements wrote is the whole import: order, invoice, history and the link back to Amazon.
    assert Order.objects.filter(origin="amazon", state=OrderState.PROCESSING).count() == count
    assert Invoice.objects.filter(order__origin="amazon").count() == count
    assert OrderHistory.objects.filter(order__origin="amazon").count() == 2 * count
    assert AmazonOrder.objects.filter(commerce_order__isnull=False, status=AmazonOrderStatus.UNSHIPPED).count() == count


def test_a_bad_order_in_the_page_costs_no_more_and_blocks_nothing(amazon_store, sandbox):
    sandbox.create_orders(count=9, marketplace="US", fulfillment="MFN", status="Unshipped", lines=3)
    sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                          items=[{"sku": "NOT-IN-CATALOG", "qty": 1}])
    settle()
    orders = fetch_page(amazon_store)
    with CaptureQueriesContext(connection) as queries:
        counts = import_orders(store=amazon_store, orders=orders)
    assert (counts.created, counts.failed) == (9, 1)
    assert len(queries.captured_queries) <= PER_PAGE + PER_ORDER * 10
    bad = AmazonOrder.objects.get(commerce_order__isnull=True)
    assert bad.status == AmazonOrderStatus.ERROR
    assert bad.notes.startswith("Cannot create sales order:")
