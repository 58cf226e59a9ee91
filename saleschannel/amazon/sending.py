"""``saleschannel amazon outbox send``: deliver what is due once, then follow the feeds until Amazon is done.

For cron and scripts, alongside (or instead of) the worker's minute sweep. It uses the outbox's own delivery
(``delivery.deliver_message``: claims with a lease, ordering per Amazon order, back-off, dead letters), so it can
run while a worker runs: a message one of them holds is left to it and read again.

* Each message due at the start is sent once. One that fails is not retried in this run: it keeps its back-off
  (``next_attempt_at``) and is reported.
* A submitted feed (state ``sent``) is polled whenever it is due, until Amazon has processed it (accepted or dead
  letter) or ``wait`` seconds have passed. So is a message that waited for an earlier one of the same order.
* The report lists what failed in this run and what is still pending (queued, waiting, feed in progress, failed
  earlier and waiting for its next attempt); ``ok`` is False when either list is not empty. Messages that were
  dead-lettered before this run are counted apart (they need a retry by hand, ``outbox retry``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from saleschannel.amazon import delivery
from saleschannel.amazon.models import AmazonStore, ChannelSettings, OutboxMessage, OutboxState

FINAL_STATES = (OutboxState.ACCEPTED, OutboxState.DEAD)
# Between two polls of the database while something we follow is not due yet. Feeds are polled when their
# next_attempt_at says (30 s of Amazon time divided by the store's time scale); this only bounds the wait.
MAX_NAP_SECONDS = 1.0
MIN_NAP_SECONDS = 0.05


@dataclass
class SendProgress:
    total: int = 0
    accepted: int = 0
    failed: int = 0
    following: int = 0  # feeds submitted, waiting for Amazon's processing report

    @property
    def done(self) -> int:
        return self.accepted + self.failed


@dataclass
class SendReport:
    held: bool = False  # read-only mode: nothing was sent
    attempted: int = 0  # messages this run tried to send or follow
    accepted: list[OutboxMessage] = field(default_factory=list)
    failed: list[OutboxMessage] = field(default_factory=list)  # failed or dead-lettered in this run
    pending: list[OutboxMessage] = field(default_factory=list)  # not done when the run ended
    older_dead: int = 0  # dead letters from before this run (not counted against ``ok``)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.pending


def _scope(store: AmazonStore | None):
    messages = OutboxMessage.objects.all()
    if store is not None:
        messages = messages.filter(amazon_order__store=store)
    return messages


def outbox_send(*, store: AmazonStore | None = None, wait: float = 120.0,
                progress: Callable[[SendProgress], None] | None = None) -> SendReport:
    """Deliver the due messages (of ``store``, or of every store) once and follow their feeds for up to ``wait``
    seconds. Returns what happened; changes nothing itself beyond what ``delivery.deliver_message`` does."""
    started = time.monotonic()
    deadline = started + max(wait, 0.0)
    report = SendReport()
    scope = _scope(store)
    if ChannelSettings.load().read_only:
        report.held = True
        report.pending = list(scope.filter(state__in=delivery.PENDING_STATES).select_related("amazon_order"))
        return report
    older_dead = set(scope.filter(state=OutboxState.DEAD).values_list("pk", flat=True))
    # What this run takes care of: what is due now, and the feeds already submitted (followed until done).
    tracked = set(delivery.due_message_ids_of(store=store))
    tracked |= set(scope.filter(state=OutboxState.SENT).values_list("pk", flat=True))
    report.attempted = len(tracked)
    failed_now: set[int] = set()  # sent once in this run and failed: not again before their back-off
    states: dict[int, str] = {}
    if progress:
        progress(SendProgress(total=len(tracked)))
    while tracked:
        for message_id in delivery.due_message_ids_of(store=store):
            if message_id in tracked and message_id not in failed_now and states.get(message_id) not in FINAL_STATES:
                state = delivery.deliver_message(message_id)
                if state == OutboxState.FAILED:
                    failed_now.add(message_id)
        states = dict(OutboxMessage.objects.filter(pk__in=tracked).values_list("pk", "state"))
        open_ids = [pk for pk in tracked if states.get(pk) not in FINAL_STATES and pk not in failed_now]
        if progress:
            progress(SendProgress(
                total=len(tracked),
                accepted=sum(1 for pk in tracked if states.get(pk) == OutboxState.ACCEPTED),
                failed=sum(1 for pk in tracked if states.get(pk) == OutboxState.DEAD or pk in failed_now),
                following=sum(1 for pk in open_ids if states.get(pk) == OutboxState.SENT)))
        remaining = deadline - time.monotonic()
        if not open_ids or remaining <= 0:
            break
        time.sleep(_nap(open_ids, remaining))  # nothing is due yet: wait for the next feed poll (bounded)
    report.seconds = time.monotonic() - started
    messages = {m.pk: m for m in scope.filter(pk__in=tracked).select_related("amazon_order")}
    for message_id in sorted(messages):
        message = messages[message_id]
        if message.state == OutboxState.ACCEPTED:
            report.accepted.append(message)
        elif message.state == OutboxState.DEAD or message_id in failed_now:
            report.failed.append(message)
        else:
            report.pending.append(message)
    # Failed before this run and waiting for their next attempt: still pending delivery.
    report.pending += list(scope.filter(state=OutboxState.FAILED).exclude(pk__in=tracked)
                           .select_related("amazon_order").order_by("pk"))
    report.older_dead = len(older_dead - set(messages))
    return report


def _nap(open_ids: list[int], remaining: float) -> float:
    """Seconds until the earliest followed message is due (bounded), never past the deadline."""
    now = timezone.now()
    upcoming = [when for when in OutboxMessage.objects.filter(pk__in=open_ids, next_attempt_at__isnull=False)
                .values_list("next_attempt_at", flat=True)]
    nap = min(((when - now).total_seconds() for when in upcoming), default=MAX_NAP_SECONDS)
    return max(MIN_NAP_SECONDS, min(nap, MAX_NAP_SECONDS, remaining))
