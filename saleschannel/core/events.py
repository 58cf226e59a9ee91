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

# The kinds services publish (documented in docs/api.md, offered in the webhook screens).
ORDER_CREATED = "order.created"
ORDER_INVOICED = "order.invoiced"
ORDER_SHIPPED = "order.shipped"
ORDER_REFUNDED = "order.refunded"
ORDER_CANCELED = "order.canceled"
ORDER_STATUS_CHANGED = "order.status_changed"
KINDS = (ORDER_CREATED, ORDER_INVOICED, ORDER_SHIPPED, ORDER_REFUNDED, ORDER_CANCELED, ORDER_STATUS_CHANGED)

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
