"""``saleschannel amazon ...`` commands against the sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from saleschannel.amazon.models import AmazonStore, ChannelSettings
from saleschannel.sales.models import Order
from tests.amazon.conftest import TIME_SCALE, US, settle

pytestmark = pytest.mark.django_db


def run(*args, **env) -> str:
    out = StringIO()
    call_command("amazon", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def added(sandbox, commerce_store, catalog, monkeypatch):
    creds = sandbox.credentials
    monkeypatch.setenv("LWA_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("LWA_REFRESH_TOKEN", creds["refresh_token"])
    out = run("store", "add", "--name", "Sandbox", "--seller-id", creds["seller_id"], "--marketplace", US,
              "--store", commerce_store.code, "--client-id", creds["client_id"],
              "--client-secret-env", "LWA_CLIENT_SECRET", "--refresh-token-env", "LWA_REFRESH_TOKEN",
              "--endpoint", sandbox.url, "--token-url", sandbox.token_url, "--time-scale", str(TIME_SCALE))
    assert 'Amazon store "Sandbox" added' in out
    assert creds["client_secret"] not in out
    return AmazonStore.objects.get(name="Sandbox")


def test_store_add_list_edit_test(added, sandbox):
    creds = sandbox.credentials
    assert added.credentials().client_secret == creds["client_secret"]
    listing = run("store", "list")
    assert "Sandbox" in listing and "•••• set" in listing
    assert creds["client_secret"] not in listing and creds["refresh_token"] not in listing
    run("store", "edit", "Sandbox", "--frequency", "12", "--no-reserve-pending", "--customer-creation", "account")
    added.refresh_from_db()
    assert (added.sync_frequency_minutes, added.reserve_pending, added.customer_creation) == (12, False, "account")
    assert "Connected to Amazon" in run("store", "test", "Sandbox")
    with pytest.raises(CommandError, match="less than or equal to 60"):
        run("store", "edit", "Sandbox", "--frequency", "61")
    with pytest.raises(CommandError, match="No Amazon store"):
        run("store", "test", "Nope")


def test_missing_secret_env_is_refused(sandbox, commerce_store, monkeypatch):
    monkeypatch.delenv("NOT_SET", raising=False)
    with pytest.raises(CommandError, match="NOT_SET"):
        run("store", "add", "--name", "X", "--seller-id", "A1", "--marketplace", US, "--store", commerce_store.code,
            "--client-id", "c", "--client-secret-env", "NOT_SET", "--refresh-token", "r")
    assert not AmazonStore.objects.exists()


def test_sync_and_backfill(added, sandbox):
    ids = sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    out = run("sync", "--store", "Sandbox")
    assert "succeeded" in out and "3 imported" in out
    more = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped",
                                 created_at="2026-01-05T10:00:00Z")
    settle()
    out = run("backfill", "--store", "Sandbox", "--since", "2026-01-01", "--no-progress")
    assert "succeeded" in out
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(ids + more)
    with pytest.raises(CommandError, match="--since"):
        run("backfill", "--store", "Sandbox", "--since", "yesterday")


def test_readonly_switch():
    assert "ON" in run("readonly", "on") and ChannelSettings.load().read_only
    assert "off" in run("readonly", "off") and not ChannelSettings.load().read_only
    assert "off" in run("readonly", "status")


def test_outbox_list_and_retry(amazon_store, sandbox, staff_user):
    from saleschannel.amazon import outbound
    from saleschannel.amazon.models import OutboxMessage, OutboxState
    from saleschannel.sales.services import shipment_create
    from tests.amazon.test_outbound import UPS, two_line_order

    assert "Nothing waiting" in run("outbox", "list")
    ChannelSettings.objects.update_or_create(pk=1, defaults={"outbox_max_attempts": 1})
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    sandbox.set_faults({"confirmShipment": {"500": 1.0}})
    assert outbound.deliver_message(message.pk) == OutboxState.DEAD

    listing = run("outbox", "list", "--state", "dead")
    assert str(message.pk) in listing and amazon.amazon_order_id in listing and "HTTP 500" in listing
    assert "No outbound message in that state" in run("outbox", "list", "--state", "sent")

    with pytest.raises(CommandError, match="No outbound message with id 999999"):
        run("outbox", "retry", "999999")
    with pytest.raises(CommandError, match="not both"):
        run("outbox", "retry")
    sandbox.set_faults()
    out = run("outbox", "retry", "--all-dead")
    assert f"{message.pk}: Shipment confirmation for {amazon.amazon_order_id} queued again" in out
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxState.QUEUED, 0)  # a fresh count of attempts
    assert outbound.deliver_message(message.pk) == OutboxState.ACCEPTED  # what the worker does on commit
    with pytest.raises(CommandError, match="Only a failed message can be retried"):
        run("outbox", "retry", str(message.pk))
