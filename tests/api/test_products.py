"""GET /api/v1/products (sku filter, cursor pages, constant queries), GET one by SKU, and PATCH /products/stock
(bulk, all or nothing, every bad line reported, through the catalog services, idempotent)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleschannel.api.models import IdempotencyKey
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.catalog.services import stock_reserve
from tests import factories

PRODUCTS = "/api/v1/products"
STOCK = "/api/v1/products/stock"


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["items"]]


def stock() -> dict[str, int]:
    return dict(Product.objects.values_list("sku", "qty"))


# --- Reading -------------------------------------------------------------------------------------------------


def test_list_and_filter_by_sku(viewer_api, products):
    assert skus(viewer_api.get(PRODUCTS)) == ["TSHIRT-RED", "MUG-BLUE", "CAP-GREEN"]  # by id
    assert skus(viewer_api.get(PRODUCTS, {"sku": ["CAP-GREEN", "TSHIRT-RED"]})) == ["TSHIRT-RED", "CAP-GREEN"]
    assert skus(viewer_api.get(PRODUCTS, {"sku": ["cap-green"]})) == []  # exact
    row = viewer_api.get(PRODUCTS, {"sku": ["MUG-BLUE"]}).json()["items"][0]
    assert row["price"] == "8.50" and row["qty"] == 20 and row["salable_qty"] == 20 and row["manage_stock"]


@pytest.mark.parametrize("bad", [{"cursor": "zz"}, {"limit": "0"}, {"sku": "A\x00"}, {"sku": "x" * 65}])
def test_list_bad_parameters_are_400(viewer_api, products, bad):
    response = viewer_api.get(PRODUCTS, bad)
    assert response.status_code == 400, response.content
    assert response.json()["field"].split(".")[0] == next(iter(bad))


def test_cursor_pages(viewer_api):
    made = [factories.make_product().sku for _ in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        body = viewer_api.get(PRODUCTS, {"limit": "2", **({"cursor": cursor} if cursor else {})}).json()
        seen += [row["sku"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3


# The token (with its user), the user's permissions (direct and through the role's group), then the page.
LIST_QUERIES = 4


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_does_not_grow_with_products(viewer_api, count):
    for _ in range(count):
        factories.make_product()
    viewer_api.get(PRODUCTS)  # the token's last use is written once a minute: not in what we count
    with CaptureQueriesContext(connection) as queries:
        response = viewer_api.get(PRODUCTS, {"limit": "200"})
    assert len(response.json()["items"]) == count
    assert len(queries) == LIST_QUERIES


def test_get_one_by_sku(viewer_api, products, order):
    body = viewer_api.get(f"{PRODUCTS}/MUG-BLUE").json()
    assert body["sku"] == "MUG-BLUE" and body["qty_reserved"] == 3 and body["salable_qty"] == 17


@pytest.mark.parametrize("sku", ["BOX/12", "stock", "SAC À DOS", "stock/x"])
def test_get_any_sku_url_encoded(viewer_api, sku):
    factories.make_product(sku=sku)
    response = viewer_api.get(f"{PRODUCTS}/{quote(sku)}")
    assert response.status_code == 200, response.content
    assert response.json()["sku"] == sku


@pytest.mark.parametrize("sku", ["NOPE", "mug-blue", "x" * 65, "%00"])
def test_unknown_product_is_404(viewer_api, products, sku):
    response = viewer_api.get(f"{PRODUCTS}/{sku}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- Setting stock -------------------------------------------------------------------------------------------


def test_bulk_stock_update_sets_every_line_and_logs_it(operator_api, operator, products):
    response = operator_api.patch(STOCK, {"lines": [{"sku": "CAP-GREEN", "quantity": 0},
                                                    {"sku": "TSHIRT-RED", "quantity": 75}]})
    assert response.status_code == 200, response.content
    assert [(row["sku"], row["qty"]) for row in response.json()["items"]] == [("CAP-GREEN", 0), ("TSHIRT-RED", 75)]
    assert stock() == {"TSHIRT-RED": 75, "MUG-BLUE": 20, "CAP-GREEN": 0}
    changes = ProductChange.objects.filter(action=ProductChange.Action.STOCK).order_by("product__sku")
    assert [(c.product.sku, c.actor, c.changes) for c in changes] == [
        ("CAP-GREEN", operator.username, {"qty": ["10", "0"]}),
        ("TSHIRT-RED", operator.username, {"qty": ["50", "75"]}),
    ]


def test_a_bad_line_refuses_the_whole_update_and_names_every_bad_line(operator_api, products, order):
    before, logged = stock(), ProductChange.objects.count()
    lines = [{"sku": "TSHIRT-RED", "quantity": 60},  # fine
             {"sku": "MUG-BLUE", "quantity": 1},  # 3 reserved by the order
             {"sku": "NOPE", "quantity": 1},  # unknown
             {"sku": "CAP-GREEN", "quantity": 5}]  # fine
    response = operator_api.patch(STOCK, {"lines": lines})
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid" and problem["field"] == "lines.1.quantity"
    assert [error["field"] for error in problem["errors"]] == ["lines.1.quantity", "lines.2.sku"]
    assert "NOPE" in problem["errors"][1]["message"]
    assert stock() == before and ProductChange.objects.count() == logged

    lines[2] = {"sku": "TSHIRT-RED", "quantity": 3}  # twice
    problem = operator_api.patch(STOCK, {"lines": lines}).json()
    assert [error["field"] for error in problem["errors"]] == ["lines.1.quantity", "lines.2.sku"]
    assert "lines.0" in problem["errors"][1]["message"]
    assert stock() == before and ProductChange.objects.count() == logged

    lines[2] = {"sku": "CAP-GREEN", "quantity": 3}
    lines[3] = {"sku": "BOX", "quantity": 1}
    stock_reserve(product=factories.make_product(sku="BOX", qty=4), qty=2, reference="tests:box")
    response = operator_api.patch(STOCK, {"lines": lines})
    assert response.status_code == 422
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["lines.1.quantity", "lines.3.quantity"]
    assert "reserved" in problem["errors"][0]["message"]
    assert problem["field"] == "lines.1.quantity" and problem["detail"].startswith("lines.1.quantity: ")
    assert stock() == {**before, "BOX": 4} and ProductChange.objects.count() == logged

    lines[3] = {"sku": "BOX", "quantity": -5}  # against the schema: refused before any service runs
    problem = operator_api.patch(STOCK, {"lines": lines}).json()
    assert [error["field"] for error in problem["errors"]] == ["lines.3.quantity"]


@pytest.mark.parametrize(("body", "field"), [
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "MUG-BLUE", "quantity": i} for i in range(1001)]}, "lines"),
    ({"lines": [{"sku": "MUG-BLUE", "quantity": "5"}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "MUG-BLUE", "quantity": 1.5}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "MUG-BLUE", "quantity": True}]}, "lines.0.quantity"),
    ({"lines": [{"sku": "", "quantity": 1}]}, "lines.0.sku"),
    ({"lines": [{"sku": "MUG\x00", "quantity": 1}]}, "lines.0.sku"),
    ({"lines": [{"quantity": 1}]}, "lines.0.sku"),
    ({}, "lines"),
])
def test_bodies_that_do_not_validate_are_422_and_change_nothing(operator_api, products, body, field):
    before = stock()
    response = operator_api.patch(STOCK, body)
    assert response.status_code == 422, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
    assert stock() == before


@pytest.mark.parametrize("raw", ["[]", "not json", '[{"sku": "MUG-BLUE", "quantity": 1}]'])
def test_a_body_that_is_not_a_json_object_is_400(operator_api, products, raw):
    assert operator_api.patch(STOCK, raw=raw).status_code == 400
    assert stock()["MUG-BLUE"] == 20


@pytest.mark.parametrize("quantity", [10**30, 1_000_000_000, -1])
def test_quantities_out_of_range_are_refused(operator_api, products, quantity):
    response = operator_api.patch(STOCK, {"lines": [{"sku": "MUG-BLUE", "quantity": quantity}]})
    assert response.status_code == 422
    assert response.json()["field"] == "lines.0.quantity"
    assert stock()["MUG-BLUE"] == 20


def test_a_thousand_lines_at_once(operator_api):
    made = [Product(sku=f"BULK-{i:04d}", name="Bulk", price="1.00", qty=1) for i in range(1000)]
    Product.objects.bulk_create(made)
    response = operator_api.patch(STOCK, {"lines": [{"sku": p.sku, "quantity": 7} for p in made]})
    assert response.status_code == 200, response.content[:500]
    assert len(response.json()["items"]) == 1000
    assert set(Product.objects.filter(sku__startswith="BULK-").values_list("qty", flat=True)) == {7}


def test_the_same_idempotency_key_replays_the_first_answer(operator_api, products):
    body = {"lines": [{"sku": "MUG-BLUE", "quantity": 30}]}
    first = operator_api.patch(STOCK, body, key="stock-1")
    assert first.status_code == 200
    stock_reserve(product=Product.objects.get(sku="MUG-BLUE"), qty=1, reference="tests:1")
    Product.objects.filter(sku="MUG-BLUE").update(qty=25)  # changed since: a replay must not set it back
    again = operator_api.patch(STOCK, json.loads(json.dumps(body)), key="stock-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert stock()["MUG-BLUE"] == 25
    other = operator_api.patch(STOCK, {"lines": [{"sku": "MUG-BLUE", "quantity": 31}]}, key="stock-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert IdempotencyKey.objects.filter(key="stock-1", method="PATCH").count() == 1


def test_a_viewer_may_not_set_stock(viewer_api, products):
    response = viewer_api.patch(STOCK, {"lines": [{"sku": "MUG-BLUE", "quantity": 1}]}, key="viewer-1")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert stock()["MUG-BLUE"] == 20 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("path", [
    "/api/v1/amazon/orders?store=%D9%A3", "/api/v1/amazon/orders?status=%00", "/api/v1/amazon/orders?updated_after=%00",
    "/api/v1/amazon/orders?updated_after=2026-13-01T00:00:00", "/api/v1/amazon/orders?cursor=%00",
    "/api/v1/amazon/orders/%00", "/api/v1/amazon/outbox?store=99999999999999999999",
    "/api/v1/amazon/outbox?state=%00", "/api/v1/stores/%EF%BC%93", "/api/v1/products?sku=%00",
    "/api/v1/products?cursor=%00", "/api/v1/products/%ED%A0%80", "/api/v1/products/a%00b",
])
def test_odd_input_is_never_a_server_error(viewer_api, products, path):
    response = viewer_api.client.get(path, headers=viewer_api._headers(None))
    assert response.status_code in (400, 404), (path, response.status_code, response.content)
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("sku", ["\ud800", "A\x00", "x" * 65])
def test_odd_skus_in_the_body_are_422(operator_api, products, sku):
    raw = json.dumps({"lines": [{"sku": sku, "quantity": 1}]})
    response = operator_api.patch(STOCK, raw=raw)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == "lines.0.sku"
