"""GET /api/v1/stores and /stores/{id}: Commerce stores with their Amazon stores and sync health, never
credentials."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.amazon.models import (
    AmazonOrderEvent,
    AmazonStore,
    EventLevel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    SyncRun,
    SyncRunState,
)
from tests import factories
from tests.api.conftest import api_client_for, make_amazon_order

STORES = "/api/v1/stores"
SECRETS = ("client-id-value", "client-secret-value", "refresh-token-value")


@pytest.fixture
def connected_store(amazon_store):
    amazon_store.set_credentials(client_id=SECRETS[0], client_secret=SECRETS[1], refresh_token=SECRETS[2])
    amazon_store.save()
    return amazon_store


def test_list_gives_commerce_stores_with_their_amazon_stores_and_health(viewer_api, store, jpy_store,
                                                                         connected_store):
    now = timezone.now()
    AmazonStore.objects.filter(pk=connected_store.pk).update(
        last_successful_sync_at=now - dt.timedelta(minutes=10), last_updated_before=now - dt.timedelta(minutes=12),
        sync_failures_in_row=2, sync_failing_since=now - dt.timedelta(minutes=5), last_error="Amazon said no.",
        last_error_at=now - dt.timedelta(minutes=1))
    failed = make_amazon_order(connected_store, status="Error", invoiced=False)
    ok = make_amazon_order(connected_store, invoiced=False)
    for state, key in ((OutboxState.QUEUED, "a"), (OutboxState.FAILED, "b"), (OutboxState.DEAD, "c"),
                       (OutboxState.ACCEPTED, "d")):
        OutboxMessage.objects.create(amazon_order=ok, kind=OutboxKind.SHIPMENT, state=state, idempotency_key=key)
    SyncRun.objects.create(store=connected_store, state=SyncRunState.FAILED, started_at=now)
    SyncRun.objects.create(store=connected_store, state=SyncRunState.FAILED, started_at=now - dt.timedelta(days=2))
    AmazonOrderEvent.objects.create(order=failed, level=EventLevel.ERROR, kind="error", message="Bad SKU")

    response = viewer_api.get(STORES)
    assert response.status_code == 200, response.content
    rows = response.json()["items"]
    assert [row["id"] for row in rows] == [store.pk, jpy_store.pk]
    assert rows[1]["amazon_stores"] == [] and rows[1]["currency"] == "JPY"
    (amazon,) = rows[0]["amazon_stores"]
    assert amazon["name"] == "Seller API" and amazon["marketplace_ids"] == ["ATVPDKIKX0DER"]
    assert amazon["import_enabled"] is True and amazon["region"] == "NA"
    health = amazon["health"]
    assert health["orders_in_error"] == 1
    assert health["queued_outbound"] == 2 and health["dead_outbound"] == 1
    assert health["errors_24h"] == 2  # one failed sync today (not the older one), one order error
    assert health["failures_in_row"] == 2 and health["failing_since"] is not None
    assert health["last_error"] == "Amazon said no."
    assert 11 * 60 <= health["lag_seconds"] <= 13 * 60
    text = response.content.decode()
    assert not any(secret in text for secret in SECRETS)
    assert "encrypted" not in text and "refresh" not in text


def test_get_one_store(viewer_api, store, connected_store):
    body = viewer_api.get(f"{STORES}/{store.pk}").json()
    assert body["code"] == store.code and body["order_number_prefix"] == store.order_number_prefix
    assert [a["id"] for a in body["amazon_stores"]] == [connected_store.pk]
    assert body["amazon_stores"][0]["health"]["orders_in_error"] == 0
    assert body["amazon_stores"][0]["health"]["lag_seconds"] is None  # never synced


@pytest.mark.parametrize("raw", ["999999", "abc", "0", "1" * 30])
def test_unknown_store_is_404(viewer_api, store, raw):
    response = viewer_api.get(f"{STORES}/{raw}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_amazon_stores_need_their_own_view_permission(store, amazon_store):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="storesonly", password="x-Pass-12345")
    user.user_permissions.add(Permission.objects.get(codename="view_store", content_type__app_label="catalog"))
    body = api_client_for(user).get(STORES).json()
    assert body["items"][0]["amazon_stores"] == []


# The token (with its user), the user's permissions (direct and through the role's group), then the Commerce
# stores and their Amazon stores (with every health figure as a subquery).
LIST_QUERIES = 5


@pytest.mark.parametrize("count", [1, 6])
def test_list_query_count_does_not_grow_with_stores(viewer_api, count):
    for index in range(count):
        commerce = factories.make_store()
        amazon = AmazonStore.objects.create(name=f"Seller {index}", seller_id="A1", store=commerce)
        make_amazon_order(amazon, status="Error", invoiced=False)
    viewer_api.get(STORES)  # the token's last use is written once a minute: not in what we count
    with CaptureQueriesContext(connection) as queries:
        response = viewer_api.get(STORES)
    assert len(response.json()["items"]) == count
    assert len(queries) == LIST_QUERIES
    assert not any("encrypted" in query["sql"] for query in queries.captured_queries)  # credentials never read
