"""Outbound: tell Amazon what changed in Commerce, reliably (DESIGN.md §4.5).

Every change Amazon must learn about becomes an ``OutboxMessage`` written in the same transaction as the Commerce
change (the channel hooks in ``channel.py`` call ``outbox_add_*``). A worker delivers it:

* at least once — a message is claimed with a lease; a worker that dies mid-send leaves a lease that expires and
  the message is picked up again; Amazon's side is idempotent for what we resend (the same package reference with
  the same content is accepted once, a second cancellation changes nothing);
* in order per Amazon order — a refund never overtakes the shipment it refunds;
* with retries — a 429, 5xx or timeout (after the gateway's own short retries) puts the message back with an
  exponential back-off with jitter; after ``ChannelSettings.outbox_max_attempts`` attempts it is dead-lettered,
  which raises an admin-wide alert until someone retries it by hand;
* never in read-only mode — messages wait in the queue until the mode is switched off.

Shipments are confirmed with ``confirmShipment`` (one package per Commerce shipment); cancellations and refunds
are feeds, followed until Amazon has processed them, whose processing report decides the outcome. Every step is
written to the Amazon order's event log; final outcomes also to its Order Notes and the Commerce order's history.

Delivery runs from a Huey task enqueued on commit and from a sweep every minute (``amazon_outbox_sweep``), which
also polls submitted feeds and picks up what a crashed worker left.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, F, Max, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saleschannel.amazon import feeds
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
from saleschannel.amazon.origin import applying_amazon_change
from saleschannel.amazon.services import AmazonChannelError
from saleschannel.money import quantum

logger = logging.getLogger(__name__)

S = AmazonOrderStatus
OUTBOUND_ACTOR = "Amazon outbound"
LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# How long Amazon usually needs for a small feed; divided by the store's time scale (the sandbox runs faster).
FEED_POLL_SECONDS = 30.0
PENDING_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.FAILED)
FEED_DONE_STATES = ("DONE", "FATAL", "CANCELLED")
DEFAULT_CANCEL_REASON = "GeneralAdjustment"
DEFAULT_REFUND_REASON = "CustomerReturn"

# Our carrier codes (sales.models.Carrier) → Amazon's carrier codes; anything else is "Other" + carrierName.
AMAZON_CARRIERS = {
    "dhl": "DHL", "fedex": "FedEx", "ups": "UPS", "usps": "USPS", "royal_mail": "Royal Mail", "dpd": "DPD",
    "gls": "GLS", "colissimo": "Colissimo", "chronopost": "Chronopost",
}
CANCEL_REASON_LABELS = {
    "NoInventory": gettext_lazy("No inventory"),
    "ShippingAddressUndeliverable": gettext_lazy("Shipping address undeliverable"),
    "CustomerExchange": gettext_lazy("Customer exchange"),
    "BuyerCanceled": gettext_lazy("Buyer canceled"),
    "GeneralAdjustment": gettext_lazy("General adjustment"),
    "CarrierCreditDecision": gettext_lazy("Carrier credit decision"),
    "RiskAssessmentInformationNotValid": gettext_lazy("Risk assessment information not valid"),
    "CarrierCoverageFailure": gettext_lazy("Carrier coverage failure"),
    "CustomerReturn": gettext_lazy("Customer return"),
    "MerchandiseNotReceived": gettext_lazy("Merchandise not received"),
}


def cancel_reason_choices() -> list[tuple[str, str]]:
    return [(code, CANCEL_REASON_LABELS[code]) for code in feeds.CANCEL_REASONS]


# --- Helpers -------------------------------------------------------------------------------------------------


def amazon_order_for(order) -> AmazonOrder | None:
    """The Amazon order behind a Commerce order, or None (cached on the instance by Django's one-to-one)."""
    if getattr(order, "origin", "") != "amazon" or order.pk is None:
        return None
    try:
        return order.amazon_order
    except AmazonOrder.DoesNotExist:
        return None


def _label(actor) -> str:
    if isinstance(actor, str):
        return actor[:150]
    return (getattr(actor, "get_username", lambda: "")() or str(actor))[:150]


def _event(order: AmazonOrder, kind: str, message: str, *, level: str = EventLevel.INFO, response: str = "",
           outbox: OutboxMessage | None = None, actor=OUTBOUND_ACTOR, note: bool = True,
           direction: str = EventDirection.OUTBOUND) -> AmazonOrderEvent:
    event = AmazonOrderEvent.objects.create(
        order=order, direction=direction, level=level, kind=kind[:32], message=message, response=response,
        actor=_label(actor), outbox_message=outbox,
    )
    if note:
        AmazonOrder.objects.filter(pk=order.pk).update(notes=message[:512], updated_at=timezone.now())
        order.notes = message[:512]
    return event


def _deliver_on_commit(message_id: int) -> None:
    def enqueue():
        try:
            amazon_outbox_deliver(message_id)
        except Exception:  # the sweep delivers it anyway
            logger.exception("could not enqueue the delivery of outbound message %s", message_id)

    transaction.on_commit(enqueue)


def _allocate(total: Decimal, weights: list[Decimal], q: Decimal) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights``, rounded to ``q``, the rounding left on the largest share."""
    if not weights:
        return []
    weight_sum = sum(weights, Decimal("0"))
    if weight_sum <= 0:
        return [total] + [Decimal("0")] * (len(weights) - 1)
    shares = [(total * w / weight_sum).quantize(q) for w in weights]
    largest = max(range(len(weights)), key=lambda i: weights[i])
    shares[largest] += total - sum(shares, Decimal("0"))
    return shares


# --- Writing messages (inside the Commerce transaction) ------------------------------------------------------


def outbox_add_shipment(*, amazon_order: AmazonOrder, shipment) -> OutboxMessage | None:
    """One package for Amazon per Commerce shipment: its items, its first tracking number, a new package id."""
    existing = OutboxMessage.objects.filter(idempotency_key=f"shipment:{shipment.pk}").first()
    if existing is not None:
        return existing
    items = []
    for line in shipment.items.select_related("order_item"):
        code = line.order_item.external_item_id
        if code and line.qty > 0:
            items.append([code, int(line.qty)])
    if not items:
        return None
    tracks = list(shipment.tracks.all())
    track = tracks[0] if tracks else None
    carrier_code = AMAZON_CARRIERS.get(track.carrier_code, "Other") if track else "Other"
    payload = {
        "marketplace_id": amazon_order.marketplace_id or (amazon_order.store.marketplace_ids or [""])[0],
        "carrier_code": carrier_code,
        "carrier_name": (track.title if track else "") if carrier_code == "Other" else "",
        "shipping_method": amazon_order.ship_service_level or "",
        "tracking_number": track.number if track else "",
        "ship_date": shipment.created_at.isoformat(),
        "items": items,
        "shipment_number": shipment.number,
        "other_tracking_numbers": [t.number for t in tracks[1:]],
    }
    last = OutboxMessage.objects.filter(amazon_order=amazon_order).aggregate(last=Max("package_reference_id"))
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.SHIPMENT, payload=payload,
        idempotency_key=f"shipment:{shipment.pk}", package_reference_id=(last["last"] or 0) + 1, shipment=shipment,
    )
    _event(amazon_order, "outbox_queued",
           _("Shipment #%(number)s queued for Amazon (package %(package)s, tracking %(tracking)s).") % {
               "number": shipment.number, "package": message.package_reference_id,
               "tracking": payload["tracking_number"] or _("none")},
           outbox=message, actor=shipment.created_by or OUTBOUND_ACTOR)
    _deliver_on_commit(message.pk)
    return message


def outbox_add_cancel(*, amazon_order: AmazonOrder, reason: str, actor) -> OutboxMessage:
    """Cancel the whole (unshipped) order on Amazon with ``reason`` on every item."""
    if reason not in feeds.CANCEL_REASONS:
        reason = DEFAULT_CANCEL_REASON
    key = f"cancel:{amazon_order.pk}"
    existing = OutboxMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    codes = list(amazon_order.items.values_list("order_item_id", flat=True))
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.CANCEL, idempotency_key=key,
        payload={"reason": reason, "items": codes},
    )
    _event(amazon_order, "outbox_queued",
           _("Cancellation queued for Amazon (reason: %(reason)s).") % {"reason": reason},
           outbox=message, actor=actor)
    _deliver_on_commit(message.pk)
    return message


def refund_lines(*, amazon_order: AmazonOrder, creditmemo, reason: str) -> list[dict]:
    """Per Amazon item, the components a credit memo refunds: Principal, Shipping, Tax, ShippingTax.

    Principal is the refunded row total less its discount; the memo's shipping (less the discount that follows it)
    and shipping tax are spread over the items in proportion to the shipping Amazon charged for each; an
    adjustment refund (less the fee) goes to the Principal of the first refunded line.
    """
    currency = creditmemo.order.currency
    q = quantum(currency)
    amazon_items = list(amazon_order.items.all())
    by_code = {item.order_item_id: item for item in amazon_items}
    amounts: dict[str, dict[str, Decimal]] = {}
    item_discounts = Decimal("0")
    for line in creditmemo.items.select_related("order_item"):
        code = line.order_item.external_item_id
        if code not in by_code:
            continue
        item_discounts += line.discount_amount
        entry = amounts.setdefault(code, {})
        entry["Principal"] = entry.get("Principal", Decimal("0")) + line.row_total - line.discount_amount
        entry["Tax"] = entry.get("Tax", Decimal("0")) + line.tax_amount
    shipping = creditmemo.shipping_amount - max(creditmemo.discount_amount - item_discounts, Decimal("0"))
    shipping_tax = creditmemo.shipping_tax_amount
    if (shipping > 0 or shipping_tax > 0) and amazon_items:
        with_shipping = [i for i in amazon_items if i.shipping_price > 0] or [
            by_code.get(next(iter(amounts), ""), amazon_items[0])]
        for component, total, weight in (("Shipping", shipping, "shipping_price"),
                                         ("ShippingTax", shipping_tax, "shipping_tax")):
            if total <= 0:
                continue
            weights = [getattr(i, weight) for i in with_shipping]
            if sum(weights, Decimal("0")) <= 0:
                weights = [i.shipping_price or Decimal("1") for i in with_shipping]
            for item, share in zip(with_shipping, _allocate(total, weights, q), strict=True):
                if share:
                    entry = amounts.setdefault(item.order_item_id, {})
                    entry[component] = entry.get(component, Decimal("0")) + share
    adjustment = creditmemo.adjustment_refund - creditmemo.adjustment_fee
    if adjustment > 0 and not amounts and amazon_items:  # a goodwill refund alone: on the first item
        amounts[amazon_items[0].order_item_id] = {}
    if adjustment and amounts:
        first = next(iter(amounts.values()))
        first["Principal"] = max(first.get("Principal", Decimal("0")) + adjustment, Decimal("0"))
    return [
        {"item_code": code, "reason": reason,
         "amounts": {name: str(value.quantize(q)) for name, value in entry.items() if value > 0}}
        for code, entry in amounts.items() if any(value > 0 for value in entry.values())
    ]


def outbox_add_refund(*, amazon_order: AmazonOrder, creditmemo) -> OutboxMessage | None:
    reason = creditmemo.reason if creditmemo.reason in feeds.ADJUSTMENT_REASONS else DEFAULT_REFUND_REASON
    lines = refund_lines(amazon_order=amazon_order, creditmemo=creditmemo, reason=reason)
    if not lines:
        return None
    key = f"refund:{creditmemo.pk}"
    existing = OutboxMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.REFUND, idempotency_key=key, creditmemo=creditmemo,
        payload={"currency": creditmemo.order.currency, "lines": lines, "creditmemo_number": creditmemo.number,
                 "total": str(creditmemo.grand_total)},
    )
    _event(amazon_order, "outbox_queued",
           _("Refund of credit memo #%(number)s queued for Amazon.") % {"number": creditmemo.number},
           outbox=message, actor=creditmemo.created_by or OUTBOUND_ACTOR)
    _deliver_on_commit(message.pk)
    return message


# --- Staff actions on Amazon orders --------------------------------------------------------------------------


def amazon_order_cancel(*, amazon_order: AmazonOrder, reason: str, actor) -> OutboxMessage:
    """Cancel an Unshipped Amazon order with a reason: Amazon is told by feed; locally the Amazon order is Canceled,
    its reservations released and the Commerce order canceled (or refunded in full when it was invoiced)."""
    from saleschannel.catalog.services import stock_release
    from saleschannel.sales.errors import OrderActionError
    from saleschannel.sales.models import Order, OrderState
    from saleschannel.sales.services import creditmemo_create, order_cancel, stock_reference

    if reason not in feeds.CANCEL_REASONS:
        raise AmazonChannelError(_("Choose a reason for the cancellation."), field="reason")
    with transaction.atomic():
        order = AmazonOrder.objects.select_for_update().get(pk=amazon_order.pk)
        if order.status != S.UNSHIPPED or order.amazon_status != S.UNSHIPPED:
            raise AmazonChannelError(
                _("Only an Unshipped Amazon order can be canceled; this one is %(status)s.")
                % {"status": S(order.status).label}, field="reason")
        if order.outbox_messages.filter(kind=OutboxKind.CANCEL).exists():
            raise AmazonChannelError(_("This order's cancellation was already sent to Amazon."), field="reason")
        commerce = None
        if order.commerce_order_id:
            commerce = Order.objects.get(pk=order.commerce_order_id)
            if any(item.qty_shipped for item in commerce.items.all()):
                raise AmazonChannelError(
                    _("Items of this order were shipped in Commerce: it can no longer be canceled."), field="reason")
        label = CANCEL_REASON_LABELS[reason]
        comment = _("Canceled from Amazon Order Details. Reason: %(reason)s.") % {"reason": label}
        try:
            with applying_amazon_change():  # the channel must neither refuse this nor echo it: we send it below
                if commerce is not None and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
                    if any(item.qty_invoiced > item.qty_refunded for item in commerce.items.all()):
                        creditmemo_create(order=commerce, reason=reason, comment=comment, actor=actor)
                    else:
                        order_cancel(order=commerce, reason=str(label), comment=comment, actor=actor)
                    stock_release(reference=stock_reference(commerce))
        except OrderActionError as error:
            raise AmazonChannelError(error.message, field="reason") from None
        if order.is_reserved:
            stock_release(reference=order.reservation_reference)
        order.is_reserved = False
        order.status = S.CANCELED
        order.save(update_fields=["is_reserved", "status", "updated_at"])
        message = outbox_add_cancel(amazon_order=order, reason=reason, actor=actor)
    amazon_order.refresh_from_db()
    return message


ADDRESS_FIELDS = ("ship_address_line1", "ship_address_line2", "ship_address_line3", "ship_city", "ship_region",
                  "ship_postal_code", "ship_country_code")
# Amazon order field → Commerce OrderAddress field.
COMMERCE_ADDRESS = {
    "ship_address_line1": "street1", "ship_address_line2": "street2", "ship_address_line3": "street3",
    "ship_city": "city", "ship_region": "region", "ship_postal_code": "postcode", "ship_country_code": "country_code",
}


def amazon_order_address_update(*, amazon_order: AmazonOrder, address: dict, actor) -> list[str]:
    """Correct an undeliverable shipping address; the Commerce order's shipping address follows. Later syncs keep
    the correction. Returns the fields that changed."""
    from saleschannel.sales.models import AddressType, OrderAddress
    from saleschannel.sales.services import order_comment_add

    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown address field: %(name)s") % {"name": sorted(unknown)[0]})
    cleaned = {name: str(value or "").strip() for name, value in address.items()}
    if "ship_address_line1" in cleaned and not cleaned["ship_address_line1"]:
        raise AmazonChannelError(_("Enter the first address line."), field="ship_address_line1")
    if "ship_country_code" in cleaned:
        country = cleaned["ship_country_code"].upper()
        if len(country) != 2 or not country.isalpha():
            raise AmazonChannelError(_("Enter the country as a two-letter code (e.g. US)."),
                                     field="ship_country_code")
        cleaned["ship_country_code"] = country
    for name, value in cleaned.items():
        limit = AmazonOrder._meta.get_field(name).max_length
        if len(value) > limit:
            raise AmazonChannelError(_("This value is too long (at most %(max)d characters).") % {"max": limit},
                                     field=name)
    with transaction.atomic():
        order = AmazonOrder.objects.select_for_update().get(pk=amazon_order.pk)
        if order.pii_redacted_at:
            raise AmazonChannelError(_("The personal data of this order was redacted; it cannot be edited."))
        changed = [name for name, value in cleaned.items() if getattr(order, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(order, name, cleaned[name])
        order.address_edited_at = timezone.now()
        order.save(update_fields=[*changed, "address_edited_at", "updated_at"])
        # The address itself is personal data: the log names the fields, not their values.
        _event(order, "address", _("Shipping address corrected (%(fields)s).") % {
            "fields": ", ".join(str(AmazonOrder._meta.get_field(name).verbose_name) for name in changed)},
            actor=actor, direction=EventDirection.LOCAL)
        if order.commerce_order_id:
            OrderAddress.objects.filter(order_id=order.commerce_order_id, address_type=AddressType.SHIPPING).update(
                **{COMMERCE_ADDRESS[name]: cleaned[name] for name in changed})
            order_comment_add(order=order.commerce_order, actor=actor,
                              comment=_("Shipping address corrected from Amazon Order Details."))
    amazon_order.refresh_from_db()
    return changed


def outbox_retry(*, message: OutboxMessage, actor) -> OutboxMessage:
    """Send a failed or dead-lettered message again now, with a fresh count of attempts."""
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if locked.state not in (OutboxState.FAILED, OutboxState.DEAD):
            raise AmazonChannelError(_("Only a failed message can be retried; this one is %(state)s.")
                                     % {"state": OutboxState(locked.state).label})
        changes = {"state": OutboxState.QUEUED, "attempts": 0, "next_attempt_at": None, "lease_expires_at": None}
        if locked.feed_status in FEED_DONE_STATES:  # Amazon finished with that feed: send a new one
            changes.update(feed_id="", feed_document_id="", feed_status="", processing_report={},
                           feed_submitted_at=None)
        OutboxMessage.objects.filter(pk=locked.pk).update(**changes, updated_at=timezone.now())
        _event(locked.amazon_order, "outbox_retry", _("%(kind)s: retry requested.") % {
            "kind": OutboxKind(locked.kind).label}, outbox=locked, actor=actor)
        _deliver_on_commit(locked.pk)
    message.refresh_from_db()
    return message


# --- Delivery ------------------------------------------------------------------------------------------------


def backoff_seconds(attempt: int) -> float:
    """Exponential back-off with jitter: between half and all of base × 2^(attempt-1), capped."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(attempt - 1, 0)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - spreading retries, not security


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


@dataclass
class _Outcome:
    state: str
    note: str = ""
    level: str = EventLevel.INFO
    response: str = ""
    retryable: bool = False


_FAILURE_NOTES = {
    OutboxKind.SHIPMENT: gettext_lazy("Transmission of tracking information failed. %(error)s"),
    OutboxKind.CANCEL: gettext_lazy("Cancellation failed on Amazon. %(error)s"),
    OutboxKind.REFUND: gettext_lazy("Refund failed on Amazon. %(error)s"),
}


def deliver_message(message_id: int, *, now=None, force: bool = False, gateway=None) -> str:
    """Deliver (or follow) one outbound message if it is due; returns its state afterwards, or why it was not
    touched: ``held`` (read-only mode), ``waiting`` (an earlier message of the order goes first), ``skipped`` (not
    due, or another worker has it)."""
    from saleschannel.amazon.crypto import CredentialDecryptionError
    from saleschannel.amazon.gateway import AmazonError, Gateway, RetryPolicy

    if ChannelSettings.load().read_only:
        return "held"
    message = OutboxMessage.objects.filter(pk=message_id).only("pk", "amazon_order_id", "state").first()
    if message is None:
        return "gone"
    if _blocked(message):
        return "waiting"
    now = now or timezone.now()
    if not _claim(message_id, now, force=force):
        return "skipped"
    message = OutboxMessage.objects.select_related("amazon_order__store").get(pk=message_id)
    store = message.amazon_order.store
    try:
        own_gateway = gateway is None
        if own_gateway:
            gateway = Gateway.for_store(store, retry=RetryPolicy(max_attempts=4, max_total_seconds=60),
                                        max_pacing_wait=60)
        try:
            if message.kind == OutboxKind.SHIPMENT:
                outcome = _send_shipment(gateway, message)
            elif message.feed_id:
                outcome = _follow_feed(gateway, message)
            else:
                outcome = _submit_feed(gateway, message)
        finally:
            if own_gateway:
                gateway.close()
    except AmazonError as error:
        outcome = _Outcome(OutboxState.FAILED, error.message, EventLevel.ERROR, retryable=error.retryable)
    except CredentialDecryptionError as error:
        outcome = _Outcome(OutboxState.FAILED, str(error), EventLevel.ERROR, retryable=False)
    except feeds.ReportError as error:
        outcome = _Outcome(OutboxState.FAILED, str(error), EventLevel.ERROR, retryable=True)
    except Exception:  # a bug or an unexpected answer: keep the message, try again later
        logger.exception("delivering outbound message %s failed", message_id)
        outcome = _Outcome(OutboxState.FAILED, _("Unexpected error while sending (see the server log)."),
                           EventLevel.ERROR, retryable=True)
    _record(message, outcome, timezone.now())
    return message.state


def _send_shipment(gateway, message: OutboxMessage) -> _Outcome:
    from saleschannel.amazon.gateway import AmazonError, parse_datetime

    payload = message.payload
    if not payload.get("tracking_number"):
        raise AmazonError(_("Amazon needs a tracking number for every package; this shipment has none."),
                          "MissingTracking", None, False)
    gateway.confirm_shipment(
        amazon_order_id=message.amazon_order.amazon_order_id, marketplace_id=payload["marketplace_id"],
        package_reference_id=message.package_reference_id, carrier_code=payload["carrier_code"],
        carrier_name=payload.get("carrier_name", ""), shipping_method=payload.get("shipping_method", ""),
        tracking_number=payload["tracking_number"], ship_date=parse_datetime(payload["ship_date"]),
        items=[(str(code), int(qty)) for code, qty in payload["items"]],
    )
    return _Outcome(OutboxState.ACCEPTED, _("Tracking information has been submitted to Amazon."))


def _feed_content(message: OutboxMessage) -> tuple[str, bytes]:
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


def _poll_delay(message: OutboxMessage) -> timedelta:
    scale = float(message.amazon_order.store.time_scale or 1) or 1.0
    return timedelta(seconds=max(FEED_POLL_SECONDS / scale, 0.05))


def _submit_feed(gateway, message: OutboxMessage) -> _Outcome:
    """Send the message's feed once: a feed must never reach Amazon twice (a refund would be paid twice).

    The time of the submission is written down (committed) before ``createFeed``; ``createFeed`` itself is not
    retried on an unknown outcome (timeout, 5xx). A message that has that time and no feed id was perhaps received:
    Amazon's feeds of that type since then are checked first (``_reconcile_feed``).
    """
    from saleschannel.amazon.gateway import AmazonError

    feed_type, content = _feed_content(message)
    marketplaces = [message.amazon_order.marketplace_id] if message.amazon_order.marketplace_id else None
    if message.feed_submitted_at is not None:
        found = _reconcile_feed(gateway, message, feed_type, marketplaces)
        if found is not None:
            return found
    message.feed_submitted_at = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=message.feed_submitted_at)
    try:
        message.feed_id = gateway.submit_feed(feed_type=feed_type, content=content, marketplace_ids=marketplaces)
    except AmazonError as error:
        if not error.unknown_outcome:  # Amazon refused it or never got it: nothing to find out next time
            message.feed_submitted_at = None
            OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=None)
        raise
    message.feed_status = "IN_QUEUE"
    return _Outcome(OutboxState.SENT, _("Sent to Amazon as feed %(feed)s; waiting for its processing report.")
                    % {"feed": message.feed_id})


