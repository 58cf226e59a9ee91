"""Recovery (issue 11, finding 10): a killed sync's lock is taken over once its owner is gone — at once when the owner
ran on this host and its process no longer exists, after at most two minutes otherwise — its run is closed as
interrupted, and a live pass keeps its lock while it waits."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from saleschannel.amazon import locks
from saleschannel.amazon.locks import LOCK_TTL, lock_acquire, lock_owner, owner_is_gone
from saleschannel.amazon.models import AmazonStore, SyncLock, SyncRun, SyncRunState
from saleschannel.amazon.sync import sync_store

pytestmark = pytest.mark.django_db


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def hold_lock(store, owner: str, *, expires_in: timedelta = timedelta(minutes=2)) -> SyncRun:
    SyncLock.objects.create(store=store, owner=owner, acquired_at=timezone.now(),
                            expires_at=timezone.now() + expires_in)
    return SyncRun.objects.create(store=store, started_at=timezone.now() - timedelta(minutes=1))


def test_a_lock_lives_at_most_two_minutes():
    assert LOCK_TTL <= timedelta(minutes=2)


def test_a_dead_local_owner_is_recognised():
    assert owner_is_gone(f"{socket.gethostname()}:{dead_pid()}:abcd1234")
    assert not owner_is_gone(lock_owner())  # this very process
    assert not owner_is_gone(f"another-host.example:{dead_pid()}:abcd1234")  # cannot tell: wait for expiry


def test_the_lock_of_a_killed_worker_on_this_host_is_taken_over_at_once(amazon_store, sandbox):
    orphan = hold_lock(amazon_store, f"{socket.gethostname()}:{dead_pid()}:abcd1234")
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.SUCCEEDED, run.error
    orphan.refresh_from_db()
    assert orphan.state == SyncRunState.INTERRUPTED and orphan.finished_at and orphan.error
    assert not SyncLock.objects.exists()  # released by the pass that took it over


def test_a_live_owner_elsewhere_keeps_its_lock_until_it_expires(amazon_store, sandbox):
    orphan = hold_lock(amazon_store, "worker-2.example:4242:abcd1234")
    assert sync_store(store=amazon_store).state == SyncRunState.SKIPPED
    orphan.refresh_from_db()
    assert orphan.state == SyncRunState.RUNNING  # it may well be running: not ours to close
    SyncLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # no heartbeat for two minutes
    assert sync_store(store=amazon_store).state == SyncRunState.SUCCEEDED
    orphan.refresh_from_db()
    assert orphan.state == SyncRunState.INTERRUPTED


def test_waits_renew_the_lock(amazon_store):
    owner = lock_owner()
    assert lock_acquire(store=amazon_store, owner=owner)
    SyncLock.objects.update(expires_at=timezone.now() + timedelta(seconds=5))
    clock = [0.0]
    slept = []

    def fake_sleep(seconds):  # a controlled clock: the test does not wait
        slept.append(seconds)
        clock[0] += seconds

    heartbeat = locks.LockHeartbeat(store=amazon_store, owner=owner, enabled=True, sleep=fake_sleep,
                                    clock=lambda: clock[0])
    heartbeat.sleep(100)  # e.g. the pacer waiting for searchOrders' next token
    assert max(slept) <= locks.HEARTBEAT_SECONDS and sum(slept) == 100
    assert SyncLock.objects.get().expires_at > timezone.now() + LOCK_TTL - timedelta(seconds=10)


def test_a_store_saved_with_an_unsafe_override_does_not_sync(amazon_store, sandbox):
    # Saved before overrides had to be https or loopback (written directly: the services refuse it today).
    AmazonStore.objects.filter(pk=amazon_store.pk).update(token_url_override="http://collector.example/token")
    amazon_store.refresh_from_db()
    run = sync_store(store=amazon_store)
    assert run.state == SyncRunState.FAILED and "https" in run.error
    assert not sandbox.requests(operation="searchOrders")  # nothing was asked of anyone


def test_a_run_another_worker_just_started_is_not_taken_for_an_orphan(amazon_store, sandbox):
    # Another worker has created its run and is about to ask for the lock (which it will not get): not an orphan.
    young = SyncRun.objects.create(store=amazon_store, started_at=timezone.now())
    assert sync_store(store=amazon_store).state == SyncRunState.SUCCEEDED
    young.refresh_from_db()
    assert young.state == SyncRunState.RUNNING and young.error == ""
