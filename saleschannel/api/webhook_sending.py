"""Sending webhook deliveries: which URLs may receive them, signing, one attempt, retries and the sweep.

A delivery is a JSON ``POST``::

    {"id": "<event uuid>", "kind": "shipment.created", "occurred_at": "...", "data": {...}}

with the headers ``X-SalesChannel-Event`` (kind), ``X-SalesChannel-Event-Id``, ``X-SalesChannel-Delivery`` (id),
``X-SalesChannel-Timestamp`` (Unix seconds) and ``X-SalesChannel-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>.<body>"`` with the endpoint's secret. A 2xx answer delivers it; anything else (redirects included:
they are not followed) fails the attempt, which is retried with a capped exponential back-off plus jitter, until
``API_WEBHOOK_MAX_ATTEMPTS`` attempts: the delivery is then dead. After ``API_WEBHOOK_DISABLE_AFTER`` dead
deliveries in a row the endpoint is disabled (administrators see a notice).

A worker claims a delivery with a lease (``locked_until``) in one conditional ``UPDATE`` before sending it: two
workers (the on-commit task and the sweep) never send the same attempt twice, and a worker that dies mid-attempt
only delays the delivery by the lease.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from tenacity import wait_exponential, wait_random

from saleschannel.amazon import crypto
from saleschannel.api.models import WebhookDelivery, WebhookEndpoint

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
MAX_URL_LENGTH = 500
TIMEOUT_SECONDS = 10.0
LEASE = timedelta(seconds=60)  # longer than one attempt can take (connect + read timeouts)
SWEEP_BATCH = 200
SIGNATURE_TOLERANCE_SECONDS = 300  # receivers should refuse older timestamps (replays)
DUE_STATES = (WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED)
USER_AGENT = "SalesChannel-Webhooks/1"


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("API_WEBHOOK_MAX_ATTEMPTS", 8))


def retry_wait(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: base·2^(n-1), capped, plus up to base of jitter."""
    base = float(_setting("API_WEBHOOK_RETRY_BASE_SECONDS", 30))
    cap = float(_setting("API_WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600))
    policy = wait_exponential(multiplier=base, max=cap) + wait_random(0, base)
    return float(policy(SimpleNamespace(attempt_number=max(1, attempts))))


# --- Targets -------------------------------------------------------------------------------------------------------

def loopback_allowed() -> bool:
    if os.environ.get("SALESCHANNEL_WEBHOOK_ALLOW_LOOPBACK") == "1":
        return True
    return bool(_setting("API_WEBHOOK_ALLOW_LOOPBACK", False))


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str:
    """Why ``url`` may not receive webhooks ("" when it may): https only; loopback only when allowed."""
    if not url or len(url) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return _("Enter a URL of up to %(max)d characters.") % {"max": MAX_URL_LENGTH}
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("https", "http") or not host:
        return _("Enter a valid URL.")
    if parts.username or parts.password:
        return _("The URL may not carry a user name or password.")
    if _is_loopback(host):
        return "" if loopback_allowed() else _("Loopback addresses are allowed for development only.")
    if parts.scheme != "https":
        return _("The URL must start with https://.")
    return ""


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The signing secret in clear (raises ``crypto.CredentialDecryptionError`` when the key changed)."""
    return crypto.decrypt(endpoint.secret_encrypted)


# --- Signing -------------------------------------------------------------------------------------------------------

def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, *, timestamp: str, body: bytes, signature: str,
                     tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (no replays)."""
    try:
        moment = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature or "")


def body_of(delivery: WebhookDelivery) -> bytes:
    document = {"id": str(delivery.event_id), "kind": delivery.kind,
                "occurred_at": delivery.occurred_at.isoformat(), "data": delivery.payload}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def headers_for(delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SalesChannel-Event": delivery.kind,
        "X-SalesChannel-Event-Id": str(delivery.event_id),
        "X-SalesChannel-Delivery": str(delivery.pk),
        "X-SalesChannel-Timestamp": str(timestamp),
        "X-SalesChannel-Signature": sign(secret, timestamp, body),
    }


# --- Attempts ------------------------------------------------------------------------------------------------------

def _claim(delivery_id: int, now) -> WebhookDelivery | None:
    """The delivery, leased to this worker, when it is due, its endpoint active and nobody else holds it."""
    lease_until = now + LEASE
    claimed = (
        WebhookDelivery.objects
        .filter(pk=delivery_id, state__in=DUE_STATES, next_attempt_at__lte=now, endpoint__active=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .update(locked_until=lease_until)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One attempt: (status code or None, error text without secrets)."""
    endpoint = delivery.endpoint
    problem = url_problem(endpoint.url)
    if problem:
        return None, problem
    try:
        secret = endpoint_secret(endpoint)
    except crypto.CredentialDecryptionError:
        return None, _("The signing secret cannot be decrypted with the current encryption key.")
    body = body_of(delivery)
    headers = headers_for(delivery, secret, body, int(time.time()))
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False) as client:
            response = client.post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        text = str(error).replace(endpoint.url, "<url>")
        if secret:
            text = text.replace(secret, "<secret>")
        return None, f"{type(error).__name__}: {text}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, _("The endpoint answered HTTP %(code)d.") % {"code": response.status_code}


def _disable_if_failing(endpoint_id: int) -> None:
    limit = int(_setting("API_WEBHOOK_DISABLE_AFTER", 5))
    if limit <= 0:
        return
    last = list(WebhookDelivery.objects.filter(endpoint_id=endpoint_id, state__in=("delivered", "dead"))
                .order_by("-id").values_list("state", flat=True)[:limit])
    if len(last) == limit and all(state == "dead" for state in last):
        WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
            active=False,
            disabled_reason=_("Disabled after %(count)d failed deliveries in a row.") % {"count": limit},
        )


def webhook_delivery_attempt(*, delivery_id: int, now=None) -> str | None:
    """Send delivery ``delivery_id`` if it is due and free; returns its new state (None: not sent now)."""
    delivery = _claim(delivery_id, now or timezone.now())
    if delivery is None:
        return None
    status_code, error = _post(delivery)
    finished = timezone.now()
    attempts = delivery.attempts + 1
    changes = {"attempts": attempts, "last_status_code": status_code, "last_error": error, "locked_until": None}
    if status_code is not None and 200 <= status_code < 300:
        changes.update(state=WebhookDelivery.State.DELIVERED, delivered_at=finished)
    elif attempts >= max_attempts():
        changes.update(state=WebhookDelivery.State.DEAD)
    else:
        changes.update(state=WebhookDelivery.State.FAILED,
                       next_attempt_at=finished + timedelta(seconds=retry_wait(attempts)))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk, locked_until=delivery.locked_until).update(**changes)
        if changes["state"] == WebhookDelivery.State.DEAD:
            _disable_if_failing(delivery.endpoint_id)
    return changes["state"]


def webhooks_sweep(*, now=None, limit: int = SWEEP_BATCH) -> int:
    """Attempt the due deliveries (oldest first, so each endpoint gets its events in order); returns how many."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects
        .filter(state__in=DUE_STATES, next_attempt_at__lte=now, endpoint__active=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .order_by("id").values_list("pk", flat=True)[:limit]
    )
    return sum(1 for delivery_id in due if webhook_delivery_attempt(delivery_id=delivery_id, now=now) is not None)