RECONCILE_MARGIN = timedelta(minutes=2)  # clock differences between this server and Amazon


def _reconcile_feed(gateway, message: OutboxMessage, feed_type: str, marketplaces) -> _Outcome | None:
    """What became of a submission whose answer was never recorded; None when Amazon did not get it.

    Amazon's feeds of the same type created since the submission, less those our other messages recorded, are
    the candidates. None: send again. One, with no other submission of this store in the same situation: it is this
    message's feed, followed from now on. Otherwise it cannot be told which is which: the message stops (dead
    letter) and says what to check before it is retried by hand (which sends it again).
    """
    since = message.feed_submitted_at - RECONCILE_MARGIN
    candidates = gateway.list_feeds(feed_type=feed_type, created_since=since, marketplace_ids=marketplaces)
    ids = [feed.feed_id for feed in candidates]
    recorded = set(OutboxMessage.objects.filter(feed_id__in=ids).values_list("feed_id", flat=True)) if ids else set()
    unknown = [feed for feed in candidates if feed.feed_id not in recorded]
    if not unknown:
        return None
    others = OutboxMessage.objects.filter(
        amazon_order__store_id=message.amazon_order.store_id, kind__in=(OutboxKind.CANCEL, OutboxKind.REFUND),
        feed_id="", feed_submitted_at__isnull=False,
    ).exclude(pk=message.pk).exists()
    if len(unknown) == 1 and not others:
        message.feed_id, message.feed_status = unknown[0].feed_id, unknown[0].status
        return _Outcome(OutboxState.SENT, _("Amazon had received this feed (%(feed)s) before its answer was lost; "
                                            "it is followed instead of being sent again.") % {"feed": message.feed_id})
    message.feed_submitted_at = None  # a retry by hand is a decision to send it again
    OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=None)
    return _Outcome(OutboxState.DEAD, _(
        "Amazon may already have received this feed, but it cannot be told apart from %(count)d other feed(s) sent "
        "at the same time. Check the order in Seller Central; if the change is not there, retry this message.")
        % {"count": len(unknown) - (0 if others else 1)}, EventLevel.ERROR)


