from __future__ import annotations

import pytest

from saleschannel.customers.models import Customer
from saleschannel.customers.services import CustomerError, customer_get_or_create, customer_update
from tests.factories import make_store

pytestmark = pytest.mark.django_db


def test_get_or_create_finds_the_customer_whatever_the_letter_case():
    store = make_store()
    created = customer_get_or_create(email="Zoe@Example.com", first_name="Zoë", last_name="Lefèvre", store=store)
    found = customer_get_or_create(email="zoe@example.COM", first_name="Other", last_name="Name", store=store)
    assert created.created_now and not found.created_now
    assert found.pk == created.pk
    assert found.full_name == "Zoë Lefèvre"  # an existing customer keeps their name
    assert Customer.objects.count() == 1


def test_get_or_create_refuses_an_invalid_email():
    with pytest.raises(CustomerError, match="Enter a valid email address."):
        customer_get_or_create(email="not-an-email", first_name="A", last_name="B", store=make_store())


def test_update_changes_fields_and_refuses_a_taken_email():
    store = make_store()
    first = customer_get_or_create(email="a@example.com", first_name="A", last_name="B", store=store)
    second = customer_get_or_create(email="b@example.com", first_name="C", last_name="D", store=store)
    customer_update(customer=second, first_name=" Jürgen ", phone="+49 1")
    second.refresh_from_db()
    assert (second.first_name, second.phone) == ("Jürgen", "+49 1")
    with pytest.raises(CustomerError, match="Another customer already uses this email address."):
        customer_update(customer=second, email="A@EXAMPLE.com")
    assert Customer.objects.get(pk=first.pk).email == "a@example.com"
