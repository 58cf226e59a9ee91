"""The demo data: built through the services, every state and currency, loaded once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from saleschannel.catalog.models import Product, Store
from saleschannel.customers.models import Customer
from saleschannel.sales.demo import load_demo_data
from saleschannel.sales.models import Invoice, Order, OrderHistory, OrderState

pytestmark = pytest.mark.django_db


def test_demo_data_covers_every_state_and_currency_and_loads_once():
    summary = load_demo_data()
    assert summary.startswith("Demo data loaded: 4 stores (US Store, UK Store, Boutique France, Japan Store)")
    assert Order.objects.count() == 60
    assert set(Store.objects.values_list("currency", flat=True)) == {"USD", "GBP", "EUR", "JPY"}
    assert set(Order.objects.values_list("currency", flat=True)) == {"USD", "GBP", "EUR", "JPY"}
    states = set(Order.objects.values_list("state", flat=True))
    assert {OrderState.NEW, OrderState.PROCESSING, OrderState.COMPLETE, OrderState.CLOSED, OrderState.CANCELED,
            OrderState.HOLDED} <= states
    # Partial invoices and shipments exist among processing orders.
    processing = Order.objects.filter(state=OrderState.PROCESSING).prefetch_related("items")
    assert any(any(i.qty_to_invoice for i in o.items.all()) for o in processing)
    assert any(any(i.qty_shipped for i in o.items.all()) and any(i.qty_to_ship for i in o.items.all())
               for o in processing)
    # JPY totals are whole yen; every order reconciles.
    for o in Order.objects.all():
        assert o.grand_total == o.subtotal + o.shipping_amount - o.discount_amount + o.tax_amount
        assert o.total_refunded <= o.total_paid
        if o.currency == "JPY":
            assert o.grand_total == o.grand_total.to_integral_value()
    # Catalog: unmanaged, low-stock and disabled products; non-ASCII customers.
    assert Product.objects.filter(manage_stock=False).exists()
    assert Product.objects.filter(enabled=False).exists()
    assert Product.objects.filter(manage_stock=True, qty__lte=3).exists()
    assert Customer.objects.filter(first_name="Zoë").exists() or Customer.objects.filter(last_name="山田").exists()
    # Spread over the last 30 days, with documents and history dated after the order.
    dates = sorted(Order.objects.values_list("created_at", flat=True))
    assert (dates[-1] - dates[0]).days >= 25
    invoice = Invoice.objects.select_related("order").first()
    assert invoice.created_at >= invoice.order.created_at
    assert OrderHistory.objects.filter(author_label="Demo data").exists()
    assert Order.objects.filter(status="awaiting_supplier", state=OrderState.PROCESSING).exists()
    # Idempotent.
    again = load_demo_data()
    assert again.startswith("Demo data not loaded: the database already has 60 orders")
    assert Order.objects.count() == 60


def test_demo_command_sets_everything_up(capsys):
    call_command("demo", no_serve=True)
    out = capsys.readouterr().out
    assert "Demo data loaded" in out
    assert OrderHistory.objects.filter(author__username="admin").exists()
