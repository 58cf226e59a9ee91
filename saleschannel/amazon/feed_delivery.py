"""The outbox's feeds (cancellations, refunds): sent once, looked for before anything is sent again (DESIGN §8.1).

* **One feed of a kind in flight per store and marketplace.** A cancellation or refund is submitted only while no
  other message of the same store, marketplace and kind has a feed submitted and not finished, or submitted with an
  unknown outcome (``in_flight``). The others wait in the queue, visibly (``waiting_for``), and go next. So when an
  answer is lost, the feeds Amazon lists since the submission (``getFeeds``) can only be this message's: Amazon's
  feed list says nothing of a feed's content, only its type and time.
* **One message per feed** (no batching). Each feed's processing report is the message's own outcome, and a lost
  answer concerns one refund, not fifty. Amazon's createFeed allows about 30 feeds an hour, and a small feed is
  processed in minutes: enough for a back office's cancellations and refunds (batching is the way further).
* **The outcome is unknown until Amazon's answer is recorded.** ``feed_submitted_at`` and ``outcome_unknown`` are
  committed before createFeedDocument; the feed id clears the flag. A worker killed at any step, a timeout, a
  dropped connection, a 5xx or an unreadable 2xx all leave the flag set, and the next attempt looks first
  (``look_for_feed``): no feed → send; one → follow it; several → stop (dead letter) and say what is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.amazon import feeds
from saleschannel.amazon.models import (
    AmazonOrderStatus,
    AmazonStore,
    EventLevel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.core.money import format_money

S = AmazonOrderStatus
FEED_KINDS = (OutboxKind.CANCEL, OutboxKind.REFUND)
FEED_DONE_STATES = ("DONE", "FATAL", "CANCELLED")
# How long Amazon usually needs for a small feed; divided by the store's time scale (the sandbox runs faster).
FEED_POLL_SECONDS = 30.0
IN_FLIGHT_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.FAILED)
RECONCILE_MARGIN = timedelta(minutes=2)  # clock differences between this server and Amazon
LOOKUP_SHOWN = 20  # feeds kept in a message's record of a look-up
# A request that got no answer (a timeout, a dropped connection) may still be running at Amazon: for this long
# (real seconds: the network does not run faster in the sandbox), Amazon's feed list showing nothing proves nothing.
NO_ANSWER_SETTLE_SECONDS = 120.0

# Told each step of a submission ("marked", then the gateway's "document", "uploaded", "created", then "saved").
# None in production; the crash tests set it in a worker process they kill with SIGKILL at one of these steps.
feed_step_hook: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if feed_step_hook is not None:
        feed_step_hook(name)


@dataclass
class Outcome:
    state: str
    note: str = ""
    level: str = EventLevel.INFO
    response: str = ""
    retryable: bool = False
    unknown: bool | None = None  # what to record in outcome_unknown (None: leave it)
    counts: bool = True  # an attempt at sending (False: waiting to know, not a try)


def feed_content(message: OutboxMessage) -> tuple[str, bytes]:
    order = message.amazon_order
    payload = message.payload
    if message.kind == OutboxKind.CANCEL:
        return feeds.ORDER_ACKNOWLEDGEMENT, feeds.cancellation_feed(
            merchant_id=order.store.seller_id, amazon_order_id=order.amazon_order_id, item_codes=payload["items"],
            reason=payload["reason"])
    lines = [feeds.AdjustedLine(line["item_code"], line["reason"],
                                {name: Decimal(value) for name, value in line["amounts"].items()})
             for line in payload["lines"]]
    return feeds.PAYMENT_ADJUSTMENT, feeds.adjustment_feed(
        merchant_id=order.store.seller_id, amazon_order_id=order.amazon_order_id, currency=payload["currency"],
        lines=lines)


def poll_delay(message: OutboxMessage) -> timedelta:
    scale = float(message.amazon_order.store.time_scale or 1) or 1.0
    return timedelta(seconds=max(FEED_POLL_SECONDS / scale, 0.05))


def _marketplaces(message: OutboxMessage) -> list[str] | None:
    return [message.amazon_order.marketplace_id] if message.amazon_order.marketplace_id else None


# --- One in flight ----------------------------------------------------------------------------------------------


def in_flight(message: OutboxMessage) -> OutboxMessage | None:
    """The other message of this store, marketplace and kind whose feed is submitted and not finished (or whose
    submission has an unknown outcome), or None."""
    order = message.amazon_order
    return (OutboxMessage.objects.filter(
        amazon_order__store_id=order.store_id, amazon_order__marketplace_id=order.marketplace_id, kind=message.kind,
        feed_submitted_at__isnull=False, state__in=IN_FLIGHT_STATES).exclude(pk=message.pk)
        .order_by("feed_submitted_at", "pk").first())


def must_wait(message: OutboxMessage) -> bool:
    """True (and recorded on the message) when another feed of its kind is in flight for its store and marketplace."""
    if message.kind not in FEED_KINDS or message.feed_id or message.feed_submitted_at:
        return False
    other = in_flight(message)
    if other is None:
        if message.waiting_for_id:
            OutboxMessage.objects.filter(pk=message.pk).update(waiting_for=None)
        return False
    if message.waiting_for_id != other.pk:
        OutboxMessage.objects.filter(pk=message.pk).update(waiting_for=other)
    return True


def _mark_submitted(message: OutboxMessage) -> OutboxMessage | None:
    """Take the store's slot for this kind: mark the message submitted now, its outcome unknown until Amazon's
    answer is recorded. Returns the message in flight instead when there is one (nothing marked)."""
    with transaction.atomic():
        # One submission at a time per store: PostgreSQL locks the store's row; SQLite's transactions take the
        # write lock when they begin (transaction_mode IMMEDIATE).
        list(AmazonStore.objects.select_for_update().filter(pk=message.amazon_order.store_id).values_list("pk"))
        other = in_flight(message)
        if other is not None:
            OutboxMessage.objects.filter(pk=message.pk).update(waiting_for=other)
            return other
        message.feed_submitted_at, message.outcome_unknown, message.feed_lookup = timezone.now(), True, {}
        OutboxMessage.objects.filter(pk=message.pk).update(
            feed_submitted_at=message.feed_submitted_at, outcome_unknown=True, feed_lookup={}, waiting_for=None)
        order = message.amazon_order
        OutboxMessage.objects.filter(
            amazon_order__store_id=order.store_id, amazon_order__marketplace_id=order.marketplace_id,
            kind=message.kind, feed_submitted_at__isnull=True, feed_id="",
            state__in=(OutboxState.QUEUED, OutboxState.FAILED)).exclude(pk=message.pk).update(waiting_for=message)
    _step("marked")
    return None


# --- Sending -------------------------------------------------------------------------------------------------


def submit_feed(gateway, message: OutboxMessage) -> Outcome:
    """Send the message's feed once: a feed must never reach Amazon twice (a refund would be paid twice)."""
    if message.kind == OutboxKind.REFUND:
        refusal = refund_refusal(message)
        if refusal is not None:
            return refusal
    feed_type, content = feed_content(message)
    if message.feed_submitted_at is not None:  # an earlier submission's outcome is unknown: look first
        found = look_for_feed(gateway, message)
        if found is not None:
            return found
    other = _mark_submitted(message)
    if other is not None:
        return Outcome(OutboxState.QUEUED, waiting_note(other))
    try:
        feed_id = gateway.submit_feed(feed_type=feed_type, content=content, marketplace_ids=_marketplaces(message),
                                      on_step=_step)
    except AmazonError as error:
        if not error.unknown_outcome:  # Amazon refused it or never got it: nothing to look for next time
            message.feed_submitted_at, message.outcome_unknown = None, False
            OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=None, outcome_unknown=False)
        elif error.code in ("Timeout", "Network"):  # no answer at all: the request may still be running at Amazon
            message.feed_lookup = {"no_answer_at": timezone.now().isoformat(), "error": error.message[:500]}
            OutboxMessage.objects.filter(pk=message.pk).update(feed_lookup=message.feed_lookup)
        raise
    message.feed_id, message.feed_status = feed_id, "IN_QUEUE"
    return Outcome(OutboxState.SENT, _("Sent to Amazon as feed %(feed)s; waiting for its processing report.")
                   % {"feed": feed_id}, unknown=False)


