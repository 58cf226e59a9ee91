"""Consumer restart loses nothing: kill -9 between the import's commit and the message's delete (issue 14).

A real consumer process (``saleschannel amazon notifications consume --store S``) receives an ORDER_CHANGE
message, imports the order and commits, and stops at the consumer's test pause point (``PAUSE_FILE_ENV``) before it
deletes the message; it is then killed with SIGKILL. The order is there once and the message is still in the queue;
a second consumer process receives it again after the visibility timeout, skips it as a duplicate and deletes it: the
order is still imported exactly once, and nothing is dead-lettered.

The consumer must share the test database: SQLite's test database lives in memory, private to this process, so this
test runs on PostgreSQL (``DATABASE_URL``, as in CI) and is skipped on SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

pytest.importorskip("moto.server", reason="moto[server] is not installed: no local SQS for the notification tests")
pytest.importorskip("boto3", reason="boto3 is not installed")

from saleschannel.amazon.models import AmazonOrder  # noqa: E402
from saleschannel.amazon.notification_consumer import PAUSE_FILE_ENV  # noqa: E402
from saleschannel.amazon.notification_models import NotificationDeadLetter, StoreNotifications  # noqa: E402
from saleschannel.sales.models import Order  # noqa: E402

from . import test_notifications as notification_tests  # noqa: E402

# The fixtures of the notification tests: moto, the sandbox delivering to it (module-scoped), a queue, the store
# subscribed to it.
moto_url = notification_tests.moto_url
sandbox_server = notification_tests.sandbox_server
sqs = notification_tests.sqs
queue_url = notification_tests.queue_url
store = notification_tests.store
sent = notification_tests.sent

pytestmark = pytest.mark.django_db(transaction=True)

VISIBILITY_TIMEOUT = 2  # seconds: the message of the killed consumer comes back quickly

# The consumer process: the CLI command, with 1-second long polls and a short visibility timeout (the Consumer's
# defaults; the command itself takes no such options).
CONSUMER = f"""
import sys
import django
django.setup()
from saleschannel import cli
from saleschannel.amazon.notification_consumer import Consumer
Consumer.__init__.__kwdefaults__.update(wait_seconds=1, visibility_timeout={VISIBILITY_TIMEOUT})
cli.main(["saleschannel", "amazon", "notifications", "consume", "--store", sys.argv[1]])
"""


def start_consumer(settings, store, tmp_path, name: str, *, pause_file=None) -> subprocess.Popen:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "saleschannel.settings",
           "SALESCHANNEL_DATA_DIR": str(settings.DATA_DIR), "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    env.pop(PAUSE_FILE_ENV, None)
    if pause_file is not None:
        env[PAUSE_FILE_ENV] = str(pause_file)
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process, in stop()
    process = subprocess.Popen([sys.executable, "-c", CONSUMER, str(store.pk)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    process.log = log
    return process


def output(process: subprocess.Popen) -> str:
    process.log.flush()
    with open(process.log.name, errors="replace") as log:
        return log.read()


def wait_for(condition, process: subprocess.Popen, *, timeout: float = 60, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if process.poll() is not None:
            raise AssertionError(f"the consumer exited ({process.returncode}) before {message}:\n{output(process)}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}:\n{output(process)}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    try:
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(10)
    finally:
        process.log.close()


def in_queue(sqs, queue_url) -> int:
    """Messages in the queue, visible or not (received by a consumer and not deleted)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_a_consumer_killed_between_commit_and_delete_loses_nothing_and_imports_once(store, sandbox, sqs, queue_url,
                                                                                     settings, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("the test database is SQLite in memory: the consumer's process cannot open it (runs on "
                    "PostgreSQL, as in CI)")
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", fulfillment="MFN")
    sandbox.wait_until(lambda: sent(sandbox, order_id) >= 1, message="the notification")
    assert in_queue(sqs, queue_url) == 1

    # 1. The consumer imports the order, commits, and waits at the pause point, before the delete: kill -9 it there.
    pause = tmp_path / "paused"
    first = start_consumer(settings, store, tmp_path, "first", pause_file=pause)
    try:
        paused_at = wait_for(lambda: pause.exists() and pause.read_text(), first,
                             message="the consumer's commit (its pause point before the delete)")
    except BaseException:
        stop(first, signal.SIGKILL)
        raise
    assert paused_at == order_id
    assert stop(first, signal.SIGKILL) == -signal.SIGKILL
    assert pause.exists()  # it never went past the pause point

    # The import committed: one Amazon order, one Commerce order. The message was not deleted.
    order = AmazonOrder.objects.get(amazon_order_id=order_id)
    commerce_id = order.commerce_order_id
    assert commerce_id is not None
    assert Order.objects.filter(origin="amazon", external_order_number=order_id).count() == 1
    assert StoreNotifications.objects.get(store=store).orders_imported == 1
    assert in_queue(sqs, queue_url) == 1  # still there, invisible until the visibility timeout runs out

    # 2. A new consumer (no pause point) gets the message again once it is visible, skips it and deletes it.
    pause.unlink()
    second = start_consumer(settings, store, tmp_path, "second")
    try:
        wait_for(lambda: StoreNotifications.objects.get(store=store).messages_skipped >= 1 and not in_queue(
            sqs, queue_url), second, timeout=VISIBILITY_TIMEOUT + 60, message="the message received again and deleted")
    finally:
        code = stop(second)
    assert code == 0, output(second)

    assert in_queue(sqs, queue_url) == 0  # consumed and deleted
    assert AmazonOrder.objects.filter(amazon_order_id=order_id).count() == 1
    assert AmazonOrder.objects.get(amazon_order_id=order_id).commerce_order_id == commerce_id
    assert Order.objects.filter(origin="amazon", external_order_number=order_id).count() == 1  # imported once
    state = StoreNotifications.objects.get(store=store)
    assert state.orders_imported == 1 and state.messages_skipped == 1
    assert not NotificationDeadLetter.objects.filter(store=store).exists()  # no dead letter
