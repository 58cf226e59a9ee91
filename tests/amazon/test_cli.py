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
    from saleschannel.amazon import delivery
    from saleschannel.amazon.models import OutboxMessage, OutboxState
    from saleschannel.sales.services import shipment_create
    from tests.amazon.test_outbound import UPS, two_line_order

    assert "Nothing waiting" in run("outbox", "list")
    ChannelSettings.objects.update_or_create(pk=1, defaults={"outbox_max_attempts": 1})
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    sandbox.set_faults({"confirmShipment": {"500": 1.0}})
    assert delivery.deliver_message(message.pk) == OutboxState.DEAD

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
    assert delivery.deliver_message(message.pk) == OutboxState.ACCEPTED  # what the worker does on commit
    with pytest.raises(CommandError, match="Only a failed message can be retried"):
        run("outbox", "retry", str(message.pk))


# --- Quiet by default, -v 2 shows the requests ---------------------------------------------------------------


def http_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith(("httpx", "httpcore", "sp_api"))]


def test_sync_is_quiet_by_default_and_shows_requests_with_verbosity_2(added, sandbox, caplog):
    sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    out = run("sync", "--store", "Sandbox")
    assert out.splitlines() == [out.strip()] and out.startswith("Sandbox: succeeded")  # one line per store
    assert http_lines(caplog) == []

    for flags in (["-v", "2"], ["-v"], ["--verbosity", "2"]):
        caplog.clear()
        out = run("sync", "--store", "Sandbox", *flags)
        assert out.startswith("Sandbox: succeeded")
        assert any("HTTP Request: GET" in line and "/orders/2026-01-01/orders" in line for line in http_lines(caplog))
    caplog.clear()
    assert run("-v", "0", "sync") == ""  # only failures at 0
    assert http_lines(caplog) == []
    caplog.clear()
    run("backfill", "--store", "Sandbox", "--since", "2026-01-01", "--no-progress")
    assert http_lines(caplog) == []
    run("backfill", "--store", "Sandbox", "--since", "2026-01-01", "--no-progress", "-v", "2")
    assert http_lines(caplog)
    # The levels come back after the command: nothing stays silenced in this process.
    import logging

    assert logging.getLogger("httpx").level == logging.NOTSET


