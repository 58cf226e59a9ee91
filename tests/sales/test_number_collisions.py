"""A number the store's sequence gives that a document already has is a clear refusal, never an IntegrityError 500
(issue 11, finding 8)."""

from __future__ import annotations

import pytest

from saleschannel.catalog import services as catalog_services
from saleschannel.core.roles import OPERATOR
from saleschannel.sales import services
from saleschannel.sales.errors import DocumentNumberTaken, OrderActionError
from saleschannel.sales.models import DocumentSequence, Invoice, Order
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def reused_prefix(store, products):
    """Store "US" made orders US000000001-2 and an invoice, then took the prefix "OLD"; a new store takes "US"."""
    first = factories.make_order(store=store, items=[factories.line(products[0], 1)])
    factories.make_order(store=store, items=[factories.line(products[0], 1)])
    services.invoice_create(order=first, actor="tests")
    catalog_services.store_update(store=store, order_number_prefix="OLD")
    second = catalog_services.store_create(code="us2", name="US Again", currency="USD", order_number_prefix="US")
    return second


def test_a_new_order_hitting_an_existing_number_is_refused_and_writes_nothing(reused_prefix, products):
    before = Order.objects.count()
    with pytest.raises(DocumentNumberTaken) as refused:
        factories.make_order(store=reused_prefix, items=[factories.line(products[1], 1)])
    assert isinstance(refused.value, OrderActionError)
    assert refused.value.number == "US000000001" and refused.value.code == "number_taken"
    assert "US000000001" in refused.value.message and "Settings > Stores" in refused.value.message
    assert Order.objects.count() == before
    assert not DocumentSequence.objects.filter(store=reused_prefix).exists()  # rolled back with the refusal
    products[1].refresh_from_db()
    assert products[1].qty_reserved == 0


def test_reorder_hitting_an_existing_number_is_a_message_not_a_500(reused_prefix, products):
    # An order of the new store with a number of its own (a channel's), so that Reorder takes the sequence's.
    order = factories.make_order(store=reused_prefix, items=[factories.line(products[1], 1)], number="EXT-1")
    client = client_for(make_role_user(OPERATOR))
    before = Order.objects.count()
    response = client.post(f"/sales/orders/{order.pk}/reorder/", follow=True)
    assert response.status_code == 200
    assert "is already used by another document" in response.content.decode()
    assert Order.objects.count() == before
    # Once the store has a prefix never used, Reorder works.
    catalog_services.store_update(store=reused_prefix, order_number_prefix="US2")
    response = client.post(f"/sales/orders/{order.pk}/reorder/")
    assert response.status_code == 302
    assert Order.objects.filter(store=reused_prefix, number="US2000000001").exists()


def test_an_invoice_hitting_an_existing_number_is_refused(reused_prefix, products):
    order = factories.make_order(store=reused_prefix, items=[factories.line(products[1], 1)], number="EXT-2")
    with pytest.raises(DocumentNumberTaken) as refused:
        services.invoice_create(order=order, actor="tests")
    assert refused.value.number == "US000000001" and "invoice" in refused.value.message
    assert not Invoice.objects.filter(order=order).exists()


def test_a_batch_of_new_orders_hitting_an_existing_number_is_refused(reused_prefix, products):
    prepared = [
        services.order_prepare(draft=services.OrderDraft(
            store=reused_prefix, items=[factories.line(products[1], 1)], customer_email="a@example.com",
            customer_first_name="A", customer_last_name="B", billing_address=factories.ADDRESS,
        ), actor="tests")
        for _ in range(3)
    ]
    with pytest.raises(DocumentNumberTaken):
        services.orders_create_many(new_orders=prepared)
    assert not Order.objects.filter(store=reused_prefix).exists()


def test_the_refusal_in_french(reused_prefix, products):
    from django.utils import translation

    with translation.override("fr"), pytest.raises(DocumentNumberTaken) as refused:
        factories.make_order(store=reused_prefix, items=[factories.line(products[1], 1)])
    assert "est déjà utilisé par un autre document" in refused.value.message
    assert "(commande)" in refused.value.message
