"""POST /api/v1/products and PATCH /api/v1/products/{sku}: ``catalog.services.product_create`` and
``product_update`` (the product form's), the same rules and change log, every refused field listed, idempotent."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from saleschannel.api.models import IdempotencyKey
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.catalog.services import stock_reserve

PRODUCTS = "/api/v1/products"
NEW = {"sku": "HAT-BLACK", "name": "Black hat", "price": "15.50", "qty": 7}


def _problem(response, status: int, field: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["field"] == field, body
    return body


# --- Create -------------------------------------------------------------------------------------------------------


def test_create_a_product(operator_api, db):
    response = operator_api.post(PRODUCTS, NEW, key="new-hat")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sku"], body["name"], body["price"], body["qty"], body["enabled"], body["manage_stock"]) == (
        "HAT-BLACK", "Black hat", "15.50", 7, True, True)
    product = Product.objects.get(sku="HAT-BLACK")
    assert ProductChange.objects.filter(product=product, action="created").count() == 1
    again = operator_api.post(PRODUCTS, NEW, key="new-hat")  # a retry: the first answer, no second product
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == body
    assert Product.objects.filter(sku__iexact="hat-black").count() == 1
    assert IdempotencyKey.objects.filter(key="new-hat").count() == 1


def test_a_taken_sku_is_refused_whatever_its_case(operator_api, products):
    body = _problem(operator_api.post(PRODUCTS, {**NEW, "sku": "mug-blue"}), 422, "sku")
    assert body["code"] == "invalid" and body["errors"][0]["field"] == "sku"
    assert not Product.objects.filter(name="Black hat").exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "price": "1"}, "sku"), ({**NEW, "sku": ""}, "sku"), ({**NEW, "sku": "x" * 65}, "sku"),
    ({**NEW, "name": ""}, "name"), ({**NEW, "price": "abc"}, "price"), ({**NEW, "price": "-1"}, "price"),
    ({**NEW, "qty": -1}, "qty"), ({**NEW, "qty": 1.5}, "qty"), ({**NEW, "enabled": "yes"}, "enabled"),
    ({**NEW, "name": "   "}, "name"),
])
def test_bad_values_are_422_naming_the_field(operator_api, db, body, field):
    refused = _problem(operator_api.post(PRODUCTS, body), 422, field)
    assert refused["code"] == "invalid"
    assert not Product.objects.exists()


# --- Update -------------------------------------------------------------------------------------------------------


def test_update_changes_only_what_is_given(operator_api, products):
    response = operator_api.patch(f"{PRODUCTS}/MUG-BLUE", {"name": "Blue mug", "price": 9, "enabled": False},
                                  key="mug-1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["sku"], body["name"], body["price"], body["enabled"], body["qty"]) == (
        "MUG-BLUE", "Blue mug", "9.00", False, 20)
    (change,) = ProductChange.objects.filter(product__sku="MUG-BLUE", action="updated")
    assert set(change.changes) == {"name", "price", "enabled"}
    # Nothing different: nothing written, nothing recorded.
    assert operator_api.patch(f"{PRODUCTS}/MUG-BLUE", {"name": "Blue mug"}).status_code == 200
    assert ProductChange.objects.filter(product__sku="MUG-BLUE", action="updated").count() == 1


def test_update_by_a_sku_that_needs_encoding(operator_api, db):
    operator_api.post(PRODUCTS, {**NEW, "sku": "A/B C"})
    response = operator_api.patch(f"{PRODUCTS}/{quote('A/B C')}", {"qty": 3})
    assert response.status_code == 200, response.content
    assert Product.objects.get(sku="A/B C").qty == 3


def test_update_refused_by_the_rules(operator_api, products):
    stock_reserve(product=products[2], qty=4, reference="order:test")  # CAP-GREEN: 10 in stock, 4 reserved
    body = _problem(operator_api.patch(f"{PRODUCTS}/CAP-GREEN", {"qty": 3}), 422, "qty")
    assert body["code"] == "invalid"
    _problem(operator_api.patch(f"{PRODUCTS}/CAP-GREEN", {"sku": "mug-blue"}), 422, "sku")
    _problem(operator_api.patch(f"{PRODUCTS}/CAP-GREEN", {"price": "abc"}), 422, "price")
    assert Product.objects.get(pk=products[2].pk).qty == 10
    assert operator_api.patch(f"{PRODUCTS}/NO-SUCH-SKU", {"qty": 3}).status_code == 404


def test_patch_stock_is_still_the_bulk_update(operator_api, products):
    response = operator_api.patch(f"{PRODUCTS}/stock", {"lines": [{"sku": "CAP-GREEN", "quantity": 4}]})
    assert response.status_code == 200, response.content
    assert Product.objects.get(sku="CAP-GREEN").qty == 4


def test_viewer_cannot_create_or_update(viewer_api, products):
    assert viewer_api.post(PRODUCTS, NEW).status_code == 403
    assert viewer_api.patch(f"{PRODUCTS}/MUG-BLUE", {"name": "x"}).status_code == 403
    assert not Product.objects.filter(sku="HAT-BLACK").exists()
