"""Outbound: tell Amazon what changed in Commerce, reliably (DESIGN §4.5) — writing the messages.

Every change Amazon must learn about becomes an ``OutboxMessage`` written in the same transaction as the Commerce
change (the channel hooks in ``channel.py`` call ``outbox_add_*``). Shipments are confirmed with
``confirmShipment`` (one package per Commerce shipment); cancellations and refunds are feeds, one message per feed,
one feed of a kind in flight per store and marketplace, followed until Amazon has processed them. Every step is
written to the Amazon order's event log; final outcomes also to its Order Notes and the Commerce order's history.

This module writes messages only. The delivery is in ``delivery`` (claims, retries, dead letters, shipments) and
``feed_delivery`` (feeds, looking first after an unknown outcome); the staff actions (cancel, address, retry by
hand) in ``services``; the alerts in ``notices``.
"""

from __future__ import annotations

from django.db.models import Max

from saleschannel.amazon import feeds
from saleschannel.amazon.choices import CANCEL_REASON_LABELS
from saleschannel.amazon.delivery import OUTBOUND_ACTOR, _deliver_on_commit, _event
from saleschannel.amazon.events import msg
from saleschannel.amazon.models import AmazonOrder, OutboxKind, OutboxMessage
from saleschannel.amazon.refunds import refund_lines

DEFAULT_CANCEL_REASON = "GeneralAdjustment"
DEFAULT_REFUND_REASON = "CustomerReturn"

# Our carrier codes (sales.models.Carrier) → Amazon's carrier codes; anything else is "Other" + carrierName.
AMAZON_CARRIERS = {
    "dhl": "DHL", "fedex": "FedEx", "ups": "UPS", "usps": "USPS", "royal_mail": "Royal Mail", "dpd": "DPD",
    "gls": "GLS", "colissimo": "Colissimo", "chronopost": "Chronopost",
}


def cancel_reason_choices() -> list[tuple[str, str]]:
    return [(code, CANCEL_REASON_LABELS[code]) for code in feeds.CANCEL_REASONS]


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
           msg("shipment_queued", number=shipment.number, package=message.package_reference_id,
               tracking=payload["tracking_number"] or msg("none")),
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
           msg("cancel_queued", reason=reason),
           outbox=message, actor=actor)
    _deliver_on_commit(message.pk)
    return message


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
           msg("refund_queued", number=creditmemo.number),
           outbox=message, actor=creditmemo.created_by or OUTBOUND_ACTOR)
    _deliver_on_commit(message.pk)
    return message
