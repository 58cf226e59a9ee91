"""Bearer-token authentication, the per-token rate limit and the role's permission, in that order.

Each operation gets its own ``TokenAuth(permission)``: 401 for no or a bad token, then 429 when the token is over
its rate, then 403 when the token's user lacks the permission the matching screen requires — all before the body
is read, so a Viewer never learns whether its body would have validated. The session cookie of a signed-in browser
is never used: only ``Authorization: Bearer``.

The rate limit is a fixed window per token in Django's cache: ``settings.API_RATE_LIMIT`` = (requests, seconds),
120 a minute by default. Over it: 429 with ``Retry-After`` (seconds to the next window). With the default
local-memory cache each server process counts on its own; configure a shared cache to count across processes.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from saleschannel.api import tokens
from saleschannel.api.errors import ApiProblem

DEFAULT_RATE_LIMIT = (120, 60)


def rate_limit() -> tuple[int, int]:
    requests, seconds = getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE_LIMIT)
    return int(requests), max(int(seconds), 1)


def check_rate(token) -> None:
    """Count one request of ``token``; ApiProblem(429) with Retry-After when it is over the limit."""
    limit, period = rate_limit()
    now = time.time()
    window = int(now // period)
    key = f"api-rate:{token.pk}:{window}"
    cache.add(key, 0, period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, period + 1)
        count = 1
    if count > limit:
        retry_after = max(math.ceil((window + 1) * period - now), 1)
        raise ApiProblem(429, _("Too many requests for this token: at most %(limit)d in %(period)d seconds.")
                         % {"limit": limit, "period": period}, headers={"Retry-After": str(retry_after)})


def bearer_token(request):
    """The usable token the request carries (no side effect), or None."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return tokens.token_for_secret(raw.strip())


class TokenAuth(HttpBearer):
    def __init__(self, permission: str | None = None) -> None:
        super().__init__()
        self.permission = permission

    def __call__(self, request):
        token = bearer_token(request)
        if token is None:
            return None  # 401
        check_rate(token)
        user = token.user
        if self.permission and not user.has_perm(self.permission):
            raise ApiProblem(403, _("Your role does not allow this (%(permission)s).")
                             % {"permission": self.permission})
        tokens.token_touch(token=token)
        request.user = user
        request.api_token = token
        return token

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return None
