"""Fixtures shared by every test package (built on ``tests.factories``)."""

from __future__ import annotations

import pytest
from django.utils import translation

from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests import factories


@pytest.fixture(autouse=True)
def _english_by_default():
    """Every test starts in English, whatever language an earlier test's request activated in this thread."""
    with translation.override("en"):
        yield


@pytest.fixture
def store(db):
    """A US store in dollars, English, order numbers prefixed ``US``."""
    return factories.make_store(code="us", currency="USD", locale="en", prefix="US", name="US Store")


@pytest.fixture
def jpy_store(db):
    return factories.make_store(code="jp", currency="JPY", locale="en", prefix="JP", name="Japan Store")


@pytest.fixture
def fr_store(db):
    return factories.make_store(code="fr", currency="EUR", locale="fr", prefix="FR", name="Boutique France")


@pytest.fixture
def products(db):
    """Three managed products with plenty of stock."""
    return [
        factories.make_product(sku="TSHIRT-RED", name="T-shirt rouge", price="19.99", qty=50),
        factories.make_product(sku="MUG-BLUE", name="Mug bleu", price="8.50", qty=20),
        factories.make_product(sku="CAP-GREEN", name="Casquette verte", price="12.00", qty=10),
    ]


@pytest.fixture
def staff_user(db):
    return factories.make_staff(username="staff")


@pytest.fixture
def admin_user_obj(db):
    return factories.make_staff(username="boss", superuser=True)


@pytest.fixture
def order(store, products, staff_user):
    """A new order of 2 × TSHIRT-RED (with tax and a discount) and 3 × MUG-BLUE, $5 shipping, placed by staff."""
    tshirt, mug, _cap = products
    return factories.make_order(
        store=store,
        items=[
            factories.line(tshirt, 2, tax_amount="3.20", tax_percent="8", discount_amount="2.00"),
            factories.line(mug, 3),
        ],
        shipping_amount="5.00",
        shipping_method_code="flatrate",
        shipping_method_title="Flat Rate",
        actor=staff_user,
    )


@pytest.fixture
def administrator(db):
    """One user per role (test modules may override these with clients of their own)."""
    return factories.make_role_user(ADMINISTRATOR)


@pytest.fixture
def operator(db):
    return factories.make_role_user(OPERATOR)


@pytest.fixture
def viewer(db):
    return factories.make_role_user(VIEWER)
