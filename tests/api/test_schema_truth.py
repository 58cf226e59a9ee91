"""The OpenAPI schema says what the API accepts: regressions for what schemathesis found (test_schemathesis.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from saleschannel.sales.services import invoice_create

ACTIONS_WITH_BODY = ("invoices", "shipments", "creditmemos", "cancel", "comments")


@pytest.fixture
def openapi(db):
    return Client().get("/api/v1/openapi.json").json()


def _parameter(openapi, path: str, name: str) -> dict:
    return next(p["schema"] for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == name)


@pytest.mark.parametrize("action", ACTIONS_WITH_BODY)
def test_an_action_body_is_an_object_never_null(openapi, operator_api, order, action):
    """The body may be left out, but when given it is a JSON object: the schema said "object or null", and a
    null body was refused (400)."""
    operation = openapi["paths"][f"/api/v1/orders/{{order_id}}/{action}"]["post"]
    body = operation["requestBody"]
    assert body["required"] is False
    assert "null" not in str(body["content"]["application/json"]["schema"])
    assert operator_api.post(f"/api/v1/orders/{order.pk}/{action}", raw="null").status_code == 400


def test_an_action_without_a_body_takes_every_default(operator_api, order):
    response = operator_api.post(f"/api/v1/orders/{order.pk}/invoices", raw="")
    assert response.status_code == 201, response.content
    assert response.json()["grand_total"] == str(order.grand_total)


def test_an_amount_as_text_is_a_plain_decimal_as_the_schema_says(openapi, operator_api, order):
    """A money field was "number or any string": "" passed the schema and failed the API's validation (422)."""
    fields = openapi["components"]["schemas"]["CreditMemoIn"]["properties"]
    pattern = next(choice["pattern"] for choice in fields["adjustment_fee"]["anyOf"] if choice["type"] == "string")
    assert [text for text in ("19.99", "-2", ".5", "7.", "", " 1", "1e3", "NaN", "1_000", "0x10")
            if re.fullmatch(pattern, text)] == ["19.99", "-2", ".5", "7."]
    assert any(choice.get("pattern") == pattern for choice in fields["shipping_refund"]["anyOf"])
    invoice_create(order=order, actor="tests")
    url = f"/api/v1/orders/{order.pk}/creditmemos"
    for text in ("", " 1", "1e3", "1_000"):
        response = operator_api.post(url, {"shipping_refund": text})
        assert response.status_code == 422, (text, response.content)
        assert response.json()["field"] == "shipping_refund"
    response = operator_api.post(url, {"shipping_refund": "2.50", "adjustment_fee": "0.5"})
    assert response.status_code == 201, response.content
    assert response.json()["shipping_amount"] == "2.50" and response.json()["adjustment_fee"] == "0.50"


@pytest.mark.parametrize(("path", "name", "values"), [
    ("/api/v1/orders", "state", ["new", "processing", "holded"]),
    ("/api/v1/amazon/orders", "status", ["Unshipped", "Error"]),
    ("/api/v1/amazon/outbox", "state", ["queued", "dead"]),
])
def test_filters_with_fixed_values_list_them(openapi, path, name, values):
    """Any string was documented; anything else than these was a 400 ("Unknown state")."""
    assert set(values) <= set(_parameter(openapi, path, name)["items"]["enum"])


@pytest.mark.parametrize(("path", "name", "good", "bad"), [
    ("/api/v1/amazon/orders", "store", "1", ""),
    ("/api/v1/amazon/outbox", "store", "", "0"),
    ("/api/v1/invoices", "order_id", "", "x"),
])
def test_id_filters_say_what_an_id_is(openapi, viewer_api, path, name, good, bad):
    """Any string was documented; an empty store list item, "0" or text was a 400."""
    schema = _parameter(openapi, path, name)
    pattern = schema.get("pattern") or schema["items"]["pattern"]
    assert re.fullmatch(pattern, good) and re.fullmatch(pattern, "123456789012345678")
    assert not re.fullmatch(pattern, bad) and not re.fullmatch(pattern, "9" * 40)
    response = viewer_api.get(path, {name: bad})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == name


def test_a_quantity_is_a_json_integer_3_0_included(openapi, operator_api, order, products):
    """JSON Schema's "integer" takes 3.0: the stock update refused it (422 int_type), and order quantities too."""
    assert openapi["components"]["schemas"]["StockLineIn"]["properties"]["quantity"]["type"] == "integer"
    tshirt = products[0]
    response = operator_api.patch("/api/v1/products/stock", {"lines": [{"sku": tshirt.sku, "quantity": 60.0}]})
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["qty"] == 60
    for bad in ("60", 60.5, True):
        response = operator_api.patch("/api/v1/products/stock", {"lines": [{"sku": tshirt.sku, "quantity": bad}]})
        assert response.status_code == 422, (bad, response.content)
        assert response.json()["field"] == "lines.0.quantity"
    item = order.items.get(sku=tshirt.sku)
    response = operator_api.post(f"/api/v1/orders/{order.pk}/invoices", {"quantities": {str(item.pk): 1.0}})
    assert response.status_code == 201, response.content
    assert response.json()["items"] == [{"order_item_id": item.pk, "sku": tshirt.sku, "qty": 1}]


def test_text_that_cannot_be_stored_is_out_of_the_schema(openapi, operator_api, order):
    """Text fields refuse NUL characters (no database keeps them); the schema said "any string"."""
    schemas = openapi["components"]["schemas"]
    for name, field in (("CommentIn", "comment"), ("TrackIn", "number"), ("StockLineIn", "sku")):
        assert re.fullmatch(schemas[name]["properties"][field]["pattern"], "a\x00b") is None, (name, field)
        assert re.fullmatch(schemas[name]["properties"][field]["pattern"], "Zoë 🚚"), (name, field)
    assert _parameter(openapi, "/api/v1/orders", "q")["pattern"] == schemas["CommentIn"]["properties"]["comment"][
        "pattern"]
    response = operator_api.post(f"/api/v1/orders/{order.pk}/comments", {"comment": "a\x00b"})
    assert response.status_code == 422 and response.json()["field"] == "comment"


def test_origin_and_change_filters_say_their_values(openapi, viewer_api):
    assert _parameter(openapi, "/api/v1/orders", "origin")["enum"] == ["", "amazon", "other"]
    for path, name in (("/api/v1/orders", "updated_since"), ("/api/v1/amazon/orders", "updated_after")):
        assert _parameter(openapi, path, name)["anyOf"] == [{"format": "date-time"}, {"maxLength": 0}]
        assert viewer_api.get(path, {name: "2026-01-31T08:00:00Z"}).status_code == 200
        assert viewer_api.get(path, {name: ""}).status_code == 200
        assert viewer_api.get(path, {name: "yesterday"}).status_code == 400
    assert viewer_api.get("/api/v1/orders", {"origin": "ebay"}).status_code == 400
