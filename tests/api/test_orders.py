"""GET /api/v1/orders (the grid's filters, updated_since, cursor pages, constant queries) and GET one order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleschannel.sales.models import Order
from saleschannel.sales.services import invoice_create, order_hold, shipment_create
from tests import factories
from tests.api.conftest import make_amazon_order

ORDERS = "/api/v1/orders"


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["items"]]


def test_list_filters_are_the_grids(operator_api, store, jpy_store, products, amazon_store):
    tshirt = products[0]
    us = factories.make_order(store=store, items=[factories.line(tshirt, 1)], customer_email="ann@example.com")
    jp = factories.make_order(store=jpy_store, items=[factories.line(tshirt, 1, price="2000")])
    held = factories.make_order(store=store, items=[factories.line(tshirt, 1)])
    order_hold(order=held, actor="tests")
    amazon = make_amazon_order(amazon_store).commerce_order

    assert set(numbers(operator_api.get(ORDERS))) == {us.number, jp.number, held.number, amazon.number}
    assert set(numbers(operator_api.get(ORDERS, {"store": [str(jpy_store.pk)]}))) == {jp.number}
    assert set(numbers(operator_api.get(ORDERS, {"status": ["holded"]}))) == {held.number}
    assert set(numbers(operator_api.get(ORDERS, {"state": ["holded", "processing"]}))) == {held.number,
                                                                                          amazon.number}
    assert set(numbers(operator_api.get(ORDERS, {"origin": "amazon"}))) == {amazon.number}
    assert amazon.number not in numbers(operator_api.get(ORDERS, {"origin": "other"}))
    number = amazon.external_order_number
    assert numbers(operator_api.get(ORDERS, {"amazon_order_number": number})) == [amazon.number]
    assert numbers(operator_api.get(ORDERS, {"q": number})) == [amazon.number]
    assert numbers(operator_api.get(ORDERS, {"q": "ann@example.com"})) == [us.number]
    today = timezone.localdate().isoformat()
    assert len(numbers(operator_api.get(ORDERS, {"created_from": today, "created_to": today}))) == 4
    assert numbers(operator_api.get(ORDERS, {"created_to": "2000-01-01"})) == []
    assert set(numbers(operator_api.get(ORDERS, {"total_min": "1000"}))) == {jp.number}


def test_list_rows_carry_items_addresses_and_amazon_data(operator_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    (row,) = operator_api.get(ORDERS).json()["items"]
    assert row["amazon"]["amazon_order_number"] == amazon.amazon_order_id
    assert row["amazon"]["status"] == "Unshipped"
    assert row["shipping_address"]["city"] == "Seattle"
    assert [item["qty_to_ship"] for item in row["items"]] == [2]
    assert row["totals"]["grand_total"] == "20.00"


def test_cursor_pages_walk_every_order_once_in_change_order(operator_api, store, products):
    made = [factories.make_order(store=store, items=[factories.line(products[1], 1)]) for _ in range(7)]
    # Two orders changed at the very same moment: the id breaks the tie.
    same = timezone.now() - dt.timedelta(hours=1)
    Order.objects.filter(pk__in=[made[2].pk, made[5].pk]).update(updated_at=same)
    seen, cursor, pages = [], "", 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        body = operator_api.get(ORDERS, params).json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    expected = list(Order.objects.order_by("updated_at", "id").values_list("pk", flat=True))
    assert seen == expected and len(set(seen)) == 7
    assert seen[:2] == [made[2].pk, made[5].pk]


def test_updated_since_returns_what_changed(operator_api, store, products):
    old = factories.make_order(store=store, items=[factories.line(products[1], 1)])
    changed = factories.make_order(store=store, items=[factories.line(products[1], 1)])
    Order.objects.filter(pk__in=[old.pk, changed.pk]).update(updated_at=timezone.now() - dt.timedelta(days=2))
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert numbers(operator_api.get(ORDERS, {"updated_since": since})) == []
    invoice_create(order=changed, actor="tests")
    assert numbers(operator_api.get(ORDERS, {"updated_since": since})) == [changed.number]
    # The updated_at a client saw is a valid updated_since (the order itself comes back: ">=").
    seen = operator_api.get(ORDERS, {"updated_since": since}).json()["items"][0]["updated_at"]
    assert numbers(operator_api.get(ORDERS, {"updated_since": seen})) == [changed.number]


def _list_queries(client, count: int, store, amazon_store=None) -> int:
    products = [factories.make_product(qty=1000), factories.make_product(qty=1000)]
    for _ in range(count):
        factories.make_order(store=store, items=[factories.line(products[0], 1), factories.line(products[1], 2)],
                             shipping_address=dict(factories.ADDRESS))
    amazon_count = count // 5 if amazon_store is not None else 0
    for _ in range(amazon_count):
        make_amazon_order(amazon_store)
    client.get(ORDERS, {"limit": "200"})  # the token's last use is written once a minute: not in what we count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ORDERS, {"limit": "200"})
    rows = response.json()["items"]
    assert response.status_code == 200 and len(rows) == count + amazon_count
    assert sum(row["amazon"] is not None for row in rows) == amazon_count
    return len(queries)


# The token (with its user), the user's permissions (direct and through the role's group), the grid's statuses and
# stores, then the page: orders (with their store), their items, their addresses; their Amazon orders when some
# came from Amazon.
LIST_QUERIES = 8


@pytest.mark.parametrize("count", [5, 50])
def test_list_query_count_does_not_grow_with_orders(operator_api, store, count):
    assert _list_queries(operator_api, count, store) == LIST_QUERIES


@pytest.mark.parametrize("count", [5, 50])
def test_list_query_count_does_not_grow_with_amazon_orders(operator_api, store, amazon_store, count):
    assert _list_queries(operator_api, count, store, amazon_store) == LIST_QUERIES + 1


def test_a_list_row_is_the_order_as_get_shows_it(operator_api, store, products, amazon_store):
    """The list reads an order's relations in bulk, the order view one by one: both present it the same way."""
    amazon = make_amazon_order(amazon_store).commerce_order
    plain = factories.make_order(store=store, items=[factories.line(products[0], 1), factories.line(products[1], 2)],
                                 shipping_address=dict(factories.ADDRESS))
    rows = {row["id"]: row for row in operator_api.get(ORDERS).json()["items"]}
    for order in (amazon, plain):
        detail = operator_api.get(f"{ORDERS}/{order.pk}").json()
        assert {key: detail[key] for key in rows[order.pk]} == rows[order.pk]
    assert rows[amazon.pk]["amazon"]["amazon_order_number"] and rows[plain.pk]["amazon"] is None
    assert rows[plain.pk]["billing_address"] and rows[plain.pk]["shipping_address"]


