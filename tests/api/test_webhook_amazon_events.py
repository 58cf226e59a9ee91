"""``amazon_order.error`` and ``outbox.dead``: published where the Amazon channel puts an order in Error (a page of new
orders, one order at a time, an order Amazon sent unreadable) and where a message to Amazon is dead-lettered, in
the transaction of the change; ids and numbers only."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from saleschannel.amazon import delivery
from saleschannel.amazon.feed_delivery import Outcome
from saleschannel.amazon.models import AmazonOrder, EventLevel, OutboxMessage, OutboxState
from saleschannel.amazon.services import amazon_order_cancel
from saleschannel.amazon.spapi.errors import UnreadableOrder
from saleschannel.amazon.spapi.normalise import AmazonItemData, AmazonOrderData
from saleschannel.amazon.sync import import_orders, keep_unreadable
from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.api.webhooks import webhook_endpoint_create
from saleschannel.core import events
from tests.api.conftest import make_amazon_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(db, settings):
    settings.API_WEBHOOK_ALLOW_LOOPBACK = True
    return webhook_endpoint_create(url="http://127.0.0.1:9/hooks",
                                   events=[events.AMAZON_ORDER_ERROR, events.OUTBOX_DEAD]).endpoint


def _data(number: str, *, sku: str = "NO-SUCH-SKU", updated=None) -> AmazonOrderData:
    now = timezone.now()
    return AmazonOrderData(
        amazon_order_id=number, status="Unshipped", purchase_date=now - timedelta(hours=2),
        last_update_date=updated or now - timedelta(hours=1), marketplace_id="ATVPDKIKX0DER", currency="USD",
        order_total=Decimal("10.00"), buyer_name="Jane Buyer", buyer_email="jane@example.com",
        items=[AmazonItemData(order_item_id="70001", seller_sku=sku, qty_ordered=1, item_price=Decimal("10.00"))],
    )


def _sent(kind: str) -> list[dict]:
    return [delivery.payload for delivery in WebhookDelivery.objects.filter(kind=kind).order_by("id")]


def test_a_new_order_put_in_error_is_announced_once(amazon_store, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # written, not sent (no receiver here)
        import_orders(store=amazon_store, orders=[_data("111-0000001-0000001")])
    order = AmazonOrder.objects.get(amazon_order_id="111-0000001-0000001")
    assert order.status == "Error"
    (payload,) = _sent(events.AMAZON_ORDER_ERROR)
    assert payload == {"amazon_order": {"id": order.pk, "amazon_order_number": "111-0000001-0000001",
                                        "store_id": amazon_store.pk, "marketplace_id": "ATVPDKIKX0DER",
                                        "amazon_status": "Unshipped", "commerce_order_id": None}}
    assert "jane" not in json.dumps(payload).lower()  # no personal data

    # Seen again, still in Error for the same reason: nothing new to announce.
    with django_capture_on_commit_callbacks():
        import_orders(store=amazon_store, orders=[_data("111-0000001-0000001",
                                                        updated=timezone.now() - timedelta(minutes=30))])
    assert len(_sent(events.AMAZON_ORDER_ERROR)) == 1

    # Out of Error (say, retried by someone), then in Error again one order at a time: announced again.
    AmazonOrder.objects.filter(pk=order.pk).update(status="Unshipped", import_error="")
    with django_capture_on_commit_callbacks():
        import_orders(store=amazon_store, orders=[_data("111-0000001-0000001",
                                                        updated=timezone.now() - timedelta(minutes=20))])
    assert len(_sent(events.AMAZON_ORDER_ERROR)) == 2


def test_an_unreadable_order_kept_in_error_is_announced(amazon_store, endpoint, django_capture_on_commit_callbacks):
    unreadable = UnreadableOrder("orderItems[0].quantityOrdered", amazon_order_id="111-0000002-0000002")
    unreadable.raw = {"orderId": "111-0000002-0000002"}
    with django_capture_on_commit_callbacks():
        keep_unreadable(store=amazon_store, unreadable=[unreadable])
    order = AmazonOrder.objects.get(amazon_order_id="111-0000002-0000002")
    assert _sent(events.AMAZON_ORDER_ERROR) == [events.amazon_order_error_payload(order)]


def test_a_dead_lettered_message_is_announced(amazon_store, endpoint, django_capture_on_commit_callbacks):
    amazon = make_amazon_order(amazon_store)
    with django_capture_on_commit_callbacks():
        message = amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor="tests")
    message = OutboxMessage.objects.select_related("amazon_order").get(pk=message.pk)
    assert not _sent(events.OUTBOX_DEAD)
    with django_capture_on_commit_callbacks():
        delivery._record(message, Outcome(OutboxState.DEAD, "Amazon refused it.", EventLevel.ERROR),
                         timezone.now())
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DEAD
    (payload,) = _sent(events.OUTBOX_DEAD)
    assert payload["outbox_message"]["id"] == message.pk and payload["outbox_message"]["kind"] == "cancel"
    assert payload["amazon_order"] == {"id": amazon.pk, "amazon_order_number": amazon.amazon_order_id,
                                       "store_id": amazon_store.pk, "commerce_order_id": amazon.commerce_order_id}


def test_endpoints_subscribed_to_the_old_kinds_get_their_successors(db):
    migration = importlib.import_module("saleschannel.api.migrations.0003_webhook_event_kinds")
    old = WebhookEndpoint.objects.create(url="https://erp.example.com/hooks", secret_encrypted="x",
                                         events=["order.invoiced", "order.canceled", "order.status_changed"])
    every = WebhookEndpoint.objects.create(url="https://wms.example.com/hooks", secret_encrypted="x", events=[])
    migration.rename_kinds(apps, None)
    old.refresh_from_db()
    every.refresh_from_db()
    assert old.events == ["invoice.created", "order.updated"] and every.events == []
