"""Domain events: a small publish point that other apps subscribe to (the API's webhooks do).

A service calls ``publish(kind, payload)`` explicitly, inside the transaction that makes the change, once the change
is written. Subscribers run right away, in that same transaction: whatever they write (a webhook delivery row) is
committed with the change, or rolled back with it, so an event is never announced for a change that did not happen
and never lost for one that did. Subscribers must only write rows and defer any I/O to ``transaction.on_commit``.

Apps register a subscriber ``fn(events: list[Event])`` with ``subscribe(fn)`` from their ``AppConfig.ready`` (the way
``notices.register`` works). This module knows nothing of its subscribers: the bottom layer imports no app above it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

# The kinds services publish (documented in docs/api.md, offered in the webhook screens and the CLI).
ORDER_CREATED = "order.created"
ORDER_UPDATED = "order.updated"  # state or status changed, hold, unhold, cancel, comment: ``changes`` says which
INVOICE_CREATED = "invoice.created"
SHIPMENT_CREATED = "shipment.created"
CREDITMEMO_CREATED = "creditmemo.created"
AMAZON_ORDER_ERROR = "amazon_order.error"  # an Amazon order was put in Error (newly, or for another reason)
OUTBOX_DEAD = "outbox.dead"  # a message to Amazon was dead-lettered: a person must look at it
KINDS = (ORDER_CREATED, ORDER_UPDATED, INVOICE_CREATED, SHIPMENT_CREATED, CREDITMEMO_CREATED, AMAZON_ORDER_ERROR,
         OUTBOX_DEAD)

# Kinds for the apps of the product only (not offered to webhooks). Payload ``{"skus": [...]}``: products were created
# or changed in a way that may make them salable (SKU, enabled, in stock, quantity) — the Amazon channel retries the
# orders in Error that waited for them.
PRODUCTS_AVAILABLE = "catalog.products_available"
INTERNAL_KINDS = (PRODUCTS_AVAILABLE,)


@dataclass(frozen=True)
class Event:
    kind: str
    payload: dict
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=timezone.now)


Subscriber = Callable[[list[Event]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Register ``subscriber``; usable as a decorator. Registering twice is harmless."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def amazon_order_error_payload(order) -> dict:
    """The payload of ``amazon_order.error`` for an Amazon order (``amazon.models.AmazonOrder``): ids and numbers
    only — the reason (which may quote the buyer's data) is read with ``GET /api/v1/amazon/orders/{number}``."""
    return {"amazon_order": {"id": order.pk, "amazon_order_number": order.amazon_order_id,
                             "store_id": order.store_id, "marketplace_id": order.marketplace_id,
                             "amazon_status": order.amazon_status, "commerce_order_id": order.commerce_order_id}}


def outbox_dead_payload(message) -> dict:
    """The payload of ``outbox.dead`` for a message to Amazon (``amazon.models.OutboxMessage``)."""
    amazon_order = message.amazon_order
    return {"outbox_message": {"id": message.pk, "kind": message.kind, "attempts": message.attempts,
                               "outcome_unknown": bool(message.outcome_unknown),
                               "shipment_id": message.shipment_id, "creditmemo_id": message.creditmemo_id},
            "amazon_order": {"id": amazon_order.pk, "amazon_order_number": amazon_order.amazon_order_id,
                             "store_id": amazon_order.store_id, "commerce_order_id": amazon_order.commerce_order_id}}


def publish(kind: str, payload: dict) -> Event:
    """Announce one change of kind ``kind``; call it inside the transaction that makes the change."""
    return publish_many(kind, [payload])[0]


def publish_many(kind: str, payloads: Iterable[dict]) -> list[Event]:
    """Announce several changes of one kind at once (subscribers see them in one call: one write for all)."""
    return publish_batch((kind, payload) for payload in payloads)


def publish_batch(changes: Iterable[tuple[str, dict]]) -> list[Event]:
    """Announce ``(kind, payload)`` changes made by one transaction together, in order (one subscriber call)."""
    published = []
    for kind, payload in changes:
        if kind not in KINDS and kind not in INTERNAL_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        published.append(Event(kind=kind, payload=payload))
    if published:
        for subscriber in list(_subscribers):
            subscriber(published)  # a failure rolls the change back with it: nothing announced is lost
    return published