def waiting_note(other: OutboxMessage) -> str:
    if other.feed_id:
        return _("Waiting for feed %(feed)s (message %(id)d) to finish: one feed of a kind at a time per store and "
                 "marketplace. This one goes next.") % {"feed": other.feed_id, "id": other.pk}
    return _("Waiting for message %(id)d, whose feed is being submitted: one feed of a kind at a time per store "
             "and marketplace. This one goes next.") % {"id": other.pk}


def refund_refusal(message: OutboxMessage) -> Outcome | None:
    """What Amazon would refuse in a refund feed, said before sending it: a refund on an order that has not shipped
    on Amazon (its shipment never reached Amazon), or in another currency than the order's."""
    order = message.amazon_order
    currency = message.payload.get("currency", "")
    if order.currency and currency != order.currency:
        return Outcome(OutboxState.DEAD, _(
            "The credit memo is in %(memo)s but the Amazon order is in %(order)s: Amazon refunds only in the order's "
            "currency. Refund it in Seller Central.") % {"memo": currency, "order": order.currency}, EventLevel.ERROR)
    shipped_on_amazon = order.amazon_status in (S.PARTIALLY_SHIPPED, S.SHIPPED) or order.status in (
        S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED) or order.outbox_messages.filter(
        kind=OutboxKind.SHIPMENT, state=OutboxState.ACCEPTED).exists()
    if not shipped_on_amazon:
        return Outcome(OutboxState.DEAD, _(
            "Amazon refunds only shipped orders and this order has not shipped on Amazon (its shipment did not reach "
            "Amazon). Send the shipment first (retry it), then retry this refund."), EventLevel.ERROR)
    return None


