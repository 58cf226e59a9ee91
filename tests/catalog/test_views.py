"""Product screens: list and search, view, stock edit (never below what is reserved)."""

from __future__ import annotations

import pytest

from saleschannel.catalog.models import Product
from saleschannel.core.roles import OPERATOR, VIEWER
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


def test_list_and_search(client, products):
    page = client.get("/catalog/products/?q=mug").content.decode()
    assert "MUG-BLUE" in page and "TSHIRT-RED" not in page
    assert "3 records found" in client.get("/catalog/products/").content.decode()


def test_view_shows_reservations(client, order, products):
    page = client.get(f"/catalog/products/{products[0].pk}/").content.decode()
    assert f"sales.order:{order.pk}" in page
    assert f'action="/catalog/products/{products[0].pk}/stock/"' in page  # the operator may set stock


def test_viewer_sees_no_edit_form(products, db):
    page = client_for(make_role_user(VIEWER)).get(f"/catalog/products/{products[0].pk}/").content.decode()
    assert "/edit/" not in page and "/stock/" not in page and "/disable/" not in page


def test_set_stock(client, products):
    tshirt = products[0]
    response = client.post(f"/catalog/products/{tshirt.pk}/stock/", {"qty": "75"})
    assert response.status_code == 302
    tshirt.refresh_from_db()
    assert tshirt.qty == 75 and not tshirt.is_in_stock


def test_quantity_cannot_go_below_reserved(client, order, products):
    tshirt = Product.objects.get(pk=products[0].pk)
    assert tshirt.qty_reserved == 2
    response = client.post(f"/catalog/products/{tshirt.pk}/stock/", {"qty": "1", "is_in_stock": "on"})
    assert response.status_code == 400
    assert "2 units are reserved" in response.content.decode()
    tshirt.refresh_from_db()
    assert tshirt.qty == 50
    unmanaged = factories.make_product(sku="FREE", manage_stock=False, qty=0)
    response = client.post(f"/catalog/products/{unmanaged.pk}/stock/", {"qty": "-1"})
    assert response.status_code == 400
    assert "cannot be negative" in response.content.decode()
