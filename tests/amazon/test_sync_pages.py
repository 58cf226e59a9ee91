"""Multi-page syncs against the strict sandbox: every page repeats the first page's query plus the token (Amazon's
Pagination rule), in both API versions, over two marketplaces; a window refused mid-way completes on the next pass."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonStore, ApiVersion, SyncRunKind, SyncRunState
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.sync import SAFETY_LAG, sync_store
from saleschannel.catalog.models import Store
from saleschannel.sales.models import Order
from tests.amazon.conftest import TIME_SCALE, connect_store, settle

pytestmark = pytest.mark.django_db
FR, DE = "A13V1IB3VIYZZH", "A1PA6795UKMFR9"
TOKENS = {"paginationToken", "NextToken"}


@pytest.fixture
def eu_store(db, sandbox, catalog):
    """An Amazon store selling on Amazon.fr and Amazon.de into one euro Commerce store."""
    commerce = Store.objects.create(code="eu", name="EU Store", currency="EUR", order_number_prefix="EU")
    return connect_store(sandbox, commerce, name="Sandbox EU", region="EU", marketplace_ids=[FR, DE])


def two_marketplaces(sandbox, fr: int, de: int) -> set[str]:
    ids = sandbox.create_orders(count=fr, seed=21, marketplace="FR", fulfillment="MFN", status="Unshipped")
    ids += sandbox.create_orders(count=de, seed=22, marketplace="DE", fulfillment="MFN", status="Unshipped")
    settle()
    return set(ids)


def search_queries(sandbox, operation: str) -> list[dict[str, list[str]]]:
    requests = sandbox.requests(operation=operation, limit=1000)
    return [parse_qs(r["query"], keep_blank_values=True) for r in requests if r["status"] == 200]


def assert_every_page_repeats_the_first(queries: list[dict[str, list[str]]]) -> None:
    first, *later = queries
    assert not TOKENS & set(first)
    assert later, "the search had one page only"
    for query in later:
        token = TOKENS & set(query)
        assert len(token) == 1, query
        assert {k: v for k, v in query.items() if k not in TOKENS} == first


def assert_imported_once(ids: set[str]) -> None:
    assert set(AmazonOrder.objects.values_list("amazon_order_id", flat=True)) == ids
    numbers = list(Order.objects.filter(origin="amazon").values_list("external_order_number", flat=True))
    assert sorted(numbers) == sorted(ids)


def test_250_orders_over_two_marketplaces_in_pages_of_100(sandbox, eu_store):
    ids = two_marketplaces(sandbox, fr=130, de=120)
    run = sync_store(store=eu_store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert (run.pages, run.orders_seen, run.orders_created) == (3, 250, 250)
    assert_imported_once(ids)
    queries = search_queries(sandbox, "searchOrders")
    assert_every_page_repeats_the_first(queries)
    assert queries[0]["marketplaceIds"] == [f"{FR},{DE}"]  # both marketplaces, and never a library default
    eu_store.refresh_from_db()
    assert eu_store.last_updated_before is not None and eu_store.last_error == ""


def test_pages_of_two(sandbox, eu_store):
    sandbox.configure(rate_limits=False)  # 20 searches in a row; pacing is tested elsewhere
    ids = two_marketplaces(sandbox, fr=21, de=19)
    gateway = Gateway.for_store(eu_store, page_size=2)
    try:
        run = sync_store(store=eu_store, gateway=gateway)
    finally:
        gateway.close()
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert (run.pages, run.orders_created) == (20, 40)
    assert_imported_once(ids)
    queries = search_queries(sandbox, "searchOrders")
    assert len(queries) == 20 and all(q["maxResultsPerPage"] == ["2"] for q in queries)
    assert_every_page_repeats_the_first(queries)


def test_v0_pages_repeat_the_first_query_too(sandbox, eu_store):
    AmazonStore.objects.filter(pk=eu_store.pk).update(api_version=ApiVersion.V0)
    eu_store.refresh_from_db()
    ids = two_marketplaces(sandbox, fr=130, de=120)
    run = sync_store(store=eu_store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert (run.pages, run.orders_created) == (3, 250)
    assert_imported_once(ids)
    queries = search_queries(sandbox, "getOrders")
    assert_every_page_repeats_the_first(queries)
    assert queries[0]["MarketplaceIds"] == [f"{FR},{DE}"]


@pytest.mark.parametrize("version", [ApiVersion.V2026, ApiVersion.V0])
def test_gateway_page_n_is_page_one_plus_the_token(sandbox, eu_store, version):
    sandbox.configure(rate_limits=False)
    two_marketplaces(sandbox, fr=4, de=3)
    AmazonStore.objects.filter(pk=eu_store.pk).update(api_version=version)
    eu_store.refresh_from_db()
    now = timezone.now()
    with Gateway.for_store(eu_store) as gateway:
        page = gateway.search_orders(last_updated_after=now - timedelta(days=1),
                                     last_updated_before=now - SAFETY_LAG / TIME_SCALE, max_results=3)
        seen = len(page.orders)
        while page.next_token:
            page = gateway.next_page(page)
            seen += len(page.orders)
    assert seen == 7
    queries = search_queries(sandbox, "searchOrders" if version == ApiVersion.V2026 else "getOrders")
    assert len(queries) == 3
    assert_every_page_repeats_the_first(queries)


def test_a_backfill_crosses_pages(sandbox, eu_store):
    ids = two_marketplaces(sandbox, fr=80, de=70)
    run = sync_store(store=eu_store, since=timezone.now() - timedelta(days=3), kind=SyncRunKind.BACKFILL)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert (run.kind, run.pages, run.orders_created) == (SyncRunKind.BACKFILL, 2, 150)
    assert_imported_once(ids)
    assert_every_page_repeats_the_first(search_queries(sandbox, "searchOrders"))


def test_a_window_refused_mid_way_completes_on_the_next_pass(sandbox, eu_store):
    ids = two_marketplaces(sandbox, fr=130, de=120)
    # Amazon refuses page 2 (its token has expired; at this time scale a 6-second life is 10 ms): the pass fails
    # with Amazon's message, after starting the window again a few times.
    sandbox.configure(pagination_token_ttl_seconds=6)
    failed = sync_store(store=eu_store)
    assert failed.state == SyncRunState.FAILED
    assert "expired" in failed.error and failed.pages >= 1
    eu_store.refresh_from_db()
    assert eu_store.last_updated_before is None  # the watermark waits for the whole window
    assert "expired" in eu_store.last_error
    assert 100 <= AmazonOrder.objects.count() < 250

    sandbox.configure(pagination_token_ttl_seconds=86_400)
    run = sync_store(store=eu_store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert_imported_once(ids)
    eu_store.refresh_from_db()
    assert eu_store.last_updated_before is not None


def test_a_page_that_fails_mid_way_is_fetched_again_on_the_next_pass(sandbox, eu_store):
    ids = two_marketplaces(sandbox, fr=130, de=120)
    broken = []

    def break_amazon_after_the_first_order(_data):
        if not broken:  # from now on every search fails (page 2 is already being read ahead: page 3 fails)
            sandbox.set_faults({"searchOrders": {"500": 1.0}})
            broken.append(True)

    gateway = Gateway.for_store(eu_store, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    try:
        failed = sync_store(store=eu_store, gateway=gateway, after_order=break_amazon_after_the_first_order)
    finally:
        gateway.close()
    assert failed.state == SyncRunState.FAILED and "HTTP 500" in failed.error
    assert AmazonOrder.objects.count() < 250
    sandbox.set_faults()
    run = sync_store(store=eu_store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    assert_imported_once(ids)
