"""The store's sync lock: one sync pass per Amazon store at a time, between processes and hosts (§4.2).

The lock is a ``SyncLock`` row with an owner (``host:pid:nonce``) and an expiry; a live pass renews it (see
``LockHeartbeat``), a stopped one lets it expire, and a dead process on this host is seen at once.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from saleschannel.amazon.models import AmazonStore, SyncLock, SyncRun, SyncRunState
from saleschannel.core.i18n import gettext as _

# A pass renews its lock at every page and while it waits (see LockHeartbeat), so a lock older than this belongs to
# a worker that stopped: another may take it. A dead worker on this host is seen at once (its process is gone).
LOCK_TTL = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30.0


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lock_acquire(*, store: AmazonStore, owner: str, ttl: timedelta = LOCK_TTL) -> bool:
    """Take the store's sync lock unless a live owner holds an unexpired one. Safe between processes.

    An expired lock is taken over; so is one whose owner ran on this host in a process that no longer exists
    (killed, crashed), without waiting for it to expire.
    """
    now = timezone.now()
    with transaction.atomic():
        if SyncLock.objects.filter(store=store, expires_at__lt=now).update(
                owner=owner, acquired_at=now, expires_at=now + ttl):
            return True
        try:
            with transaction.atomic():
                SyncLock.objects.create(store=store, owner=owner, acquired_at=now, expires_at=now + ttl)
            return True
        except IntegrityError:
            pass
        held_by = SyncLock.objects.filter(store=store).values_list("owner", flat=True).first()
        if held_by and owner_is_gone(held_by):
            return bool(SyncLock.objects.filter(store=store, owner=held_by).update(
                owner=owner, acquired_at=now, expires_at=now + ttl))
        return False


def owner_is_gone(owner: str) -> bool:
    """Whether a lock's owner (``host:pid:nonce``) is known to be dead: it ran on this host and its process is gone.
    Owners on other hosts cannot be checked from here: their locks end when they expire."""
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, under another user
        return False
    return False


# A run is created a moment before its worker asks for the lock: one younger than this may be another worker's,
# about to be skipped, not an orphan. An orphan this young is closed by the next pass instead.
ORPHAN_MIN_AGE = timedelta(seconds=30)


def close_interrupted_runs(*, store: AmazonStore, current: SyncRun, taken_over: bool = False) -> int:
    """Runs of ``store`` left "running" by a worker that stopped: whoever holds the lock now closes them — every
    earlier one when the lock was taken over from that worker, else only those older than ``ORPHAN_MIN_AGE``."""
    started_before = current.started_at - (timedelta(0) if taken_over else ORPHAN_MIN_AGE)
    return SyncRun.objects.filter(store=store, state=SyncRunState.RUNNING,
                                  started_at__lt=started_before).exclude(pk=current.pk).update(
        state=SyncRunState.INTERRUPTED, finished_at=timezone.now(),
        error=_("The worker running this sync stopped before it finished; a later sync redid its window."))


class LockHeartbeat:
    """Renews the store's sync lock while a pass works or waits (pacing, retries), so that a live pass keeps its
    lock with a short time-to-live. Waits are cut into slices of at most ``HEARTBEAT_SECONDS``, on this thread (the
    lock is a database row: one connection)."""

    def __init__(self, *, store: AmazonStore, owner: str, enabled: bool, sleep: Callable[[float], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.owner, self.enabled = store, owner, enabled
        self._sleep, self._clock = sleep, clock
        self._last = clock()

    def beat(self, *, force: bool = False) -> None:
        if self.enabled and (force or self._clock() - self._last >= HEARTBEAT_SECONDS):
            lock_renew(store=self.store, owner=self.owner)
            self._last = self._clock()

    def sleep(self, seconds: float) -> None:
        while seconds > 0:
            step = min(seconds, HEARTBEAT_SECONDS)
            self._sleep(step)
            seconds -= step
            self.beat()


def lock_renew(*, store: AmazonStore, owner: str, ttl: timedelta = LOCK_TTL) -> bool:
    return bool(SyncLock.objects.filter(store=store, owner=owner).update(expires_at=timezone.now() + ttl))


def lock_release(*, store: AmazonStore, owner: str) -> None:
    SyncLock.objects.filter(store=store, owner=owner).delete()

