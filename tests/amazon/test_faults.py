"""A backfill of 1,000 orders while the sandbox throws 429s, 500s and timeouts imports every order exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, SyncRunKind, SyncRunState
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product
from saleschannel.sales.models import Order
from tests.amazon.conftest import settle

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_backfill_of_1000_orders_under_faults_imports_each_once(amazon_store, sandbox):
    Product.objects.update(qty=100_000)
    ids = sandbox.create_orders(count=1000, marketplace="US", fulfillment="MFN", status="Unshipped", seed=42,
                                created_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat())
    settle()
    sandbox.set_faults({"*": {"429": 0.10, "500": 0.05, "timeout": 0.03}}, timeout_seconds=1.0, seed=3)
    gateway = Gateway.for_store(amazon_store, timeout=0.5,
                                retry=RetryPolicy(max_attempts=10, base_delay=0.02, max_delay=0.5))
    run = sync_store(store=amazon_store, gateway=gateway, kind=SyncRunKind.BACKFILL,
                     since=datetime.now(UTC) - timedelta(days=1))
    assert run.state == SyncRunState.SUCCEEDED, run.error
    requests = sandbox.requests(operation="searchOrders", limit=1000)
    faults = [r["fault"] for r in requests if r["fault"]]
    assert faults, "the sandbox injected no fault: the test proves nothing"
    assert run.pages == 10 and run.api_calls == len(requests) > 10
    numbers = list(Order.objects.filter(origin="amazon").values_list("external_order_number", flat=True))
    assert len(numbers) == 1000 and set(numbers) == set(ids)
    assert AmazonOrder.objects.filter(status=AmazonOrderStatus.UNSHIPPED, commerce_order__isnull=False).count() == 1000
    # Every Commerce total equals Amazon's.
    mismatched = [o for o in AmazonOrder.objects.select_related("commerce_order")
                  if o.commerce_order.grand_total != o.order_total]
    assert not mismatched