def _follow_feed(gateway, message: OutboxMessage) -> _Outcome:
    result = gateway.get_feed(message.feed_id)
    message.feed_status = result.status
    if result.status not in FEED_DONE_STATES:
        return _Outcome(OutboxState.SENT)
    if result.status == "CANCELLED":
        return _Outcome(OutboxState.DEAD, _("Amazon canceled the feed before processing it."), EventLevel.ERROR)
    report = None
    if result.result_document_id:
        message.feed_document_id = result.result_document_id
        content = gateway.get_feed_document(result.result_document_id)
        report = feeds.parse_processing_report(content)
        message.processing_report = report.as_dict()
    results = report.for_message(1) if report else []
    errors = [r for r in results if r.is_error]
    warnings = [r for r in results if not r.is_error]
    response = "\n".join(f"{r.result_code} {r.message_code}: {r.description}" for r in results)
    if result.status == "FATAL" or errors:
        text = "; ".join(r.description for r in errors) or _("Amazon could not process the feed.")
        return _Outcome(OutboxState.DEAD, text, EventLevel.ERROR, response=response)
    if message.kind == OutboxKind.CANCEL:
        note = _("Cancellation accepted by Amazon.")
    else:
        note = _("Refund of credit memo #%(number)s accepted by Amazon.") % {
            "number": message.payload.get("creditmemo_number", "")}
    if warnings:
        note += " " + _("Amazon's warnings: %(text)s") % {"text": "; ".join(r.description for r in warnings)}
    return _Outcome(OutboxState.ACCEPTED, note, EventLevel.WARNING if warnings else EventLevel.INFO,
                    response=response)