# --- Looking first ----------------------------------------------------------------------------------------------


def look_for_feed(gateway, message: OutboxMessage) -> Outcome | None:
    """What became of a submission whose answer was never recorded; None when Amazon did not get it (send it).

    Amazon's feeds of the message's type created since its submission (less a margin for clocks), less those our
    other messages recorded, are the candidates: this message was the only one of its kind in flight for its store
    and marketplace, so none means Amazon never got it, one is its feed (followed from now on), and several means
    something else sent feeds of this type meanwhile: it cannot be told which, and the message stops for a person.
    What Amazon showed is recorded on the message (``feed_lookup``).
    """
    feed_type, _content = feed_content(message)
    since = message.feed_submitted_at - RECONCILE_MARGIN
    no_answer_at = (message.feed_lookup or {}).get("no_answer_at")
    listed = gateway.list_feeds(feed_type=feed_type, created_since=since, marketplace_ids=_marketplaces(message))
    ids = [feed.feed_id for feed in listed]
    claimed = set(OutboxMessage.objects.filter(feed_id__in=ids).exclude(pk=message.pk)
                  .values_list("feed_id", flat=True)) if ids else set()
    unclaimed = [feed for feed in listed if feed.feed_id not in claimed]
    verdict = "none" if not unclaimed else "found" if len(unclaimed) == 1 else "ambiguous"
    if verdict == "none" and no_answer_at:
        waited = (timezone.now() - datetime.fromisoformat(no_answer_at)).total_seconds()
        if waited < NO_ANSWER_SETTLE_SECONDS:
            raise AmazonError(_(
                "Amazon lists no feed of this message yet, but its request got no answer %(seconds)d s ago and may "
                "still be processed: looking again before sending anything.") % {"seconds": waited},
                "NotYetKnown", None, True)
    message.feed_lookup = {
        "at": timezone.now().isoformat(), "since": since.isoformat(), "feed_type": feed_type,
        "listed": [{"feed_id": f.feed_id, "status": f.status} for f in listed[:LOOKUP_SHOWN]],
        "listed_count": len(listed), "unclaimed": [f.feed_id for f in unclaimed[:LOOKUP_SHOWN]], "verdict": verdict,
    }
    if verdict == "none":
        message.feed_submitted_at, message.outcome_unknown = None, False
        OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=None, outcome_unknown=False,
                                                           feed_lookup=message.feed_lookup)
        return None
    if verdict == "found":
        message.feed_id, message.feed_status = unclaimed[0].feed_id, unclaimed[0].status
        return Outcome(OutboxState.SENT, _("Amazon had received this feed (%(feed)s) before its answer was lost; "
                                           "it is followed instead of being sent again.") % {"feed": message.feed_id},
                       unknown=False)
    OutboxMessage.objects.filter(pk=message.pk).update(feed_lookup=message.feed_lookup)
    why = _("Amazon lists %(count)d feeds of this type it received since %(when)s that none of our other messages "
            "sent (%(feeds)s): it cannot be told which one, if any, is this message's.") % {
        "count": len(unclaimed), "when": timezone.localtime(message.feed_submitted_at).strftime("%Y-%m-%d %H:%M:%S"),
        "feeds": ", ".join(f.feed_id for f in unclaimed[:5])}
    return Outcome(OutboxState.DEAD, unknown_outcome_note(message, why), EventLevel.ERROR, unknown=True)


