"""Exactly once: one Commerce order per Amazon order, whatever the overlap, the concurrency or a crash mid-page."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from saleschannel.amazon.locks import lock_acquire, lock_release
from saleschannel.amazon.models import AmazonOrder, SyncLock, SyncRun, SyncRunState
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import StockReservation
from saleschannel.sales.models import Order
from tests.amazon.conftest import settle


def assert_exactly_once(ids):
    numbers = list(Order.objects.filter(origin="amazon").values_list("external_order_number", flat=True))
    assert sorted(numbers) == sorted(ids)  # none missing, none twice
    assert AmazonOrder.objects.filter(commerce_order__isnull=False).count() == len(ids)


class Crash(Exception):
    pass


def crash_after(count: int):
    handled = []

    def hook(order):
        handled.append(order.amazon_order_id)
        if len(handled) == count:
            raise Crash("worker killed")

    return hook


@pytest.mark.django_db
def test_a_pass_crashing_in_the_middle_of_a_page_of_new_orders_leaves_nothing_half_done(amazon_store, sandbox):
    ids = sandbox.create_orders(count=30, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()

    with pytest.raises(Crash):
        sync_store(store=amazon_store, after_order=crash_after(12))
    amazon_store.refresh_from_db()
    assert amazon_store.last_updated_before is None  # the window was not finished: the watermark did not move
    # New orders are written a page at a time: the page rolled back as a whole, stock included.
    assert not Order.objects.exists() and not AmazonOrder.objects.exists()
    assert not StockReservation.objects.exists()
    assert not SyncLock.objects.exists()  # released on the way out
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.SUCCEEDED and run.orders_created == 30
    assert_exactly_once(ids)


@pytest.mark.django_db
def test_a_pass_crashing_in_the_middle_of_orders_handled_one_by_one_is_redone_without_duplicates(
        amazon_store, sandbox):
    ids = sandbox.create_orders(count=30, marketplace="US", fulfillment="MFN", status="Pending")
    settle()
    sync_store(store=amazon_store)
    assert AmazonOrder.objects.filter(amazon_status="Pending").count() == 30 and not Order.objects.exists()
    for order_id in ids:  # Amazon verified the payments: orders already mirrored are handled one by one
        sandbox.set_status(order_id, "Unshipped")
    settle()

    with pytest.raises(Crash):
        sync_store(store=amazon_store, after_order=crash_after(12))
    assert Order.objects.filter(origin="amazon").count() == 12  # each committed on its own
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.SUCCEEDED and run.orders_created == 18
    assert_exactly_once(ids)


@pytest.mark.django_db
def test_an_expired_lock_of_a_crashed_worker_does_not_block_the_store(amazon_store, sandbox):
    assert lock_acquire(store=amazon_store, owner="crashed-worker")
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.SKIPPED  # a live lock is respected
    SyncLock.objects.filter(store=amazon_store).update(expires_at=timezone.now() - timedelta(seconds=1))
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.SUCCEEDED
    assert lock_acquire(store=amazon_store, owner="next")
    assert not lock_acquire(store=amazon_store, owner="other")
    lock_release(store=amazon_store, owner="next")
    assert lock_acquire(store=amazon_store, owner="other")


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_the_same_time_create_each_order_once(amazon_store, sandbox):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one writer at a time (and the test database is in memory, private to one "
                    "connection); the concurrent case runs on PostgreSQL in CI")
    ids = sandbox.create_orders(count=40, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    barrier = threading.Barrier(2)
    runs, errors = [], []

    def worker():
        try:
            store = type(amazon_store).objects.get(pk=amazon_store.pk)
            gateway = Gateway.for_store(store, retry=RetryPolicy(base_delay=0.01))
            barrier.wait()
            # Without the store lock, so that both really import the same page at the same moment.
            runs.append(sync_store(store=store, gateway=gateway, use_lock=False))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert [r.state for r in runs] == [SyncRunState.SUCCEEDED] * 2
    assert sum(r.orders_created for r in runs) == 40
    assert_exactly_once(ids)


@pytest.mark.django_db(transaction=True)
def test_a_killed_sync_process_is_redone_without_duplicates(amazon_store, sandbox, settings):
    """Kill -9 a real ``saleschannel amazon sync`` in the middle of its work, then sync again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if connection.vendor == "sqlite":
        pytest.skip("the test database is SQLite in memory: another process cannot open it (runs on PostgreSQL)")
    from saleschannel.catalog.models import Product

    Product.objects.update(qty=100_000)
    ids = sandbox.create_orders(count=300, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle(real_time=True)  # the sync below is another process, on real time
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "saleschannel.settings",
           "SALESCHANNEL_DATA_DIR": str(settings.DATA_DIR), "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "saleschannel", "amazon", "sync", "--store", amazon_store.name],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while Order.objects.count() < 40 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)  # polling another process's progress, bounded by the deadline
    assert process.poll() is None, process.stdout.read().decode()[-2000:]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    done = Order.objects.count()
    assert 0 < done < 300
    assert SyncLock.objects.filter(store=amazon_store, expires_at__gt=timezone.now()).exists()  # left behind ...
    orphan = SyncRun.objects.get(store=amazon_store, state=SyncRunState.RUNNING)  # ... with its run "running"
    run = sync_store(store=amazon_store)  # the killed worker's process is gone: its lock is taken over at once
    assert run.state == SyncRunState.SUCCEEDED
    orphan.refresh_from_db()
    assert orphan.state == SyncRunState.INTERRUPTED and orphan.finished_at
    assert_exactly_once(ids)
