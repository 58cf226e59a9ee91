"""Product services and rules: create, update, disable/enable, set stock; one transaction each, recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from saleschannel.catalog import rules, services
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.catalog.services import ProductError
from tests import factories


def _create(**overrides):
    values = {"sku": "MUG-1", "name": "Mug", "price": "8.50", "qty": "3"}
    values.update(overrides)
    return services.product_create(**values, actor="alice")


def test_create_records_who_and_what(db, store):
    product = _create(enabled=False)
    assert (product.sku, product.name, product.price, product.qty, product.enabled) == (
        "MUG-1", "Mug", Decimal("8.50"), 3, False)
    change = ProductChange.objects.get(product=product)
    assert change.actor == "alice" and change.action == "created"
    assert change.changes["price"] == [None, "8.50"] and change.changes["sku"] == [None, "MUG-1"]


def test_keyword_only(db):
    with pytest.raises(TypeError):
        services.product_create("MUG-1", "Mug", "8.50")  # type: ignore[misc]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sku", "", "Enter a SKU."),
    ("sku", " MUG", "cannot start or end with a space"),
    ("sku", "A\tB", "control characters"),
    ("sku", "X" * 65, "limited to 64"),
    ("name", "   ", "Enter a product name."),
    ("name", "N" * 256, "limited to 255"),
    ("price", "-0.01", "cannot be negative"),
    ("price", "abc", "is not a price"),
    ("price", "1e30", "limited to"),
    ("price", "NaN", "is not a price"),
    ("price", "Infinity", "is not a price"),
    ("price", "8.505", "at most 2 decimals"),
    ("price", "1,000", "ambiguous"),
    ("price", 8.5, "as a number"),
    ("qty", "-1", "cannot be negative"),
    ("qty", "1.5", "not a quantity"),
    ("qty", "1e9", "not a quantity"),
    ("qty", "1000000000", "limited to"),
    ("qty", "99999999999999999999", "limited to"),
])
def test_bad_values_are_refused_and_nothing_is_written(db, store, field, value, message):
    with pytest.raises(ProductError) as refused:
        _create(**{field: value})
    assert refused.value.field == field
    assert message in refused.value.errors[field]
    assert not Product.objects.exists() and not ProductChange.objects.exists()


def test_every_problem_is_reported_at_once(db):
    with pytest.raises(ProductError) as refused:
        _create(sku="", name="", price="-1")
    assert set(refused.value.errors) == {"sku", "name", "price"}


def test_sku_unique_without_regard_to_case(db):
    _create()
    for sku in ("MUG-1", "mug-1"):
        with pytest.raises(ProductError) as refused:
            _create(sku=sku)
        assert refused.value.field == "sku"
    assert Product.objects.count() == 1


def test_price_decimal_comma_and_zero(db, store):
    assert _create(price="8,5").price == Decimal("8.50")
    assert _create(sku="FREE", price="0").price == Decimal("0")


def test_price_decimals_follow_the_stores_currencies(db):
    assert rules.price_decimals() == 2  # no store yet
    factories.make_store(code="jp", currency="JPY", prefix="JP")
    assert rules.price_decimals() == 0
    with pytest.raises(ProductError, match="whole number"):
        _create(price="1500.5")
    assert _create(price="1500.00").price == Decimal("1500")
    factories.make_store(code="us", currency="USD", prefix="US")
    assert rules.price_decimals() == 2
    assert _create(sku="MUG-2", price="8.55").price == Decimal("8.55")


def test_update_changes_and_records_only_what_differs(db, store):
    product = _create()
    services.product_update(product=product, name="Big mug", price="8.50", actor="bob")
    change = ProductChange.objects.filter(action="updated").get()
    assert change.changes == {"name": ["Mug", "Big mug"]} and change.actor == "bob"
    services.product_update(product=product, name="Big mug", actor="bob")  # no difference: nothing recorded
    assert ProductChange.objects.filter(action="updated").count() == 1
    with pytest.raises(TypeError):
        services.product_update(product=product, qty_reserved=0)


def test_update_refuses_a_taken_sku(db):
    _create()
    other = _create(sku="CUP-1")
    with pytest.raises(ProductError):
        services.product_update(product=other, sku="Mug-1")
    other.refresh_from_db()
    assert other.sku == "CUP-1"
    assert services.product_update(product=other, sku="cup-1").sku == "cup-1"  # its own SKU in another case


def test_disable_and_enable(db):
    product = _create()
    services.product_disable(product=product, actor="carol")
    product.refresh_from_db()
    assert not product.enabled
    assert services.product_unsalable_reason(product) == 'Product "MUG-1" is disabled.'
    services.product_enable(product=product, actor="carol")
    product.refresh_from_db()
    assert product.enabled
    assert list(ProductChange.objects.order_by("id").values_list("action", flat=True)) == [
        "created", "disabled", "enabled"]


def test_stock_set_never_below_reserved(db, order, products):
    tshirt = Product.objects.get(pk=products[0].pk)
    assert tshirt.qty_reserved == 2
    with pytest.raises(ProductError, match="2 units are reserved"):
        services.product_stock_set(product=tshirt, qty=1)
    services.product_stock_set(product=tshirt, qty=2, is_in_stock=False, actor="dave")
    tshirt.refresh_from_db()
    assert (tshirt.qty, tshirt.qty_reserved, tshirt.is_in_stock) == (2, 2, False)
    change = ProductChange.objects.get(product=tshirt, action="stock")
    assert change.changes == {"qty": ["50", "2"], "is_in_stock": ["True", "False"]}
    # Turning stock management on is refused while reservations exceed the shelf.
    unmanaged = factories.make_product(sku="FREE", manage_stock=False, qty=0)
    Product.objects.filter(pk=unmanaged.pk).update(qty_reserved=3)
    with pytest.raises(ProductError, match="3 units are reserved"):
        services.product_update(product=unmanaged, manage_stock=True)


def test_existing_stock_functions_unchanged(db, products):
    mug = products[1]
    services.stock_reserve_many(quantities={mug: 5}, reference="t:1")
    assert services.stock_release(reference="t:1") == 5
