"""Customer screens: list and search, view with orders, edit (a duplicate email is an error next to the field)."""

from __future__ import annotations

import pytest

from saleschannel.core.roles import OPERATOR, VIEWER
from saleschannel.customers.models import Customer
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def customers(store):
    return [
        Customer.objects.create(email="ada@example.com", first_name="Ada", last_name="Lovelace", store=store),
        Customer.objects.create(email="alan@example.com", first_name="Alan", last_name="Turing", store=store,
                                phone="+44 1"),
    ]


def test_list_and_search(customers, db):
    client = client_for(make_role_user(VIEWER))
    page = client.get("/customers/?q=turing").content.decode()
    assert "alan@example.com" in page and "ada@example.com" not in page
    assert "2 records found" in client.get("/customers/").content.decode()


def test_view_lists_orders(customers, store, products):
    ada = customers[0]
    order = factories.make_order(store=store, items=[factories.line(products[0], 1)], customer=ada,
                                 customer_email=ada.email)
    page = client_for(make_role_user(VIEWER)).get(f"/customers/{ada.pk}/").content.decode()
    assert order.number in page and "/edit/" not in page


def test_edit(customers, db):
    client = client_for(make_role_user(OPERATOR))
    ada, alan = customers
    response = client.post(f"/customers/{ada.pk}/edit/", {"first_name": "Ada", "last_name": "King",
                                                        "email": "ADA@example.com", "phone": "+44 2"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.last_name, ada.phone) == ("King", "+44 2")
    response = client.post(f"/customers/{ada.pk}/edit/", {"first_name": "Ada", "last_name": "King",
                                                        "email": alan.email})
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    ada.refresh_from_db()
    assert ada.email.lower() == "ada@example.com"
