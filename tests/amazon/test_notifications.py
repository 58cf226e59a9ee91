"""Real-time ORDER_CHANGE notifications, end to end: the sandbox (Notifications API v1, delivery to SQS), moto in
server mode as the SQS queue (reached with boto3 as AWS would be), and the product's services and consumer over real
HTTP. The consumer runs in the test's thread (``poll_once``), so it sees the test's database."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

pytest.importorskip("moto.server", reason="moto[server] is not installed: no local SQS for the notification tests")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")

from saleschannel.amazon import notifications  # noqa: E402
from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, AmazonStore  # noqa: E402
from saleschannel.amazon.notification_consumer import Consumer, ConsumerSupervisor  # noqa: E402
from saleschannel.amazon.notification_health import HEALTHY_SWEEP_MINUTES, health, sweep_minutes  # noqa: E402
from saleschannel.amazon.notification_models import NotificationDeadLetter, StoreNotifications  # noqa: E402
from saleschannel.amazon.spapi.gateway import Gateway  # noqa: E402
from saleschannel.amazon.spapi.notifications import NotificationsGateway  # noqa: E402
from saleschannel.amazon.tasks import stores_due  # noqa: E402
from saleschannel.sandbox.sqs import run_moto  # noqa: E402
from saleschannel.sandbox.testing import run_sandbox  # noqa: E402

from .conftest import PENDING_DELAY, TIME_SCALE, US, connect_store, settle, sync  # noqa: E402

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    with run_moto(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory, moto_url):
    """Overrides the package's fixture: the same sandbox, delivering notifications to moto."""
    from tests.sandbox.fixtures import contract_models

    with run_sandbox(tmp_path_factory.mktemp("sandbox"), time_scale=TIME_SCALE, pending_delay_seconds=PENDING_DELAY,
                     contract_models=contract_models(), extra_args=["--sqs-endpoint", moto_url]) as handle:
        yield handle


@pytest.fixture
def sqs(moto_url):
    return boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture
def queue_url(sqs):
    url = sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def store(sandbox, commerce_store, catalog, queue_url):
    store = connect_store(sandbox, commerce_store)
    notifications.configure(store, mode="sandbox", queue_url=queue_url)
    report = notifications.setup(store)
    assert report.ok, report.lines
    return store


def consumer(store, **options) -> Consumer:
    options.setdefault("wait_seconds", 1)
    return Consumer(store, **options)


def consume_until(store, condition, *, rounds: int = 15, **options):
    """Poll the queue (long polls of 1 s) until ``condition()`` is true."""
    reader = consumer(store, **options)
    try:
        for _round in range(rounds):
            reader.poll_once()
            if condition():
                return reader
        raise AssertionError("the consumer did not get there")
    finally:
        reader.close()


def drain(store, **options) -> int:
    """Poll until a receive brings nothing; returns how many messages were received."""
    reader = consumer(store, **options)
    total = 0
    try:
        while (received := reader.poll_once()):
            total += received
    finally:
        reader.close()
    return total


def sent(sandbox, order_id: str) -> int:
    return sum(m["copies"] for m in sandbox.notifications(order_id=order_id, state="sent")["messages"])


# ---- setup / status / test / disable ------------------------------------------------------------------------------

def test_setup_is_idempotent_and_reports_what_exists(store, sandbox, capsys):
    again = notifications.setup(store)
    assert again.ok
    assert any("exists for this queue" in line for line in again.lines)
    assert any("subscription" in line and "exists" in line for line in again.lines)
    settings = StoreNotifications.objects.get(store=store)
    assert settings.destination_id and settings.subscription_id
    with Gateway.for_store(store) as gateway:
        subscription = NotificationsGateway(gateway).get_subscription()
    assert subscription["subscriptionId"] == settings.subscription_id
    assert subscription["destinationId"] == settings.destination_id
    assert subscription["processingDirective"]["eventFilter"] == {
        "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
        "marketplaceIds": [US]}
    status = notifications.status(store)
    assert status.ok, status.lines
    assert any(line.startswith("Subscription: " + settings.subscription_id) for line in status.lines)
    tested = notifications.test(store)
    assert not tested.ok and "Cannot send a test notification" in tested.lines[0]
    disabled = notifications.disable(store)
    assert any("deleted" in line for line in disabled.lines)
    assert StoreNotifications.objects.get(store=store).subscription_id == ""
    assert any("nothing to delete" in line for line in notifications.disable(store).lines)
    assert not notifications.status(store).ok
    assert notifications.setup(store).ok  # subscribed again


