"""Webhooks: endpoints that receive the events (``core.events.KINDS``), and the deliveries written for them.

* ``on_events`` is subscribed to ``core.events`` (see ``apps.py``): for every active endpoint whose event filter
  matches, it writes a ``WebhookDelivery`` in the transaction of the change (a rolled-back change sends nothing, a
  crash after commit loses nothing) and asks the worker to send it once the transaction commits.
* The worker sends, signs and retries (``webhook_sending.py``); a periodic sweep picks up what is due.
* ``webhook_delivery_redeliver`` queues an event again with the same event id, so receivers can de-duplicate.

Targets are ``https`` URLs; ``http``/loopback hosts (localhost, 127.0.0.1, ::1) are refused unless loopback is
explicitly allowed (``SALESCHANNEL_WEBHOOK_ALLOW_LOOPBACK=1`` or the ``API_WEBHOOK_ALLOW_LOOPBACK`` setting; for
development and tests). The signing secret is stored encrypted (``amazon.crypto``) and shown once, on creation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.amazon import crypto
from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.api.tasks import api_webhook_deliver
from saleschannel.api.webhook_sending import url_problem
from saleschannel.core import events
from saleschannel.core.errors import DomainError

SECRET_START = "whsec_"  # noqa: S105 - the start every signing secret shares, not a secret


class WebhookError(DomainError):
    """A refused webhook operation (bad URL or events, unknown endpoint or delivery)."""


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # the signing secret, shown once


def clean_events(kinds) -> list[str]:
    """The event kinds asked for (a list or a comma-separated string), checked; empty means every kind."""
    if isinstance(kinds, str):
        kinds = [part.strip() for part in kinds.split(",")]
    wanted = []
    for kind in kinds or []:
        kind = str(kind).strip()
        if not kind or kind in wanted:
            continue
        if kind not in events.KINDS:
            raise WebhookError(_('Unknown event "%(kind)s". Choose from: %(kinds)s.')
                               % {"kind": kind[:60], "kinds": ", ".join(events.KINDS)},
                               code="invalid", field="events")
        wanted.append(kind)
    return wanted


def _check_url(url: str) -> str:
    url = (url or "").strip()
    problem = url_problem(url)
    if problem:
        raise WebhookError(problem, code="invalid", field="url")
    return url


def webhook_endpoint_create(*, url: str, events: list[str] | str = (), description: str = "",
                            actor=None) -> NewEndpoint:
    """A new active endpoint; the returned ``secret`` is the only time its signing secret is shown."""
    url = _check_url(url)
    kinds = clean_events(events)
    secret = SECRET_START + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url, events=kinds, description=(description or "").strip()[:200],
            secret_encrypted=crypto.encrypt(secret),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    return NewEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, url: str, events: list[str] | str = (),
                            description: str = "", active: bool = True) -> WebhookEndpoint:
    endpoint.url = _check_url(url)
    endpoint.events = clean_events(events)
    endpoint.description = (description or "").strip()[:200]
    if active and not endpoint.active:
        endpoint.disabled_reason = ""
    endpoint.active = bool(active)
    with transaction.atomic():
        endpoint.save(update_fields=["url", "events", "description", "active", "disabled_reason"])
    return endpoint


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str = "") -> WebhookEndpoint:
    """Stop sending to ``endpoint`` (its pending deliveries wait until it is enabled again)."""
    with transaction.atomic():
        endpoint.active = False
        endpoint.disabled_reason = (reason or "")[:200]
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason=endpoint.disabled_reason)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete ``endpoint`` and its delivery log."""
    with transaction.atomic():
        endpoint.delete()


def webhook_endpoint_find(*, ident) -> WebhookEndpoint:
    ident = str(ident or "").strip()
    endpoint = None
    if ident.isascii() and ident.isdigit() and len(ident) < 19:
        endpoint = WebhookEndpoint.objects.filter(pk=int(ident)).first()
    if endpoint is None:
        raise WebhookError(_('No webhook endpoint "%(ident)s".') % {"ident": ident[:40]}, code="not_found")
    return endpoint


def webhook_delivery_find(*, ident) -> WebhookDelivery:
    ident = str(ident or "").strip()
    delivery = None
    if ident.isascii() and ident.isdigit() and len(ident) < 19:
        delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=int(ident)).first()
    if delivery is None:
        raise WebhookError(_('No webhook delivery "%(ident)s".') % {"ident": ident[:40]}, code="not_found")
    return delivery


def webhook_deliveries(*, endpoint: WebhookEndpoint | None = None, state: str = "") -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.select_related("endpoint").order_by("-id")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if state:
        if state not in WebhookDelivery.State.values:
            raise WebhookError(_('Unknown delivery state "%(state)s".') % {"state": state[:40]}, field="state")
        deliveries = deliveries.filter(state=state)
    return deliveries


def _send_on_commit(deliveries: list[WebhookDelivery]) -> None:
    ids = [delivery.pk for delivery in deliveries]

    def enqueue():
        for delivery_id in ids:
            api_webhook_deliver(delivery_id)

    transaction.on_commit(enqueue)


def on_events(published: list[events.Event]) -> None:
    """``core.events`` subscriber: one delivery per (event, matching endpoint), written in the caller's transaction."""
    published = [event for event in published if event.kind in events.KINDS]  # internal kinds are not offered
    if not published:
        return
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    if not endpoints:
        return
    rows = [
        WebhookDelivery(endpoint=endpoint, event_id=event.id, kind=event.kind, payload=event.payload,
                        occurred_at=event.occurred_at, next_attempt_at=event.occurred_at)
        for event in published for endpoint in endpoints if endpoint.wants(event.kind)
    ]
    if rows:
        _send_on_commit(WebhookDelivery.objects.bulk_create(rows))


def _actor_label(actor) -> str:
    if actor is None:
        return ""
    if hasattr(actor, "get_username"):
        return actor.get_username()[:150]
    return str(actor)[:150]


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Queue ``delivery``'s event again to its endpoint: a new delivery with the same event id and payload."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=delivery.endpoint_id).first()
        if endpoint is None:
            raise WebhookError(_("This webhook endpoint no longer exists."), code="not_found")
        if not endpoint.active:
            raise WebhookError(_("This webhook endpoint is disabled: enable it first."), code="conflict")
        now = timezone.now()
        again = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=delivery.event_id, kind=delivery.kind, payload=delivery.payload,
            occurred_at=delivery.occurred_at, next_attempt_at=now, created_at=now,
            requested_by=_actor_label(actor),
        )
        _send_on_commit([again])
    return again