def unknown_outcome_note(message: OutboxMessage, why: str) -> str:
    """A dead letter whose outcome is unknown says what is known and what to check, never just "retry"."""
    order_id = message.amazon_order.amazon_order_id
    if message.kind == OutboxKind.REFUND:
        payload = message.payload
        amount = payload.get("total", "")
        if amount and payload.get("currency"):
            amount = format_money(Decimal(amount), payload["currency"])
        return _("Amazon may have applied this refund (credit memo #%(number)s, %(amount)s). %(why)s Check order "
                 "%(order)s in Seller Central (Payments › Refunds) before retrying: a retry asks Amazon first and, "
                 "when Amazon cannot tell, asks you to confirm, because sending it again may refund the buyer "
                 "twice.") % {"number": payload.get("creditmemo_number", ""), "amount": amount, "why": why,
                              "order": order_id}
    if message.kind == OutboxKind.CANCEL:
        return _("Amazon may have canceled this order already. %(why)s Check order %(order)s in Seller Central. "
                 "Sending the cancellation again changes nothing if Amazon has it, so Retry is safe.") % {
            "why": why, "order": order_id}
    return _("Amazon may already have this package. %(why)s Check order %(order)s in Seller Central. A retry looks "
             "at the order first and never sends a package Amazon has.") % {"why": why, "order": order_id}


# --- Following ---------------------------------------------------------------------------------------------------


def follow_feed(gateway, message: OutboxMessage) -> Outcome:
    result = gateway.get_feed(message.feed_id)
    message.feed_status = result.status
    if result.status not in FEED_DONE_STATES:
        return Outcome(OutboxState.SENT)
    if result.status == "CANCELLED":
        return Outcome(OutboxState.DEAD, _("Amazon canceled the feed before processing it: nothing was applied."),
                       EventLevel.ERROR)
    report = None
    if result.result_document_id:
        message.feed_document_id = result.result_document_id
        content = gateway.get_feed_document(result.result_document_id)
        report = feeds.parse_processing_report(content)
        message.processing_report = report.as_dict()
    results = report.for_message(1) if report else []
    # The message's own result (one message per feed: MessageID 1), kept apart from the whole report.
    message.processing_report = {**(message.processing_report or {}), "message_result": {
        "result": "error" if result.status == "FATAL" or any(r.is_error for r in results) else "success",
        "results": [{"code": r.result_code, "message_code": r.message_code, "description": r.description}
                    for r in results]}}
    errors = [r for r in results if r.is_error]
    warnings = [r for r in results if not r.is_error]
    response = "\n".join(f"{r.result_code} {r.message_code}: {r.description}" for r in results)
    if result.status == "FATAL" or errors:
        text = "; ".join(r.description for r in errors) or _("Amazon could not process the feed.")
        return Outcome(OutboxState.DEAD, text, EventLevel.ERROR, response=response)
    if message.kind == OutboxKind.CANCEL:
        note = _("Cancellation accepted by Amazon.")
    else:
        note = _("Refund of credit memo #%(number)s accepted by Amazon.") % {
            "number": message.payload.get("creditmemo_number", "")}
    if warnings:
        note += " " + _("Amazon's warnings: %(text)s") % {"text": "; ".join(r.description for r in warnings)}
    return Outcome(OutboxState.ACCEPTED, note, EventLevel.WARNING if warnings else EventLevel.INFO,
                   response=response)
