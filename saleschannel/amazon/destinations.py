"""Where an Amazon store's secrets may be sent (DESIGN.md §4.1): the endpoint and LWA token URL overrides.

The rules, in one place, for the store form, the store services and the sync pass (which refuses a store saved
before they applied).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from saleschannel.amazon.models import LWA_TOKEN_URL, REGION_ENDPOINTS, AmazonStore

SECRET_FIELDS = ("client_id", "client_secret", "refresh_token")
URL_FIELDS = ("endpoint_override", "token_url_override")
# Amazon's own hosts, suggested by the form (DESIGN.md §5): the regional SP-API endpoints, their sandboxes, LWA.
SUGGESTED_ENDPOINTS = (*REGION_ENDPOINTS.values(),
                       *(url.replace("https://", "https://sandbox.") for url in REGION_ENDPOINTS.values()))
SUGGESTED_TOKEN_URLS = (LWA_TOKEN_URL,)
LOOPBACK_NAMES = frozenset({"localhost"})


def override_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be an endpoint or LWA token URL override, or None (empty means Amazon's own).

    An ``https`` URL with a host, or ``http`` only on loopback (127.0.0.0/8, ::1, localhost: the sandbox); never a
    user name or password, a query or a fragment. The secrets are posted there.
    """
    value = (value or "").strip()
    if not value:
        return None
    if any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in value):
        return _("The URL must not contain spaces or backslashes.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return _("Enter a valid URL, e.g. https://sellingpartnerapi-na.amazon.com.")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        return _("The URL must start with https:// (http:// only for 127.0.0.1, ::1 or localhost).")
    if "@" in parts.netloc:
        return _("The URL must not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        return _("The URL must name a host, e.g. https://sellingpartnerapi-na.amazon.com.")
    if port == 0:
        return _("Enter a valid URL, e.g. https://sellingpartnerapi-na.amazon.com.")
    if parts.fragment or "#" in value:
        return _("The URL must not contain a fragment (#...).")
    if parts.query or "?" in value:
        return _("The URL must not contain a query (?...).")
    if scheme == "http" and not _is_loopback(host):
        return _("Secrets are sent to this URL: use https://. Plain http:// is allowed only on this machine "
                 "(127.0.0.1, ::1 or localhost).")
    return None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_override_url(value: str) -> None:
    """Django validator form of ``override_url_problem`` (the form shows the same message)."""
    problem = override_url_problem(value)
    if problem:
        raise ValidationError(problem, code="override_url")


def _same_url(a: str, b: str) -> bool:
    """One destination, spelled alike or not (case of scheme and host, a trailing slash)."""
    def canonical(value: str) -> tuple:
        value = (value or "").strip()
        if not value:
            return ()
        try:
            parts = urlsplit(value)
            return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, parts.path.rstrip("/"),
                    parts.query, parts.fragment, parts.username, parts.password)
        except ValueError:
            return (value,)
    return canonical(a) == canonical(b)


def changed_destinations(saved: AmazonStore | None, candidate: AmazonStore) -> list[str]:
    """The override fields of ``candidate`` that send the secrets somewhere ``saved`` (the database row) did not."""
    if saved is None:
        return []
    return [name for name in URL_FIELDS if not _same_url(getattr(saved, name), getattr(candidate, name))]


def secrets_for_destination_problem(*, saved: AmazonStore | None, candidate: AmazonStore, secrets: dict,
                                    testing: bool = False) -> tuple[str, str] | None:
    """(message, field) when ``candidate`` would send the stored secrets to an address they were not saved with.

    Changing the endpoint or the LWA token URL override needs the client id, client secret and refresh token in
    the same save (or the same test): stored secrets only ever go where they were saved to go.
    """
    if not changed_destinations(saved, candidate):
        return None
    missing = [name for name in SECRET_FIELDS if not (secrets.get(name) or "").strip()]
    if not missing:
        return None
    if testing:
        message = _("The endpoint or LWA token URL differs from the saved one: enter the LWA client id, client "
                    "secret and refresh token to test with them. Stored secrets are never sent to a new address.")
    else:
        message = _("The endpoint or LWA token URL changed: enter the LWA client id, client secret and refresh "
                    "token again in the same save. Stored secrets are never sent to a new address.")
    return message, missing[0]