def test_the_real_command_line_prints_one_line_per_store(sandbox, tmp_path):
    """A fresh installation, as a user runs it: no HTTP log lines on the terminal unless -v 2."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SALESCHANNEL_DATA_DIR=str(tmp_path), LWA_SECRET=sandbox.credentials["client_secret"],
               LWA_REFRESH=sandbox.credentials["refresh_token"])

    def cli(*args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "saleschannel", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    assert cli("migrate", "-v", "0").returncode == 0
    assert cli("shell", "-c", "from saleschannel.catalog.models import Store; "
               "Store.objects.create(code='us', name='US', currency='USD', order_number_prefix='US')").returncode == 0
    creds = sandbox.credentials
    added = cli("amazon", "store", "add", "--name", "Sandbox", "--seller-id", creds["seller_id"], "--marketplace", US,
                "--store", "us", "--client-id", creds["client_id"], "--client-secret-env", "LWA_SECRET",
                "--refresh-token-env", "LWA_REFRESH", "--endpoint", sandbox.url, "--token-url", sandbox.token_url,
                "--time-scale", str(TIME_SCALE))
    assert added.returncode == 0, added.stderr
    quiet = cli("amazon", "sync")
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout + quiet.stderr).strip().splitlines() == [quiet.stdout.strip()]
    assert quiet.stdout.startswith("Sandbox: succeeded")
    loud = cli("amazon", "sync", "-v", "2")
    assert loud.returncode == 0 and "HTTP Request: GET" in loud.stderr and "/orders/2026-01-01/orders" in loud.stderr
    assert creds["refresh_token"] not in loud.stderr and creds["client_secret"] not in loud.stderr


# --- A failing store says so ---------------------------------------------------------------------------------


def test_a_failed_sync_and_backfill_print_the_health_and_exit_non_zero(added, sandbox, monkeypatch):
    monkeypatch.setenv("REVOKED", "Atzr|revoked")
    run("store", "edit", "Sandbox", "--refresh-token-env", "REVOKED")
    out = StringIO()
    with pytest.raises(CommandError, match="At least one sync failed; the next pass retries"):
        call_command("amazon", "sync", stdout=out, stderr=out)
    line = out.getvalue().strip()
    assert line.startswith("Sandbox: failed") and len(line.splitlines()) == 1
    assert "Sync failing since " in line and "refused the credentials" in line
    assert "(1 failed pass in a row; administrators are alerted at 3)" in line

    out = StringIO()
    with pytest.raises(CommandError, match="The backfill failed"):
        call_command("amazon", "backfill", "--store", "Sandbox", "--since", "2026-01-01", "--no-progress",
                     stdout=out, stderr=out)
    assert "Sandbox: failed" in out.getvalue() and "(2 failed passes in a row" in out.getvalue()
    with pytest.raises(CommandError):
        run("sync")
    assert "3 failed passes in a row, administrators alerted" in run("store", "list")

    run("store", "edit", "Sandbox", "--refresh-token-env", "LWA_REFRESH_TOKEN")
    settle()
    assert run("sync").startswith("Sandbox: succeeded")
    assert "Sync failing" not in run("store", "list")


# --- A marketplace sells in one currency -----------------------------------------------------------------------


def test_store_add_and_edit_refuse_a_marketplace_in_another_currency(sandbox, commerce_store, monkeypatch):
    from saleschannel.catalog.models import Store

    creds = sandbox.credentials
    monkeypatch.setenv("LWA_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("LWA_REFRESH_TOKEN", creds["refresh_token"])
    common = ["--seller-id", creds["seller_id"], "--client-id", creds["client_id"], "--client-secret-env",
              "LWA_CLIENT_SECRET", "--refresh-token-env", "LWA_REFRESH_TOKEN", "--endpoint", sandbox.url]
    with pytest.raises(CommandError) as refused:
        run("store", "add", "--name", "France", "--region", "EU", "--marketplace", "A13V1IB3VIYZZH", "--store", "us",
            *common)
    assert str(refused.value) == ("Marketplace A13V1IB3VIYZZH (France) sells in EUR; Commerce store 'us' is in USD. "
                                  "Choose a EUR store or another marketplace.")
    assert not AmazonStore.objects.exists()

    Store.objects.create(code="eu", name="EU Store", currency="EUR", order_number_prefix="EU")
    assert "added" in run("store", "add", "--name", "France", "--region", "EU", "--marketplace", "A13V1IB3VIYZZH",
                          "--marketplace", "A1PA6795UKMFR9", "--store", "eu", *common)
    with pytest.raises(CommandError, match=r"Marketplace A1F83G8C2ARO7P \(United Kingdom\) sells in GBP; Commerce "
                                           r"store 'eu' is in EUR. Choose a GBP store or another marketplace."):
        run("store", "edit", "France", "--marketplace", "A13V1IB3VIYZZH", "--marketplace", "A1F83G8C2ARO7P")
    with pytest.raises(CommandError, match="Marketplace A13V1IB3VIYZZH .France. sells in EUR; Commerce store 'us'"):
        run("store", "edit", "France", "--store", "us")
    store = AmazonStore.objects.get(name="France")
    assert store.marketplace_ids == ["A13V1IB3VIYZZH", "A1PA6795UKMFR9"] and store.store.code == "eu"


def test_the_marketplace_table_knows_every_marketplace_of_the_library():
    from sp_api.base import Marketplaces

    from saleschannel.amazon.marketplaces import MARKETPLACES

    assert {m.marketplace_id for m in Marketplaces} <= set(MARKETPLACES)
    assert MARKETPLACES["ATVPDKIKX0DER"].currency == "USD" and MARKETPLACES["A1VC38T7YXB528"].currency == "JPY"


# --- outbox send -------------------------------------------------------------------------------------------------


class FakeTerminal(StringIO):
    """What a terminal looks like to the command (rich draws its progress bar only on one)."""

    def isatty(self) -> bool:
        return True


def send(*args, stdout=None) -> str:
    out = stdout or StringIO()
    call_command("amazon", "outbox", "send", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_outbox_send_delivers_what_is_due_and_follows_the_feeds(amazon_store, sandbox, staff_user):
    from saleschannel.amazon import services
    from saleschannel.amazon.models import OutboxKind, OutboxMessage, OutboxState
    from saleschannel.sales.services import shipment_create
    from tests.amazon.test_outbound import UPS, two_line_order

    assert send() == "Nothing to send: no outbound message is due.\n"
    shipped = two_line_order(sandbox, amazon_store)
    shipment_create(order=shipped.commerce_order, tracks=[UPS], actor=staff_user)
    canceled = two_line_order(sandbox, amazon_store)
    services.amazon_order_cancel(amazon_order=canceled, reason="NoInventory", actor=staff_user)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.QUEUED}

    out = send("--wait", "30")
    assert "Outbox: 2 accepted by Amazon, 0 failed, 0 still pending" in out
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxState.ACCEPTED}
    cancel = OutboxMessage.objects.get(kind=OutboxKind.CANCEL)
    assert cancel.feed_status == "DONE" and sandbox.order(canceled.amazon_order_id)["status"] == "Canceled"
    assert sandbox.order(shipped.amazon_order_id)["status"] == "Shipped"
    assert send() == "Nothing to send: no outbound message is due.\n"


def test_outbox_send_exits_non_zero_while_a_feed_is_still_processing(amazon_store, sandbox, staff_user):
    from saleschannel.amazon import services
    from saleschannel.amazon.models import OutboxMessage, OutboxState
    from tests.amazon.test_outbound import two_line_order

    canceled = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=canceled, reason="NoInventory", actor=staff_user)
    out = StringIO()
    with pytest.raises(CommandError, match="0 failed, 1 still pending"):
        send("--wait", "0", stdout=out)
    assert f"Still pending: {message.pk}: Cancellation for {canceled.amazon_order_id} — feed " in out.getvalue()
    assert "not processed yet" in out.getvalue()
    message.refresh_from_db()
    assert message.state == OutboxState.SENT and message.feed_id

    # The next run follows the feed it did not send (sent once only) to the end.
    assert "1 accepted by Amazon, 0 failed, 0 still pending" in send("--wait", "30")
    message.refresh_from_db()
    assert message.state == OutboxState.ACCEPTED
    assert len(sandbox.feeds()) == 1 and OutboxMessage.objects.count() == 1


def test_outbox_send_reports_a_failure_and_does_not_retry_it_in_the_same_run(amazon_store, sandbox, staff_user):
    from saleschannel.amazon.models import OutboxMessage, OutboxState
    from saleschannel.sales.services import shipment_create
    from tests.amazon.test_outbound import UPS, two_line_order

    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    sandbox.set_faults({"confirmShipment": {"500": 1.0}})
    out = StringIO()
    with pytest.raises(CommandError, match="1 failed, 0 still pending"):
        send("--wait", "5", stdout=out)
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == (OutboxState.FAILED, 1)
    assert (f"Failed: {message.pk}: Shipment confirmation for {amazon.amazon_order_id} — failed: Amazon had a "
            "temporary problem (HTTP 500).; next attempt ") in out.getvalue()

    # Its back-off has not run out: the next run has nothing due, but says it is still pending.
    with pytest.raises(CommandError, match="0 failed, 1 still pending"):
        send("--wait", "0")
    sandbox.set_faults()
    OutboxMessage.objects.update(next_attempt_at=None)  # the back-off ran out
    assert "1 accepted by Amazon" in send()


def test_outbox_send_for_one_store_held_in_read_only_and_with_a_progress_bar(amazon_store, sandbox, staff_user):
    from saleschannel.amazon.models import OutboxMessage, OutboxState
    from saleschannel.amazon.services import channel_read_only_set
    from saleschannel.sales.services import shipment_create
    from tests.amazon.conftest import connect_store
    from tests.amazon.test_outbound import UPS, two_line_order

    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    connect_store(sandbox, amazon_store.store, name="Other")
    assert send("--store", "Other") == "Nothing to send: no outbound message is due.\n"
    assert OutboxMessage.objects.get().state == OutboxState.QUEUED

    channel_read_only_set(read_only=True)
    out = StringIO()
    with pytest.raises(CommandError, match="0 failed, 1 still pending"):
        send("--store", amazon_store.name, stdout=out)
    assert "Read-only mode is on: nothing was sent; 1 message(s) wait in the queue." in out.getvalue()
    assert OutboxMessage.objects.get().state == OutboxState.QUEUED
    channel_read_only_set(read_only=False)

    terminal = FakeTerminal()
    send("--store", amazon_store.name, stdout=terminal)
    shown = terminal.getvalue()
    assert "Outbox" in shown and "1/1" in shown and "1 accepted" in shown and "━" in shown  # rich's bar
    assert OutboxMessage.objects.get().state == OutboxState.ACCEPTED