def test_times_keep_their_microseconds_and_text_is_utf8(operator_api, store, products):
    order = factories.make_order(store=store, items=[factories.line(products[0], 1)], customer_first_name="Chloé")
    moment = timezone.now().replace(microsecond=123456)
    Order.objects.filter(pk=order.pk).update(updated_at=moment)
    response = operator_api.get(ORDERS)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "Chloé".encode() in response.content
    (row,) = response.json()["items"]
    assert dt.datetime.fromisoformat(row["updated_at"]) == moment
    assert numbers(operator_api.get(ORDERS, {"updated_since": row["updated_at"]})) == [order.number]
    later = (moment + dt.timedelta(microseconds=1)).isoformat()
    assert numbers(operator_api.get(ORDERS, {"updated_since": later})) == []


def test_get_order_with_items_addresses_totals_payment_amazon_history(operator_api, amazon_store, order):
    amazon = make_amazon_order(amazon_store)
    body = operator_api.get(f"{ORDERS}/{amazon.commerce_order_id}").json()
    assert body["amazon"] == {
        "amazon_order_number": amazon.amazon_order_id, "status": "Unshipped", "amazon_status": "Unshipped",
        "fulfillment_channel": "MFN", "marketplace_id": "ATVPDKIKX0DER", "buyer_cancel_requested": False,
        "latest_ship_date": None,
    }
    assert body["state"] == "processing" and body["payment"]["method_code"]
    assert [i["number"] for i in body["invoices"]] == [amazon.commerce_order.invoices.get().number]
    assert body["actions"]["ship"] == {"allowed": True, "reason": ""}
    assert body["actions"]["creditmemo"]["allowed"] is False
    assert "Amazon Order Details" in body["actions"]["creditmemo"]["reason"]

    tshirt = order.items.get(sku="TSHIRT-RED")
    invoice_create(order=order, actor="tests")
    shipment_create(order=order, quantities={tshirt.pk: 1}, tracks=[{"carrier_code": "ups", "number": "1Z9"}],
                    actor="tests")
    body = operator_api.get(f"{ORDERS}/{order.pk}").json()
    assert body["amazon"] is None
    assert body["totals"]["grand_total"] == "71.68" and body["totals"]["total_paid"] == "71.68"
    assert body["billing_address"]["first_name"] == "Zoë"
    assert {i["sku"]: i["qty_shipped"] for i in body["items"]} == {"TSHIRT-RED": 1, "MUG-BLUE": 0}
    assert body["shipments"][0]["tracks"] == [{"carrier_code": "ups", "title": "UPS", "number": "1Z9"}]
    assert any("Shipment #" in line["comment"] for line in body["history"])
    assert body["payment"]["method_title"]
