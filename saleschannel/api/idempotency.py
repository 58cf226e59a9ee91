"""``Idempotency-Key`` on every POST and PATCH: a retried request gets the first response instead of acting twice.

Every POST and PATCH runs in one database transaction, with a key or without: a server error (5xx) rolls back
everything the request did, so a failed request never leaves half an action behind.

The key's row is written in the same database transaction as the action itself:

* the action committed → the key and its response are there: the same key with the same request replays that
  response (``Idempotent-Replayed: true``); with another request it is refused (422 ``idempotency_key_reused``);
* the action failed (a crash, a lost connection, a 5xx) → everything rolled back, the key included: the retry runs
  the action afresh;
* two requests with one key at the same moment → the second waits for the first's transaction, then replays it
  (or, when the first is still running on a database that does not wait, gets 409 ``idempotency_key_in_progress``).

A response is kept whatever its status below 500 (a 409 or 422 replays too: retrying the same request cannot
change the answer of the rules it met), except the refusals that happen before the action runs (401, 403, 429),
which are not stored. Keys are per user and kept ``KEY_LIFETIME`` (24 h); ``idempotency_keys.purge_expired``
deletes older ones (hourly, from the worker).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.api.auth import bearer_token, check_rate
from saleschannel.api.errors import ApiProblem, problem_response
from saleschannel.api.idempotency_keys import KEY_LIFETIME
from saleschannel.api.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, no spaces
NOT_STORED = frozenset({401, 403, 429})
WRITE_METHODS = frozenset({"POST", "PATCH"})


def request_hash(request) -> str:
    """What makes two requests "the same": method, path, query and body (JSON compared by meaning)."""
    body = request.body
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(record.response_body, status=record.response_status,
                            content_type=record.response_content_type or "application/json")
    response["Idempotent-Replayed"] = "true"
    return response


def _earlier(request, *, user, key: str, digest: str):
    """The response to give for an earlier use of ``key``, or None when there is none (alive)."""
    record = IdempotencyKey.objects.filter(user=user, key=key, created_at__gte=timezone.now() - KEY_LIFETIME).first()
    if record is None:
        return None
    if record.request_hash != digest:
        return problem_response(
            request, 422, _("This Idempotency-Key was used with another request; use a new key for a new request."),
            code="idempotency_key_reused", field=HEADER)
    return _replay(record)


def _atomic(run, request, *args, **kwargs):
    """Run a write in one transaction: a server error (5xx) leaves nothing half done."""
    with transaction.atomic():
        response = run(request, *args, **kwargs)
        if response.status_code >= 500:
            transaction.set_rollback(True)
        return response


def idempotent(run):
    """Decorates a ninja operation's ``run`` (``decorate_view(idempotent)``) of a POST or PATCH endpoint."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        if request.method not in WRITE_METHODS:
            return run(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if key is None:
            return _atomic(run, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            return problem_response(request, 400, _("The Idempotency-Key must be 1 to 255 visible ASCII characters."),
                                    code="bad_request", field=HEADER)
        token = bearer_token(request)
        if token is None:
            return _atomic(run, request, *args, **kwargs)  # answers 401
        digest = request_hash(request)
        earlier = _earlier(request, user=token.user, key=key, digest=digest)
        if earlier is not None:
            try:
                check_rate(token)  # a replay counts as a request
            except ApiProblem as problem:
                return problem_response(request, problem.status, problem.detail, code=problem.code,
                                        headers=problem.headers)
            return earlier
        try:
            with transaction.atomic():
                # An expired use of the key may be forgotten (never a live one another request just wrote).
                IdempotencyKey.objects.filter(user=token.user, key=key,
                                              created_at__lt=timezone.now() - KEY_LIFETIME).delete()
                record = IdempotencyKey.objects.create(
                    user=token.user, key=key, method=request.method, path=request.get_full_path()[:2048],
                    request_hash=digest, response_status=0)
                response = run(request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                if response.status_code in NOT_STORED:
                    record.delete()
                    return response
                record.response_status = response.status_code
                record.response_body = response.content.decode("utf-8")
                record.response_content_type = response.get("Content-Type", "")[:128]
                record.save(update_fields=["response_status", "response_body", "response_content_type"])
                return response
        except IntegrityError:
            # Another request with this key committed (or is committing) first.
            earlier = _earlier(request, user=token.user, key=key, digest=digest)
            if earlier is not None:
                return earlier
            return problem_response(request, 409, _("A request with this Idempotency-Key is still being processed."),
                                    code="idempotency_key_in_progress", field=HEADER)

    return wrapper