def _record(message: OutboxMessage, outcome: _Outcome, now) -> None:
    """Store the outcome of one delivery step, with its event, notes and (when final) the Commerce history."""
    from saleschannel.sales.services import order_comment_add

    max_attempts = ChannelSettings.load().outbox_max_attempts
    state = outcome.state
    error = outcome.note if state in (OutboxState.FAILED, OutboxState.DEAD) else ""
    if state == OutboxState.FAILED and (not outcome.retryable or message.attempts >= max_attempts):
        state = OutboxState.DEAD
    fields = {"state": state, "lease_expires_at": None, "feed_id": message.feed_id,
              "feed_status": message.feed_status, "feed_document_id": message.feed_document_id,
              "processing_report": message.processing_report, "updated_at": now}
    if error:
        fields["last_error"] = error[:2000]
    next_attempt = None
    if state == OutboxState.FAILED:
        next_attempt = now + timedelta(seconds=backoff_seconds(message.attempts))
    elif state == OutboxState.SENT:
        next_attempt = now + _poll_delay(message)
    fields["next_attempt_at"] = next_attempt
    if state == OutboxState.SENT and message.sent_at is None:
        fields["sent_at"] = now
    if state == OutboxState.ACCEPTED:
        fields.update(completed_at=now, last_error="")
        if message.kind == OutboxKind.SHIPMENT:
            fields["sent_at"] = message.sent_at or now
    order = message.amazon_order
    kind_label = OutboxKind(message.kind).label
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
        for name, value in fields.items():
            setattr(message, name, value)
        if state == OutboxState.ACCEPTED:
            _event(order, f"{message.kind}_accepted", outcome.note, level=outcome.level, response=outcome.response,
                   outbox=message)
        elif state == OutboxState.SENT and outcome.note:
            _event(order, f"{message.kind}_sent", outcome.note, outbox=message, note=False)
        elif state == OutboxState.FAILED:
            _event(order, f"{message.kind}_retry",
                   _("%(kind)s: attempt %(attempt)d of %(max)d failed: %(error)s Next attempt at %(when)s.") % {
                       "kind": kind_label, "attempt": message.attempts, "max": max_attempts, "error": error,
                       "when": timezone.localtime(next_attempt).strftime("%H:%M:%S")},
                   level=EventLevel.WARNING, outbox=message, note=False)
        elif state == OutboxState.DEAD:
            note = _FAILURE_NOTES[OutboxKind(message.kind)] % {"error": error}
            _event(order, f"{message.kind}_failed", note, level=EventLevel.ERROR, response=outcome.response,
                   outbox=message)
        final = state in (OutboxState.ACCEPTED, OutboxState.DEAD)
        if final and order.commerce_order_id:
            text = order.notes if state == OutboxState.DEAD else outcome.note
            order_comment_add(order=order.commerce_order, comment=f"Amazon: {text}"[:2000], actor=OUTBOUND_ACTOR)
    if state == OutboxState.SENT:
        _schedule_follow_up(message.pk, next_attempt)
    elif state == OutboxState.ACCEPTED:
        _deliver_next(message)


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
    due = list(OutboxMessage.objects.filter(_due(now)).order_by("pk")
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


def pending_count(*, store=None) -> int:
    messages = OutboxMessage.objects.filter(state__in=PENDING_STATES)
    if store is not None:
        messages = messages.filter(amazon_order__store=store)
    return messages.count()


# --- Huey ----------------------------------------------------------------------------------------------------


@db_task()
def amazon_outbox_deliver(message_id: int) -> str:
    """Deliver one outbound message (idempotent: a message that is not due or is taken is left alone)."""
    return deliver_message(message_id)


@db_periodic_task(crontab(minute="*"))
def amazon_outbox_sweep() -> dict[str, int]:
    """Every minute: send what is due, poll submitted feeds, pick up what a crashed worker left."""
    return deliver_due()


# --- Alerts --------------------------------------------------------------------------------------------------


def dead_letter_notices(request) -> list:
    """Admin-wide alert while outbound messages are dead-lettered (they need someone to look and retry)."""
    from django.urls import NoReverseMatch, reverse

    from saleschannel.web.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    dead = list(OutboxMessage.objects.filter(state=OutboxState.DEAD).order_by("-updated_at")
                .values_list("amazon_order_id", "amazon_order__amazon_order_id")[:50])
    if not dead:
        return []
    orders = list(dict.fromkeys(dead))
    links = []
    for pk, number in orders[:5]:
        try:
            links.append((number, reverse("amazon:order_detail", args=[pk])))
        except NoReverseMatch:
            break
    count = OutboxMessage.objects.filter(state=OutboxState.DEAD).count()
    return [Notice(
        message=_("Amazon did not accept %(count)d change(s) after repeated attempts. Open the order to read "
                  "Amazon's message and retry:") % {"count": count},
        level="error", links=links,
    )]


def read_only_notices(request) -> list:
    """While read-only mode is on, every page says so: nothing reaches Amazon."""
    from saleschannel.web.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not ChannelSettings.load().read_only:
        return []
    waiting = OutboxMessage.objects.filter(state__in=PENDING_STATES).count()
    return [Notice(message=_("Amazon read-only mode is on: %(count)d change(s) wait in the queue and nothing is "
                             "sent to Amazon until it is switched off.") % {"count": waiting}, level="warning")]


def buyer_cancel_notices(request) -> list:
    """On the dashboard: Amazon orders whose buyer asked to cancel and that are still open."""
    from django.urls import NoReverseMatch, reverse

    from saleschannel.web.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    try:
        if request.path != reverse("web:dashboard"):
            return []
        list_url = reverse("amazon:order_list")
    except NoReverseMatch:
        return []
    open_requests = AmazonOrder.objects.filter(
        buyer_cancel_requested=True,
        status__in=[S.PENDING, S.UNSHIPPED, S.PENDING_AVAILABILITY, S.ERROR, S.PARTIALLY_SHIPPED])
    count = open_requests.count()
    if not count:
        return []
    links = [(number, reverse("amazon:order_detail", args=[pk]))
             for pk, number in open_requests.order_by("-purchase_date").values_list("pk", "amazon_order_id")[:5]]
    links.append((_("View all"), f"{list_url}?buyer_cancel=on"))
    return [Notice(message=_("%(count)d Amazon order(s) have a buyer cancellation request. Decide whether to "
                             "cancel them:") % {"count": count}, level="warning", links=links)]
