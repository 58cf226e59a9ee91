"""Amazon stores: credentials encrypted at rest, never shown back; the channel settings singleton; constraints."""

from __future__ import annotations

import os
import stat
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from saleschannel.amazon import crypto
from saleschannel.amazon.models import AmazonOrder, AmazonStore, ChannelSettings, OutboxMessage
from saleschannel.amazon.services import (
    AmazonChannelError,
    amazon_store_create,
    amazon_store_order_settings_update,
    amazon_store_update,
    channel_read_only_set,
)
from saleschannel.catalog.models import Store

pytestmark = pytest.mark.django_db

SECRET = "amzn1.oa2-cs.v1.super-secret-value"
REFRESH = "Atzr|IwEBIA-refresh-token-value"


@pytest.fixture
def store(db):
    return Store.objects.create(code="us", name="US", currency="USD")


def make(store, **kwargs):
    options = dict(name="Main", seller_id="A1SELLER", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                   client_id="amzn1.application-oa2-client.abc", client_secret=SECRET, refresh_token=REFRESH)
    options.update(kwargs)
    return amazon_store_create(**options)


def test_credentials_are_encrypted_at_rest_and_never_shown(store):
    amazon_store = make(store)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM amazon_amazonstore")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert SECRET not in row and REFRESH not in row and "amzn1.application-oa2-client.abc" not in row
    fresh = AmazonStore.objects.get(pk=amazon_store.pk)
    creds = fresh.credentials()
    assert (creds.client_secret, creds.refresh_token) == (SECRET, REFRESH)
    assert SECRET not in repr(creds) and SECRET not in repr(fresh) and SECRET not in str(fresh)
    assert fresh.credentials_set == {"client_id": True, "client_secret": True, "refresh_token": True}


def test_empty_credential_on_update_keeps_the_stored_one(store):
    amazon_store = make(store)
    amazon_store_update(amazon_store=amazon_store, client_secret="", refresh_token=None, sync_frequency_minutes=7)
    fresh = AmazonStore.objects.get(pk=amazon_store.pk)
    assert fresh.credentials().client_secret == SECRET and fresh.sync_frequency_minutes == 7
    amazon_store_update(amazon_store=fresh, client_secret="new-secret")
    assert AmazonStore.objects.get(pk=amazon_store.pk).credentials().client_secret == "new-secret"


def test_key_file_is_generated_once_private_and_env_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESCHANNEL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    token = crypto.encrypt("hello")
    assert crypto.decrypt(token) == "hello" and "hello" not in token
    key_file = tmp_path / crypto.KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert crypto.decrypt(crypto.encrypt("again")) == "again"
    assert key_file.read_bytes().strip()  # the same file reused
    # A key from the environment (with the old one second, for rotation) reads both.
    new_key = crypto.generate_key()
    monkeypatch.setenv(crypto.KEY_ENV, f"{new_key},{key_file.read_text().strip()}")
    assert crypto.decrypt(token) == "hello"
    rotated = crypto.encrypt("rotated")
    monkeypatch.setenv(crypto.KEY_ENV, crypto.generate_key())
    with pytest.raises(crypto.CredentialDecryptionError) as caught:
        crypto.decrypt(rotated)
    assert "Enter them again" in str(caught.value)


def test_validation_refuses_bad_input_and_changes_nothing(store):
    with pytest.raises(AmazonChannelError) as caught:
        make(store, marketplace_ids=[])
    assert caught.value.field == "marketplace_ids"
    with pytest.raises(AmazonChannelError) as caught:
        make(store, client_secret="")
    assert caught.value.field == "client_secret"
    with pytest.raises(AmazonChannelError):
        make(store, region="XX")
    amazon_store = make(store)
    with pytest.raises(AmazonChannelError) as caught:
        amazon_store_update(amazon_store=amazon_store, sync_frequency_minutes=61)
    assert caught.value.field == "sync_frequency_minutes"
    with pytest.raises(AmazonChannelError) as caught:
        amazon_store_update(amazon_store=amazon_store, order_status_mode="custom", custom_processing_status="complete")
    assert caught.value.field == "custom_processing_status"
    assert AmazonStore.objects.get(pk=amazon_store.pk).sync_frequency_minutes == 5


def test_order_settings_defaults_and_greying_out(store):
    amazon_store = make(store)
    assert (amazon_store.import_enabled, amazon_store.customer_creation, amazon_store.order_number_source,
            amazon_store.reserve_pending, amazon_store.order_status_mode, amazon_store.invoice_on_import,
            amazon_store.import_fba, amazon_store.sync_frequency_minutes) == (
        True, "guest", "commerce", True, "default", True, True, 5)
    assert amazon_store.target_store == store and amazon_store.time_scale == Decimal("1")
    amazon_store_order_settings_update(amazon_store=amazon_store, import_enabled=False, invoice_on_import=False)
    fresh = AmazonStore.objects.get(pk=amazon_store.pk)
    assert not fresh.import_enabled and fresh.invoice_on_import  # greyed-out fields keep their values
    amazon_store_order_settings_update(amazon_store=fresh, import_enabled=True, sync_frequency_minutes=15)
    assert AmazonStore.objects.get(pk=amazon_store.pk).sync_frequency_minutes == 15


def test_read_only_mode_singleton():
    assert not ChannelSettings.load().read_only
    channel_read_only_set(read_only=True)
    assert ChannelSettings.load().read_only and ChannelSettings.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelSettings.objects.create(pk=2)


def test_uniqueness_is_a_database_constraint(store):
    from django.utils import timezone

    from saleschannel.sales.models import Order

    amazon_store = make(store)
    first = AmazonOrder.objects.create(store=amazon_store, amazon_order_id="111-0000000-0000001",
                                       purchase_date=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        AmazonOrder.objects.create(store=amazon_store, amazon_order_id="111-0000000-0000001",
                                   purchase_date=timezone.now())
    commerce = Order.objects.create(number="X1", store=store, currency="USD", customer_email="a@b.c",
                                    customer_first_name="A", customer_last_name="B", created_at=timezone.now())
    first.commerce_order = commerce
    first.save()
    second = AmazonOrder.objects.create(store=amazon_store, amazon_order_id="111-0000000-0000002",
                                        purchase_date=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        AmazonOrder.objects.filter(pk=second.pk).update(commerce_order=commerce)
    OutboxMessage.objects.create(amazon_order=first, kind="shipment", idempotency_key="k1", package_reference_id=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(amazon_order=first, kind="shipment", idempotency_key="k2",
                                     package_reference_id=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(amazon_order=second, kind="cancel", idempotency_key="k1")
