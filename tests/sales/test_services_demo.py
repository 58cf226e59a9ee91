"""The demo data: built through the services, every state and currency, loaded once."""

from __future__ import annotations

import io
from contextlib import ExitStack, contextmanager

import pytest
from django.core.management import call_command

from saleschannel.amazon.models import AmazonOrder
from saleschannel.amazon.notification_consumer import Consumer
from saleschannel.amazon.notification_models import StoreNotifications
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.spapi.notifications import NotificationsGateway
from saleschannel.catalog.models import Product, Store
from saleschannel.customers.models import Customer
from saleschannel.management.commands import demo as demo_command
from saleschannel.management.commands.demo import (
    connect_sandbox_store,
    enable_sandbox_notifications,
    ensure_sandbox_catalog,
)
from saleschannel.sales.demo import load_demo_data
from saleschannel.sales.models import Invoice, Order, OrderHistory, OrderState
from saleschannel.sandbox.sqs import run_moto
from saleschannel.sandbox.testing import run_sandbox

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


def test_demo_store_gets_notifications_on_and_subscribed(tmp_path):
    """What ``make demo`` does after starting moto and the sandbox: the demo store is set to "sandbox"
    notifications, subscribed, and an order that becomes Unshipped is imported from its notification. Without a
    local SQS the store falls back to polling."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed: no local SQS")
    ensure_sandbox_catalog()
    with run_moto(log_path=tmp_path / "moto.log") as sqs_url, \
            run_sandbox(tmp_path / "sandbox", time_scale=60, pending_delay_seconds=60,
                        extra_args=["--sqs-endpoint", sqs_url]) as sandbox:
        store = connect_sandbox_store(sandbox, time_scale=60)
        line = enable_sandbox_notifications(store, sqs_url)
        assert "Real-time notifications: on" in line, line
        settings = StoreNotifications.objects.get(store=store)
        assert settings.mode == "sandbox" and settings.queue_url.startswith(sqs_url)
        assert settings.destination_id and settings.subscription_id
        with Gateway.for_store(store) as gateway:
            subscription = NotificationsGateway(gateway).get_subscription()
        assert subscription["subscriptionId"] == settings.subscription_id
        # A second start of the demo finds what exists.
        assert "Real-time notifications: on" in enable_sandbox_notifications(store, sqs_url)
        assert StoreNotifications.objects.get(store=store).subscription_id == settings.subscription_id
        # An order that becomes Unshipped reaches the back office through its notification.
        [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
        consumer = Consumer(store, wait_seconds=1)
        try:
            for _round in range(20):
                consumer.poll_once()
                if AmazonOrder.objects.filter(amazon_order_id=order_id, commerce_order__isnull=False).exists():
                    break
        finally:
            consumer.close()
        assert AmazonOrder.objects.filter(amazon_order_id=order_id, commerce_order__isnull=False).exists()
        # No local SQS (moto could not start): off, polling alone.
        line = enable_sandbox_notifications(store, None)
        assert "off" in line and "polling" in line
        assert StoreNotifications.objects.get(store=store).mode == "off"


def test_demo_goes_on_with_polling_when_moto_cannot_start(monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path

    @contextmanager
    def broken_moto(**_options):
        raise RuntimeError("moto server exited with code 1\nNo module named moto")
        yield  # pragma: no cover

    monkeypatch.setattr(demo_command, "run_moto", broken_moto)
    command = demo_command.Command(stdout=io.StringIO())
    with ExitStack() as running:
        assert command._start_moto(running) is None
    out = command.stdout.getvalue()
    assert "could not start (moto server exited with code 1)" in out and "polling" in out
