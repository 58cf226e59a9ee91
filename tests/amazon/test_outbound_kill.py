"""SIGKILL at each step of a feed submission: the refund still reaches Amazon once (issue 11, finding 1).

A real worker process (``deliver_message`` in a subprocess) is killed with SIGKILL at one step of a refund's
submission; then delivery goes on in this process once the dead worker's lease has run out. Each step ends with
exactly one refund feed on the sandbox and the credit memo's amount refunded once.

The worker must share the test database: SQLite's test database lives in memory, private to this process, so
these tests run on PostgreSQL (``DATABASE_URL``, as in CI) and are skipped on SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from saleschannel.amazon.models import OutboxMessage, OutboxState
from tests.amazon.test_outbound import deliver_until_done
from tests.amazon.test_outbound_unknown import refund_feeds, refund_message, refunded_on_amazon

pytestmark = pytest.mark.django_db(transaction=True)

# The worker: deliver one message, SIGKILL itself when the submission reaches the step named on the command line.
WORKER = """
import os, signal, sys
import django
django.setup()
from saleschannel.amazon import delivery, feed_delivery
def at_step(name):
    if name == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
feed_delivery.feed_step_hook = at_step
print(delivery.deliver_message(int(sys.argv[1]), force=True))
"""

# Step → feeds Amazon has when the worker dies there.
STEPS = {"marked": 0, "document": 0, "uploaded": 0, "created": 1, "saved": 1}


@pytest.fixture(autouse=True)
def _skus(catalog):
    assert "SANDBOX-SKU-001" in catalog


def run_worker(settings, message_id: int, step: str) -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "saleschannel.settings",
           "SALESCHANNEL_DATA_DIR": str(settings.DATA_DIR), "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-c", WORKER, str(message_id), step], env=env, capture_output=True,
                          timeout=120, check=False)


@pytest.mark.parametrize("step", list(STEPS))
def test_a_worker_killed_at_each_step_of_a_refund_submission_refunds_once(step, sandbox, amazon_store, staff_user,
                                                                          settings):
    if connection.vendor == "sqlite":
        pytest.skip("the test database is SQLite in memory: the killed worker process cannot open it (runs on "
                    "PostgreSQL, as in CI)")
    message = refund_message(sandbox, amazon_store, staff_user, hold=True)
    assert message.state == OutboxState.QUEUED

    worker = run_worker(settings, message.pk, step)
    assert worker.returncode == -signal.SIGKILL, worker.stdout.decode() + worker.stderr.decode()
    message.refresh_from_db()
    assert len(refund_feeds(sandbox)) == STEPS[step]
    if step == "saved":
        assert message.state == OutboxState.SENT and message.feed_id and not message.outcome_unknown
    else:  # the dead worker's message: submitted, outcome unknown, its lease still running
        assert message.state == OutboxState.SENDING and message.outcome_unknown and not message.feed_id
        assert message.feed_submitted_at is not None
        # Five minutes later the killed worker's lease has run out and another worker picks the message up.
        OutboxMessage.objects.filter(pk=message.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert len(refund_feeds(sandbox)) == 1  # never a second feed
    assert refunded_on_amazon(sandbox, message) == Decimal("5.00")  # the credit memo's amount, once
    if STEPS[step] and step != "saved":
        assert message.feed_lookup["verdict"] == "found"  # looked first, followed Amazon's feed


def test_two_workers_at_once_submit_one_feed_of_a_kind_at_a_time(sandbox, amazon_store, staff_user):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time and its test database is private to one connection (runs on "
                    "PostgreSQL, as in CI)")
    import threading

    from django.db import connections

    from saleschannel.amazon import delivery

    first = refund_message(sandbox, amazon_store, staff_user, hold=True)
    second = refund_message(sandbox, amazon_store, staff_user, amount="3.00", hold=True)
    barrier = threading.Barrier(2)
    states: dict[int, str] = {}

    def deliver(message_id: int) -> None:
        try:
            barrier.wait()
            states[message_id] = delivery.deliver_message(message_id, force=True)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(m.pk,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(states.values()) in (["queued", "sent"], ["sent", "waiting"]), states
    assert len(refund_feeds(sandbox)) == 1  # the other one waits for it
    for message in sorted((first, second), key=lambda m: states[m.pk] != "sent"):  # the one in flight first
        assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert len(refund_feeds(sandbox)) == 2
