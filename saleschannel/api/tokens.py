"""Personal API tokens: create (the secret is returned once), list, revoke, and find the token of a request.

A token reads ``sc_<8 characters>_<secret>``; ``sc_<8 characters>`` is its prefix, stored in clear to tell tokens
apart. The whole token is stored as its SHA-256 only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.api.models import ApiToken
from saleschannel.core.errors import DomainError

TOKEN_START = "sc_"  # noqa: S105 - the start every token shares, not a secret
MAX_TOKEN_LENGTH = 200
MAX_EXPIRY_DAYS = 3650
LAST_USED_PRECISION = timedelta(minutes=1)  # last_used_at is written at most once a minute per token


class ApiTokenError(DomainError):
    """A refused token operation (unknown user, bad name or expiry, unknown token)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the full token, shown once


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user, name: str, expires_days: int | None = None) -> NewToken:
    """A new token for ``user``; the returned ``secret`` is the only copy of the token in clear."""
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ApiTokenError(_("Enter a name of up to 100 characters."), code="invalid", field="name")
    if not user.is_active:
        raise ApiTokenError(_("This user is inactive."), code="invalid", field="user")
    expires_at = None
    if expires_days is not None:
        if isinstance(expires_days, bool) or not isinstance(expires_days, int) \
                or not 1 <= expires_days <= MAX_EXPIRY_DAYS:
            raise ApiTokenError(_("The expiry must be between 1 and %(max)d days.") % {"max": MAX_EXPIRY_DAYS},
                                code="invalid", field="expires_days")
        expires_at = timezone.now() + timedelta(days=expires_days)
    prefix = TOKEN_START + secrets.token_hex(4)
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, token_hash=hash_token(raw),
                                    expires_at=expires_at)
    return NewToken(token=token, secret=raw)


def token_list(*, user=None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    return tokens.filter(user=user) if user is not None else tokens


def token_find(*, ident: str) -> ApiToken:
    """The token with id or prefix ``ident``; ApiTokenError when there is none."""
    ident = (ident or "").strip()
    condition = Q(prefix=ident)
    if ident.isascii() and ident.isdigit() and len(ident) < 19:
        condition |= Q(pk=int(ident))
    token = ApiToken.objects.select_related("user").filter(condition).first()
    if token is None:
        raise ApiTokenError(_('No API token "%(ident)s".') % {"ident": ident[:40]}, code="not_found")
    return token


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token`` now (revoking twice keeps the first date)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=token.revoked_at)
    return token


def token_for_secret(raw: str | None) -> ApiToken | None:
    """The usable token whose secret is ``raw`` (with its active user), or None."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH or not raw.startswith(TOKEN_START):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    return token


def token_touch(*, token: ApiToken) -> None:
    """Record that ``token`` was used now (at most one write a minute)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def user_named(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApiTokenError(_('No user "%(name)s".') % {"name": username[:150]}, code="not_found", field="user")
    return user
