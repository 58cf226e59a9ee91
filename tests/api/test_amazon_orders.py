"""GET /api/v1/amazon/orders (store, status, updated_after, cursor pages, constant queries), one Amazon order, and
GET /api/v1/amazon/outbox."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonStore, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.privacy import redact_order
from tests.api.conftest import make_amazon_order

ORDERS = "/api/v1/amazon/orders"
OUTBOX = "/api/v1/amazon/outbox"
_keys = itertools.count(1)


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["amazon_order_number"] for row in response.json()["items"]]


def message(amazon: AmazonOrder, *, state=OutboxState.QUEUED, kind=OutboxKind.SHIPMENT) -> OutboxMessage:
    return OutboxMessage.objects.create(amazon_order=amazon, kind=kind, state=state,
                                        idempotency_key=f"api-test-{next(_keys)}")


@pytest.fixture
def other_amazon_store(store):
    return AmazonStore.objects.create(name="Seller API EU", seller_id="A2API", marketplace_ids=["A1PA6795UKMFR9"],
                                      region="EU", store=store)


def walk(client, path: str, params: dict) -> tuple[list, int]:
    """Every row of a list, following the cursor; and the number of pages."""
    seen, cursor, pages = [], "", 0
    while True:
        body = client.get(path, {**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


# --- Amazon orders -------------------------------------------------------------------------------------------


def test_list_filters_by_store_status_and_updated_after(viewer_api, amazon_store, other_amazon_store):
    unshipped = make_amazon_order(amazon_store)
    shipped = make_amazon_order(amazon_store, status="Shipped")
    eu = make_amazon_order(other_amazon_store)
    assert set(numbers(viewer_api.get(ORDERS))) == {unshipped.amazon_order_id, shipped.amazon_order_id,
                                                    eu.amazon_order_id}
    assert numbers(viewer_api.get(ORDERS, {"store": [str(other_amazon_store.pk)]})) == [eu.amazon_order_id]
    assert set(numbers(viewer_api.get(ORDERS, {"store": [str(amazon_store.pk), str(other_amazon_store.pk)]}))) \
        == {unshipped.amazon_order_id, shipped.amazon_order_id, eu.amazon_order_id}
    assert numbers(viewer_api.get(ORDERS, {"status": ["Shipped"]})) == [shipped.amazon_order_id]
    assert set(numbers(viewer_api.get(ORDERS, {"status": ["Shipped", "Unshipped"], "store": [
        str(amazon_store.pk)]}))) == {unshipped.amazon_order_id, shipped.amazon_order_id}

    AmazonOrder.objects.filter(pk__in=[unshipped.pk, eu.pk]).update(
        updated_at=timezone.now() - dt.timedelta(days=2))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert numbers(viewer_api.get(ORDERS, {"updated_after": since})) == [shipped.amazon_order_id]
    # The updated_at a client saw is a valid updated_after (the order itself comes back: ">=").
    seen = viewer_api.get(ORDERS, {"updated_after": since}).json()["items"][0]["updated_at"]
    assert numbers(viewer_api.get(ORDERS, {"updated_after": seen})) == [shipped.amazon_order_id]


def test_list_rows_carry_items_the_commerce_order_and_personal_data(viewer_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    (row,) = viewer_api.get(ORDERS).json()["items"]
    assert row["commerce_order"] == {"id": amazon.commerce_order_id, "number": amazon.commerce_order.number}
    assert row["store"] == {"id": amazon_store.pk, "name": "Seller API"}
    assert row["status"] == row["amazon_status"] == "Unshipped"
    assert row["order_total"] == "20.00" and row["currency"] == "USD"
    assert [(i["seller_sku"], i["qty_ordered"], i["item_price"]) for i in row["items"]] == [
        (amazon.items.get().seller_sku, 2, "20.00")]
    assert row["buyer"]["name"] == "John Smith"
    assert row["shipping_address"]["line1"] == "123 Main Street"
    assert row["personal_data_redacted_at"] is None
    assert "raw" not in row


@pytest.mark.parametrize("bad", [
    {"status": "Lost"}, {"store": "abc"}, {"store": "0"}, {"updated_after": "yesterday"}, {"cursor": "nope"},
    {"limit": "0"}, {"limit": "201"},
])
def test_bad_parameters_are_400(viewer_api, amazon_store, bad):
    make_amazon_order(amazon_store)
    response = viewer_api.get(ORDERS, bad)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["field"] == next(iter(bad))


def test_cursor_pages_walk_every_order_once_in_change_order(viewer_api, amazon_store):
    made = [make_amazon_order(amazon_store, invoiced=False) for _ in range(7)]
    same = timezone.now() - dt.timedelta(hours=1)  # two orders changed at the same moment: the id breaks the tie
    AmazonOrder.objects.filter(pk__in=[made[2].pk, made[5].pk]).update(updated_at=same)
    seen, pages = walk(viewer_api, ORDERS, {"limit": "3"})
    assert pages == 3
    expected = list(AmazonOrder.objects.order_by("updated_at", "id").values_list("amazon_order_id", flat=True))
    assert [row["amazon_order_number"] for row in seen] == expected and len(set(expected)) == 7
    assert expected[:2] == [made[2].amazon_order_id, made[5].amazon_order_id]


def _count_queries(client, path: str, params: dict, expected_rows: int) -> int:
    client.get(path, params)  # the token's last use is written once a minute: not in what we count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200 and len(response.json()["items"]) == expected_rows
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "encrypted" not in sql and '"raw"' not in sql  # neither credentials nor Amazon's raw copy are read
    return len(queries)


# The token (with its user), the user's permissions (direct and through the role's group), then the page: the
# orders (with their store and Commerce order number), their items.
LIST_QUERIES = 5


@pytest.mark.parametrize("count", [2, 12])
def test_list_query_count_does_not_grow_with_orders(viewer_api, amazon_store, count):
    for _ in range(count):
        amazon = make_amazon_order(amazon_store, invoiced=False)
        message(amazon)
    assert _count_queries(viewer_api, ORDERS, {"limit": "200"}, count) == LIST_QUERIES


def test_get_one_with_items_commerce_order_and_outbox(viewer_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    first = message(amazon, state=OutboxState.ACCEPTED)
    second = message(amazon, state=OutboxState.DEAD, kind=OutboxKind.REFUND)
    response = viewer_api.get(f"{ORDERS}/{amazon.amazon_order_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["amazon_order_number"] == amazon.amazon_order_id
    assert body["status"] == "Unshipped"
    assert body["commerce_order"]["number"] == amazon.commerce_order.number
    assert [item["title"] for item in body["items"]] == ["Thing"]
    assert body["outbox"]["counts"] == {"accepted": 1, "dead": 1}
    assert [m["id"] for m in body["outbox"]["messages"]] == [second.pk, first.pk]  # newest first
    assert body["outbox"]["messages"][0]["kind"] == "refund"
    assert body["outbox"]["messages"][0]["amazon_order_number"] == amazon.amazon_order_id
    assert body["shipping_address"]["city"] == "Seattle"


def test_a_redacted_order_shows_no_personal_data(viewer_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    redact_order(amazon)
    body = viewer_api.get(f"{ORDERS}/{amazon.amazon_order_id}").json()
    assert body["buyer"] is None and body["shipping_address"] is None
    assert body["personal_data_redacted_at"] is not None
    (row,) = viewer_api.get(ORDERS).json()["items"]
    assert row["buyer"] is None and row["shipping_address"] is None
    assert "[redacted]" not in str(body) + str(row)
    # Amounts, SKUs and statuses stay.
    assert row["order_total"] == "20.00" and row["items"][0]["seller_sku"]


@pytest.mark.parametrize("number", ["111-0000000-0000000", "x" * 33, "%00", "1"])
def test_unknown_amazon_order_is_404(viewer_api, amazon_store, number):
    make_amazon_order(amazon_store)
    response = viewer_api.get(f"{ORDERS}/{number}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Outbox --------------------------------------------------------------------------------------------------


def test_outbox_filters_by_state_and_store(viewer_api, amazon_store, other_amazon_store):
    us, eu = make_amazon_order(amazon_store), make_amazon_order(other_amazon_store)
    queued, dead, eu_dead = message(us), message(us, state=OutboxState.DEAD), message(eu, state=OutboxState.DEAD)

    def ids(params=None):
        response = viewer_api.get(OUTBOX, params or {})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["items"]]

    assert ids() == [queued.pk, dead.pk, eu_dead.pk]
    assert ids({"state": ["dead"]}) == [dead.pk, eu_dead.pk]
    assert ids({"state": ["dead", "queued"], "store": str(amazon_store.pk)}) == [queued.pk, dead.pk]
    assert ids({"store": str(other_amazon_store.pk)}) == [eu_dead.pk]
    assert ids({"store": "999999"}) == []
    row = viewer_api.get(OUTBOX, {"state": ["queued"]}).json()["items"][0]
    assert row["amazon_order_number"] == us.amazon_order_id and row["store_id"] == amazon_store.pk
    assert row["kind"] == "shipment" and row["state"] == "queued" and row["attempts"] == 0
    assert "payload" not in row


@pytest.mark.parametrize("bad", [{"state": "lost"}, {"store": "x"}, {"cursor": "!!"}])
def test_outbox_bad_parameters_are_400(viewer_api, bad):
    response = viewer_api.get(OUTBOX, bad)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == next(iter(bad))


def test_outbox_cursor_pages(viewer_api, amazon_store):
    amazon = make_amazon_order(amazon_store, invoiced=False)
    made = [message(amazon).pk for _ in range(5)]
    seen, pages = walk(viewer_api, OUTBOX, {"limit": "2"})
    assert [row["id"] for row in seen] == made and pages == 3


# The token (with its user), the user's permissions (direct and through the role's group), then the page: the
# messages with their Amazon order and its store.
OUTBOX_QUERIES = 4


@pytest.mark.parametrize("count", [2, 12])
def test_outbox_query_count_does_not_grow_with_messages(viewer_api, amazon_store, count):
    for _ in range(count):
        message(make_amazon_order(amazon_store, invoiced=False))
    assert _count_queries(viewer_api, OUTBOX, {"limit": "200"}, count) == OUTBOX_QUERIES
