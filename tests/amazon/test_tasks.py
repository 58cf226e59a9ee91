"""Scheduling (Huey runs tasks immediately in tests), sync now, personal data redaction, log retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonOrderEvent, AmazonStore, RedactionLog, SyncRun
from saleschannel.amazon.privacy import REDACTED, purge_old_logs, redact_personal_data
from saleschannel.amazon.services import amazon_store_sync_now
from saleschannel.amazon.tasks import amazon_schedule_syncs, stores_due
from saleschannel.sales.models import Order
from tests.amazon.conftest import settle

pytestmark = pytest.mark.django_db


def test_the_minute_tick_syncs_only_stores_whose_frequency_elapsed(amazon_store, sandbox):
    ids = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    assert stores_due() == [amazon_store]
    assert amazon_schedule_syncs.call_local() == 1  # the tick enqueues (runs at once in tests) the due store
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(ids)
    assert SyncRun.objects.filter(store=amazon_store, state="succeeded").count() == 1
    assert stores_due() == []  # synced a moment ago, every 5 minutes
    assert amazon_schedule_syncs.call_local() == 0
    later = timezone.now() + timedelta(minutes=5)
    assert stores_due(later) == [amazon_store]
    AmazonStore.objects.filter(pk=amazon_store.pk).update(is_active=False)
    assert stores_due(later) == []


def test_sync_now_enqueues_on_commit(amazon_store, sandbox, django_capture_on_commit_callbacks):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        amazon_store_sync_now(amazon_store=amazon_store)
        assert not Order.objects.exists()  # nothing before the commit
    assert len(callbacks) == 1
    assert Order.objects.get().external_order_number == order_id


def test_personal_data_is_redacted_after_the_window(amazon_store, sandbox):
    ids = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    from saleschannel.amazon.sync import sync_store

    sync_store(store=amazon_store)
    old, recent = (AmazonOrder.objects.get(amazon_order_id=i) for i in ids)
    AmazonOrder.objects.filter(pk=old.pk).update(status="Completed",
                                                 latest_delivery_date=timezone.now() - timedelta(days=31))
    AmazonOrder.objects.filter(pk=recent.pk).update(status="Completed",
                                                    latest_delivery_date=timezone.now() - timedelta(days=29))
    assert redact_personal_data() == 1
    old.refresh_from_db()
    assert old.pii_redacted_at and old.buyer_name == REDACTED and old.buyer_email == "" and old.raw == {}
    assert old.ship_address_line1 == REDACTED and old.order_total  # accounting data stays
    commerce = old.commerce_order
    assert commerce.customer_first_name == REDACTED and "redacted" in commerce.customer_email
    assert all(a.street1 == "" for a in commerce.addresses.all())
    assert RedactionLog.objects.get(amazon_order=old).fields
    recent.refresh_from_db()
    assert recent.pii_redacted_at is None and recent.buyer_email
    assert redact_personal_data() == 0  # idempotent


def test_old_logs_are_purged(amazon_store):
    order = AmazonOrder.objects.create(store=amazon_store, amazon_order_id="111-1-1", purchase_date=timezone.now())
    old = AmazonOrderEvent.objects.create(order=order, kind="x", message="old")
    AmazonOrderEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    AmazonOrderEvent.objects.create(order=order, kind="x", message="new")
    SyncRun.objects.create(store=amazon_store, started_at=timezone.now() - timedelta(days=100))
    assert purge_old_logs() == 2
    assert list(AmazonOrderEvent.objects.values_list("message", flat=True)) == ["new"]
