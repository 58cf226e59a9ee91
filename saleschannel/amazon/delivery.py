"""Delivery of the outbox: claim a due message, send or follow it, record the outcome (DESIGN §4.5, §8.1).

* at least once — a message is claimed with a lease; a worker that dies mid-send leaves a lease that expires and
  the message is picked up again. What changes Amazon's state is never repeated blindly: a shipment whose outcome
  may be unknown looks at the order first (``_shipment_on_amazon``), a feed looks at Amazon's feeds first
  (``feed_delivery.look_for_feed``);
* in order per Amazon order — a refund never overtakes the shipment it refunds; one feed of a kind in flight per
  store and marketplace (``feed_delivery``);
* with retries — a 429, 5xx or timeout (after the gateway's own short retries) puts the message back with an
  exponential back-off with jitter; after ``ChannelSettings.outbox_max_attempts`` attempts it is dead-lettered,
  which raises an admin-wide alert until someone retries it by hand;
* never in read-only mode — messages wait in the queue until the mode is switched off.

Delivery runs from a Huey task enqueued on commit and from a sweep every minute (``amazon_outbox_sweep``), which
also polls submitted feeds and picks up what a crashed worker left.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saleschannel.amazon import events, feed_delivery, feeds
from saleschannel.amazon.crypto import CredentialDecryptionError
from saleschannel.amazon.feed_delivery import FEED_KINDS, Outcome
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderStatus,
    ChannelSettings,
    EventDirection,
    EventLevel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.retrying import OUTBOX_GATEWAY_RETRY, OUTBOX_RETRY
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.spapi.normalise import parse_datetime
from saleschannel.core import events as domain_events
from saleschannel.sales.services import order_comment_add

logger = logging.getLogger(__name__)

S = AmazonOrderStatus
OUTBOUND_ACTOR = "Amazon outbound"
LEASE = timedelta(minutes=5)
# The back-off between attempts is the retry policy's (retrying.OUTBOX_RETRY): at most BASE × 2^(attempt-1), capped.
BACKOFF_BASE_SECONDS = OUTBOX_RETRY.ceiling(1)
BACKOFF_CAP_SECONDS = OUTBOX_RETRY.max_delay
PENDING_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.FAILED)
_Outcome = Outcome


def _label(actor) -> str:
    if isinstance(actor, str):
        return actor[:150]
    return (getattr(actor, "get_username", lambda: "")() or str(actor))[:150]


def _event(order: AmazonOrder, kind: str, message: events.Message | str, *, level: str = EventLevel.INFO,
           response: str = "", outbox: OutboxMessage | None = None, actor=OUTBOUND_ACTOR, note: bool = True,
           direction: str = EventDirection.OUTBOUND) -> AmazonOrderEvent:
    """Write an event (and, with ``note``, the order's Order Notes): a ``Message`` is shown in the reader's
    language (``events.py``), a text as is."""
    event = AmazonOrderEvent.objects.create(
        order=order, direction=direction, level=level, kind=kind[:32], response=response,
        actor=_label(actor), outbox_message=outbox, **events.fields(message),
    )
    if note:
        notes = events.note_fields(message)
        AmazonOrder.objects.filter(pk=order.pk).update(**notes, updated_at=timezone.now())
        for name, value in notes.items():
            setattr(order, name, value)
    return event


def _deliver_on_commit(message_id: int) -> None:
    def enqueue():
        try:
            amazon_outbox_deliver(message_id)
        except Exception:  # the sweep delivers it anyway
            logger.exception("could not enqueue the delivery of outbound message %s", message_id)

    transaction.on_commit(enqueue)



def backoff_seconds(attempt: int) -> float:
    """The wait before the next attempt after ``attempt`` attempts: exponential back-off with jitter, between half
    and all of base × 2^(attempt-1), capped (``retrying.OUTBOX_RETRY``)."""
    return OUTBOX_RETRY.delay(max(attempt, 1))


def _due(now) -> Q:
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    waiting = Q(state__in=[OutboxState.QUEUED, OutboxState.FAILED, OutboxState.SENT]) & ready
    crashed = Q(state=OutboxState.SENDING)  # a worker died while sending: its lease has run out
    return free & (waiting | crashed)


def _blocked(message: OutboxMessage) -> bool:
    """An earlier message of the same order is still on its way (it must reach Amazon first)."""
    return OutboxMessage.objects.filter(amazon_order_id=message.amazon_order_id, pk__lt=message.pk,
                                        state__in=PENDING_STATES).exists()


def _claim(message_id: int, now, *, force: bool) -> bool:
    condition = _due(now)
    if force:  # by hand or a test: do not wait for next_attempt_at, but never steal a live lease
        condition = (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)) & Q(state__in=PENDING_STATES)
    sending = [OutboxState.QUEUED, OutboxState.FAILED, OutboxState.SENDING]
    return bool(OutboxMessage.objects.filter(pk=message_id).filter(condition).update(
        lease_expires_at=now + LEASE,
        # Polling a submitted feed is not a new attempt at sending it.
        attempts=Case(When(state__in=sending, then=F("attempts") + 1), default=F("attempts"),
                      output_field=OutboxMessage._meta.get_field("attempts")),
        state=Case(When(state__in=sending, then=Value(OutboxState.SENDING)), default=F("state"),
                   output_field=OutboxMessage._meta.get_field("state")),
        updated_at=now,
    ))


def deliver_message(message_id: int, *, now=None, force: bool = False, gateway=None) -> str:
    """Deliver (or follow) one outbound message if it is due; returns its state afterwards, or why it was not
    touched: ``held`` (read-only mode), ``waiting`` (an earlier message of the order goes first, or another feed of
    its kind is in flight for its store and marketplace), ``skipped`` (not due, or another worker has it)."""
    if ChannelSettings.load().read_only:
        return "held"
    message = OutboxMessage.objects.filter(pk=message_id).select_related("amazon_order").first()
    if message is None:
        return "gone"
    if _blocked(message) or feed_delivery.must_wait(message):
        return "waiting"
    now = now or timezone.now()
    if not _claim(message_id, now, force=force):
        return "skipped"
    message = OutboxMessage.objects.select_related("amazon_order__store").get(pk=message_id)
    store = message.amazon_order.store
    try:
        own_gateway = gateway is None
        if own_gateway:
            gateway = Gateway.for_store(store, retry=OUTBOX_GATEWAY_RETRY, max_pacing_wait=60)
        try:
            if message.kind == OutboxKind.SHIPMENT:
                outcome = _send_shipment(gateway, message)
            elif message.feed_id:
                outcome = feed_delivery.follow_feed(gateway, message)
            else:
                outcome = feed_delivery.submit_feed(gateway, message)
        finally:
            if own_gateway:
                gateway.close()
    except AmazonError as error:
        outcome = Outcome(OutboxState.FAILED, error.message, EventLevel.ERROR, retryable=error.retryable,
                          unknown=True if error.unknown_outcome else None, counts=error.code != "NotYetKnown")
    except CredentialDecryptionError as error:
        outcome = Outcome(OutboxState.FAILED, str(error), EventLevel.ERROR, retryable=False)
    except feeds.ReportError as error:
        outcome = Outcome(OutboxState.FAILED, str(error), EventLevel.ERROR, retryable=True)
    except Exception:  # a bug or an unexpected answer: keep the message, try again later
        logger.exception("delivering outbound message %s failed", message_id)
        outcome = Outcome(OutboxState.FAILED, _("Unexpected error while sending (see the server log)."),
                          EventLevel.ERROR, retryable=True)
    _record(message, outcome, timezone.now())
    if message.kind in FEED_KINDS and message.state == OutboxState.SENT:
        feed_delivery._step("saved")
    return message.state


def _send_shipment(gateway, message: OutboxMessage) -> Outcome:
    """confirmShipment for one package, never repeated blindly (DESIGN §8.1).

    After an earlier attempt (its outcome may be unknown: a timeout or an unreadable answer), and when Amazon
    refuses the package (its reference may already be taken, by this very package), the order is looked at first:
    a package Amazon already has counts as delivered.
    """
    payload = message.payload
    if not payload.get("tracking_number"):
        raise AmazonError(_("Amazon needs a tracking number for every package; this shipment has none."),
                          "MissingTracking", None, False)
    if message.attempts > 1:
        found = _shipment_on_amazon(gateway, message)
        if found is not None:
            return found
    try:
        gateway.confirm_shipment(
            amazon_order_id=message.amazon_order.amazon_order_id, marketplace_id=payload["marketplace_id"],
            package_reference_id=message.package_reference_id, carrier_code=payload["carrier_code"],
            carrier_name=payload.get("carrier_name", ""), shipping_method=payload.get("shipping_method", ""),
            tracking_number=payload["tracking_number"], ship_date=parse_datetime(payload["ship_date"]),
            items=[(str(code), int(qty)) for code, qty in payload["items"]],
        )
    except AmazonError as error:
        if error.status == 400:
            found = _shipment_on_amazon(gateway, message)
            if found is not None:
                return found
        raise
    return Outcome(OutboxState.ACCEPTED, _("Tracking information has been submitted to Amazon."))


def _shipment_on_amazon(gateway, message: OutboxMessage) -> Outcome | None:
    """ACCEPTED when Amazon already has this message's package, DEAD when its reference holds another package,
    None when Amazon has nothing of it (send it)."""
    order = gateway.get_order(message.amazon_order.amazon_order_id)
    reference = str(message.package_reference_id)
    tracking = message.payload["tracking_number"]
    package = next((p for p in order.packages if p.package_reference_id == reference), None)
    if package is not None:
        if package.tracking_number == tracking:
            return Outcome(OutboxState.ACCEPTED, _(
                "Amazon already had this package (%(package)s, tracking %(tracking)s): tracking information is "
                "submitted.") % {"package": reference, "tracking": tracking})
        return Outcome(OutboxState.DEAD, _(
            "Amazon already has another package with reference %(package)s on this order (tracking %(other)s, not "
            "%(tracking)s). Check the order in Seller Central.") % {
            "package": reference, "other": package.tracking_number or _("none"), "tracking": tracking},
            EventLevel.ERROR)
    if not order.packages and _items_shipped_on_amazon(order, message):
        return Outcome(OutboxState.ACCEPTED, _(
            "Amazon already shows this package's items as shipped: tracking information is submitted."))
    return None


def _items_shipped_on_amazon(order, message: OutboxMessage) -> bool:
    """Orders v0 lists no packages: Amazon's shipped quantities cover this package on top of those we delivered."""
    delivered: dict[str, int] = {}
    earlier = OutboxMessage.objects.filter(amazon_order_id=message.amazon_order_id, kind=OutboxKind.SHIPMENT,
                                           state=OutboxState.ACCEPTED).exclude(pk=message.pk)
    for payload in earlier.values_list("payload", flat=True):
        for code, qty in payload.get("items", []):
            delivered[str(code)] = delivered.get(str(code), 0) + int(qty)
    shipped = {item.order_item_id: item.qty_shipped for item in order.items}
    return all(shipped.get(str(code), 0) >= delivered.get(str(code), 0) + int(qty)
               for code, qty in message.payload["items"])


def _record(message: OutboxMessage, outcome: Outcome, now) -> None:
    """Store the outcome of one delivery step, with its event, notes and (when final) the Commerce history."""

    max_attempts = ChannelSettings.load().outbox_max_attempts
    state = outcome.state
    if outcome.unknown is not None:
        message.outcome_unknown = outcome.unknown
    if state == OutboxState.ACCEPTED:
        message.outcome_unknown = False
    error = outcome.note if state in (OutboxState.FAILED, OutboxState.DEAD) else ""
    if state == OutboxState.FAILED and (not outcome.retryable or message.attempts >= max_attempts) and outcome.counts:
        state = OutboxState.DEAD
        if message.outcome_unknown and message.kind in FEED_KINDS:
            error = feed_delivery.unknown_outcome_note(message, _(
                "Amazon gave no clear answer to its submission, and could not be asked afterwards (last error: "
                "%(error)s).") % {"error": outcome.note})
        elif message.outcome_unknown:  # a shipment: every attempt looks at the order first, and so will a retry
            error = _("%(error)s Amazon may already have this package (check order %(order)s in Seller Central); "
                      "a retry looks at the order first and never sends a package Amazon has.") % {
                "error": outcome.note, "order": message.amazon_order.amazon_order_id}
    fields = {"state": state, "lease_expires_at": None, "feed_id": message.feed_id,
              "feed_status": message.feed_status, "feed_document_id": message.feed_document_id,
              "processing_report": message.processing_report, "outcome_unknown": message.outcome_unknown,
              "feed_lookup": message.feed_lookup, "updated_at": now}
    if error:
        fields["last_error"] = error[:2000]
    next_attempt = None
    if state == OutboxState.FAILED:
        next_attempt = now + timedelta(seconds=backoff_seconds(message.attempts))
    elif state == OutboxState.SENT:
        next_attempt = now + feed_delivery.poll_delay(message)
    fields["next_attempt_at"] = next_attempt
    if state == OutboxState.QUEUED:  # another feed of its kind went first: waiting is not an attempt
        fields.update(attempts=F("attempts") - 1, last_error="")
    elif not outcome.counts:  # waiting to know what Amazon did is not an attempt either
        fields["attempts"] = F("attempts") - 1
    if state == OutboxState.SENT and message.sent_at is None:
        fields["sent_at"] = now
    if state == OutboxState.ACCEPTED:
        fields.update(completed_at=now, last_error="")
        if message.kind == OutboxKind.SHIPMENT:
            fields["sent_at"] = message.sent_at or now
    order = message.amazon_order
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
        fields.pop("attempts", None)
        for name, value in fields.items():
            setattr(message, name, value)
        if state == OutboxState.ACCEPTED:
            _event(order, f"{message.kind}_accepted", outcome.note, level=outcome.level, response=outcome.response,
                   outbox=message)
        elif state in (OutboxState.SENT, OutboxState.QUEUED) and outcome.note:
            _event(order, f"{message.kind}_sent" if state == OutboxState.SENT else f"{message.kind}_waiting",
                   outcome.note, outbox=message, note=False)
        elif state == OutboxState.FAILED:
            _event(order, f"{message.kind}_retry",
                   events.msg("outbox_attempt_failed", kind=message.kind, attempt=message.attempts,
                              max=max_attempts, error=error, when=next_attempt),
                   level=EventLevel.WARNING, outbox=message, note=False)
        elif state == OutboxState.DEAD:
            # An unknown outcome says what is known in its own words; a refusal is Amazon's, after our heading.
            note = error
            if not (message.outcome_unknown and message.kind in FEED_KINDS):
                note = events.msg(f"{message.kind}_failed", error=error)
            _event(order, f"{message.kind}_failed", note, level=EventLevel.ERROR, response=outcome.response,
                   outbox=message)
            domain_events.publish(domain_events.OUTBOX_DEAD, domain_events.outbox_dead_payload(message))
        final = state in (OutboxState.ACCEPTED, OutboxState.DEAD)
        if final and order.commerce_order_id:
            text = order.notes if state == OutboxState.DEAD else outcome.note
            order_comment_add(order=order.commerce_order, comment=f"Amazon: {text}"[:2000], actor=OUTBOUND_ACTOR)
        if message.kind in FEED_KINDS and (final or message.feed_submitted_at is None):
            _deliver_waiting(message)  # its slot is free: the next feed of its kind may go
    if state == OutboxState.SENT:
        _schedule_follow_up(message.pk, next_attempt)
    elif state == OutboxState.ACCEPTED:
        _deliver_next(message)


def _deliver_waiting(message: OutboxMessage) -> None:
    """The oldest message that waited for this one's feed goes now (the others wait for it in turn)."""
    following = (OutboxMessage.objects.filter(waiting_for=message, state__in=(OutboxState.QUEUED, OutboxState.FAILED))
                 .order_by("pk").values_list("pk", flat=True).first())
    if following:
        transaction.on_commit(lambda: _enqueue_quietly(following))


def _schedule_follow_up(message_id: int, when) -> None:
    try:
        amazon_outbox_deliver.schedule((message_id,), eta=when)
    except Exception:  # the sweep polls it anyway
        logger.exception("could not schedule the follow-up of outbound message %s", message_id)


def _deliver_next(message: OutboxMessage) -> None:
    """The order's next waiting message may go now (it waited for this one)."""
    following = (OutboxMessage.objects.filter(amazon_order_id=message.amazon_order_id, pk__gt=message.pk,
                                              state=OutboxState.QUEUED).order_by("pk").values_list("pk", flat=True)
                 .first())
    if following:
        transaction.on_commit(lambda: _enqueue_quietly(following))


def _enqueue_quietly(message_id: int) -> None:
    try:
        amazon_outbox_deliver(message_id)
    except Exception:
        logger.exception("could not enqueue the delivery of outbound message %s", message_id)


def due_message_ids(*, now=None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(OutboxMessage.objects.filter(_due(now)).order_by("pk").values_list("pk", flat=True)[:limit])


def deliver_due(*, now=None, limit: int = 500) -> dict[str, int]:
    """Deliver every message that is due now (the sweep). Returns how many ended in each state."""
    if ChannelSettings.load().read_only:
        return {"held": OutboxMessage.objects.filter(state__in=PENDING_STATES).count()}
    counts: dict[str, int] = {}
    now = now or timezone.now()
    # Nearest Latest Ship Date first: a confirmation queued near its deadline is not sent late behind others.
    due = list(OutboxMessage.objects.filter(_due(now))
               .order_by(F("amazon_order__latest_ship_date").asc(nulls_last=True), "pk")
               .values_list("pk", "amazon_order__store_id")[:limit])
    unreachable: set[int] = set()
    for message_id, store_id in due:
        if store_id in unreachable:  # Amazon just failed for this seller: the rest waits for the next sweep
            counts["postponed"] = counts.get("postponed", 0) + 1
            continue
        state = deliver_message(message_id, now=now)
        if state == OutboxState.FAILED:
            unreachable.add(store_id)
        counts[state] = counts.get(state, 0) + 1
    return counts


def deliver_due_later(*, limit: int = 200) -> int:
    """Enqueue (after commit) the delivery of what is due, e.g. when read-only mode ends; returns how many."""
    ids = due_message_ids(limit=limit)
    for message_id in ids:
        _deliver_on_commit(message_id)
    return len(ids)


def state_summary(amazon_order: AmazonOrder) -> str:
    """E.g. "2 accepted, 1 queued": the outbound messages of an order by state, for the Commerce order view."""
    counts = dict(amazon_order.outbox_messages.values_list("state").annotate(n=Count("id")).order_by())
    return ", ".join(f"{counts[state]} {str(OutboxState(state).label).lower()}" for state in OutboxState.values
                     if counts.get(state))


@db_task()
def amazon_outbox_deliver(message_id: int) -> str:
    """Deliver one outbound message (idempotent: a message that is not due or is taken is left alone)."""
    return deliver_message(message_id)


@db_periodic_task(crontab(minute="*"))
def amazon_outbox_sweep() -> dict[str, int]:
    """Every minute: send what is due, poll submitted feeds, pick up what a crashed worker left."""
    return deliver_due()


# --- From the command line (``saleschannel amazon outbox send``, see sending.py) ----------------------------


def due_message_ids_of(*, store=None, now=None) -> list[int]:
    """Ids of the messages due now, oldest first: of every Amazon store, or of ``store`` only."""
    messages = OutboxMessage.objects.filter(_due(now or timezone.now()))
    if store is not None:
        messages = messages.filter(amazon_order__store=store)
    return list(messages.order_by("pk").values_list("pk", flat=True))