def test_cli(store, capsys, monkeypatch):

    call_command("amazon", "notifications", "status", "--store", store.name)
    out = capsys.readouterr().out
    assert "Mode: sandbox" in out and "Subscription:" in out
    call_command("amazon", "notifications", "setup", "--store", store.name)
    assert "exists" in capsys.readouterr().out
    monkeypatch.setenv("SC_TEST_KEY", "AKIAEXAMPLE")
    monkeypatch.setenv("SC_TEST_SECRET", "cli-secret")
    call_command("amazon", "notifications", "configure", "--store", store.name, "--mode", "aws", "--queue-url",
                 "https://sqs.us-east-1.amazonaws.com/123456789012/orders", "--region", "us-east-1",
                 "--access-key-id-env", "SC_TEST_KEY", "--secret-access-key-env", "SC_TEST_SECRET")
    assert "aws" in capsys.readouterr().out
    assert StoreNotifications.objects.get(store=store).aws_keys() == ("AKIAEXAMPLE", "cli-secret")
    with pytest.raises(CommandError):
        call_command("amazon", "notifications", "configure", "--store", store.name, "--mode", "aws",
                     "--queue-url", "not a url")
    call_command("amazon", "notifications", "configure", "--store", store.name, "--mode", "off")
    with pytest.raises(CommandError, match="off"):
        call_command("amazon", "notifications", "setup", "--store", store.name)


def test_aws_settings_are_encrypted_and_checked(store, monkeypatch):
    with pytest.raises(notifications.NotificationSetupError):
        notifications.configure(store, mode="aws", queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q")
    settings = notifications.configure(store, mode="aws", region="eu-west-1",
                                       queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q",
                                       access_key_id="AKIAEXAMPLE", secret_access_key="very-secret")
    raw = StoreNotifications.objects.filter(pk=settings.pk).values().get()
    assert "very-secret" not in json.dumps(raw, default=str)
    assert settings.aws_keys() == ("AKIAEXAMPLE", "very-secret")


# ---- the consumer ------------------------------------------------------------------------------------------------

def test_a_status_change_reaches_the_commerce_order(store, sandbox):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
    consume_until(store, lambda: AmazonOrder.objects.filter(amazon_order_id=order_id,
                                                            commerce_order__isnull=False).exists())
    assert AmazonOrder.objects.get(amazon_order_id=order_id).status == AmazonOrderStatus.UNSHIPPED
    sandbox.amazon_cancel(order_id)
    consume_until(store, lambda: AmazonOrder.objects.get(amazon_order_id=order_id).amazon_status
                  == AmazonOrderStatus.CANCELED)
    state = health(store)
    assert state["healthy"] and state["last_received_at"] and state["orders_imported"] >= 2
    assert state["lag_seconds"] is not None and state["lag_seconds"] < 60
    assert sweep_minutes(store) == max(store.sync_frequency_minutes, HEALTHY_SWEEP_MINUTES)


def test_duplicates_and_older_messages_import_once_and_never_regress(store, sandbox, sqs, queue_url):
    sandbox.set_notification_faults(duplicate=1.0, seed=3)
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
    sandbox.wait_until(lambda: sent(sandbox, order_id) >= 2, message="the duplicated notification")
    # Read the two copies without consuming them, keep one to send again later (an old, late notification).
    old = None
    while old is None:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           VisibilityTimeout=0).get("Messages", []):
            old = message["Body"]
    drain(store)
    first = AmazonOrder.objects.select_related("commerce_order").get(amazon_order_id=order_id)
    commerce_id = first.commerce_order_id
    assert commerce_id is not None
    settings = StoreNotifications.objects.get(store=store)
    assert settings.orders_imported == 1 and settings.messages_skipped >= 1
    get_orders = len(sandbox.requests(operation="getOrder2026")) + len(sandbox.requests(operation="getOrder"))

    sandbox.amazon_cancel(order_id)
    sandbox.wait_until(lambda: sent(sandbox, order_id) >= 4, message="the cancellation's notifications")
    drain(store)
    canceled = AmazonOrder.objects.get(amazon_order_id=order_id)
    assert canceled.amazon_status == AmazonOrderStatus.CANCELED
    # The old "Unshipped" notification comes late: skipped, without asking Amazon, and the order stays Canceled.
    sqs.send_message(QueueUrl=queue_url, MessageBody=old)
    before = len(sandbox.requests(operation="getOrder2026")) + len(sandbox.requests(operation="getOrder"))
    assert drain(store) == 1
    after = len(sandbox.requests(operation="getOrder2026")) + len(sandbox.requests(operation="getOrder"))
    assert after == before
    final = AmazonOrder.objects.get(amazon_order_id=order_id)
    assert final.amazon_status == AmazonOrderStatus.CANCELED and final.commerce_order_id == commerce_id
    assert AmazonOrder.objects.filter(amazon_order_id=order_id).count() == 1
    assert get_orders >= 1


def test_a_poison_message_is_dead_lettered(store, sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="{not json")
    drain(store)
    letter = NotificationDeadLetter.objects.get(store=store)
    assert "Unreadable" in letter.note and letter.body == "{not json"
    # An order Amazon does not know: fails at each receive, a dead letter at the N-th, with the error as its note.
    unknown = {"NotificationType": "ORDER_CHANGE", "NotificationMetadata": {"NotificationId": "n-1"},
               "Payload": {"OrderChangeNotification": {"AmazonOrderId": "111-0000000-0000000",
                                                       "OrderChangeTrigger": {}}}}
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(unknown))
    consume_until(store, lambda: NotificationDeadLetter.objects.filter(amazon_order_id="111-0000000-0000000").exists(),
                  visibility_timeout=1, max_receives=2)
    letter = NotificationDeadLetter.objects.get(amazon_order_id="111-0000000-0000000")
    assert letter.receive_count == 2 and "Failed 2 times" in letter.note and letter.notification_id == "n-1"
    assert health(store)["dead_letters"] == 2
    assert drain(store) == 0  # gone from the queue


def test_unreachable_queue_shows_in_health_and_the_sweep_falls_back(store, sandbox, queue_url, moto_url):
    drain(store)
    assert health(store)["healthy"]
    assert sweep_minutes(store) == HEALTHY_SWEEP_MINUTES
    # Swept 6 minutes ago: not due while notifications are healthy (every 15 minutes), due once they are not.
    AmazonStore.objects.filter(pk=store.pk).update(last_sync_attempt_at=timezone.now() - timedelta(minutes=6))
    assert store.pk not in [s.pk for s in stores_due()]
    StoreNotifications.objects.filter(store=store).update(queue_url=f"{moto_url}/123456789012/no-such-queue")
    reader = consumer(store)
    try:
        assert reader.poll_once() == 0
    finally:
        reader.close()
    state = health(store)
    assert not state["healthy"] and state["queue_error"] and state["queue_error_since"]
    assert sweep_minutes(store) == store.sync_frequency_minutes
    assert store.pk in [s.pk for s in stores_due()]
    status = notifications.status(store)
    assert not status.ok and any("cannot be reached" in line for line in status.lines)


def test_the_sweep_finds_lost_notifications_and_counts_them(store, sandbox):
    sandbox.set_notification_faults(loss=1.0, seed=1)
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
    sandbox.wait_until(lambda: sandbox.notifications(order_id=order_id, state="lost")["messages"],
                       message="the lost notification")
    settle()
    drain(store)  # nothing arrives, but the consumer polled: notifications are healthy
    assert not AmazonOrder.objects.filter(amazon_order_id=order_id).exists()
    sync(store)
    assert AmazonOrder.objects.filter(amazon_order_id=order_id, commerce_order__isnull=False).exists()
    state = health(store)
    assert state["sweep_unannounced"] == 1 and state["sweep_unannounced_total"] == 1


class Crash(BaseException):
    """The consumer's process dying (kill -9) between the order's commit and the message's delete."""


def test_a_crash_between_commit_and_delete_loses_nothing_and_imports_once(store, sandbox):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
    sandbox.wait_until(lambda: sent(sandbox, order_id) >= 1, message="the notification")

    def crash(_order_id):
        raise Crash

    reader = consumer(store, visibility_timeout=1, after_commit=crash)
    with pytest.raises(Crash):
        for _round in range(10):
            reader.poll_once()
    reader.close()
    order = AmazonOrder.objects.get(amazon_order_id=order_id)  # committed, the message still in the queue
    commerce_id = order.commerce_order_id
    assert commerce_id is not None
    consume_until(store, lambda: StoreNotifications.objects.get(store=store).messages_skipped >= 1,
                  visibility_timeout=1)
    assert drain(store) == 0  # the message came back once, was skipped as a duplicate, and deleted
    assert AmazonOrder.objects.get(amazon_order_id=order_id).commerce_order_id == commerce_id
    assert StoreNotifications.objects.get(store=store).orders_imported == 1


@pytest.mark.django_db(transaction=True)
def test_the_workers_supervisor_consumes_in_its_own_threads(store, sandbox):
    supervisor = ConsumerSupervisor(store_ids=[store.pk], wait_seconds=1).start()
    try:
        [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
        sandbox.wait_until(lambda: AmazonOrder.objects.filter(amazon_order_id=order_id,
                                                              commerce_order__isnull=False).exists(),
                           timeout=20, interval=0.2, message="the worker's consumer importing the order")
    finally:
        supervisor.shutdown(timeout=10)
    assert not any(t.is_alive() for t in supervisor._threads.values())
