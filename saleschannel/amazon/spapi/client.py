"""python-amazon-sp-api (``sp_api``) as the gateway uses it: its clients, configured, and every use of its internals.

What this adds to the library, without forking it:

* endpoint and LWA token-URL override (sandbox, proxy): small subclasses of the library's clients that set the
  endpoint's Host header and use a token client pointed at the override;
* strict response checks: a 429, a 5xx, an unreadable body or an error body becomes an ``AmazonError`` in plain
  words (secrets and personal data never in it); the body as sent is kept on the response (``raw_json``);
* marketplaces only as the caller names them, and POST bodies exactly as given (``post``, ``get``);
* forgetting cached access tokens (``forget_tokens``) and turning the library's and httpx's exceptions into
  ``AmazonError`` (``amazon_error``).

Everything here that relies on the library's private API (attributes and methods starting with ``_``, overridden
internals) is pinned by tests/amazon/test_spapi_client.py: a library upgrade that changes them fails there.
"""

from __future__ import annotations

import json
from functools import partial
from urllib.parse import urlsplit

import httpx
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as token_module
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Marketplaces
from sp_api.base.exceptions import SellingApiException

from saleschannel.amazon.models import LwaCredentials, Region
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.core.logfilters import redact

# What a library call may raise besides AmazonError; ``amazon_error`` says each in plain words.
LIBRARY_ERRORS = (AuthorizationError, httpx.TimeoutException, httpx.TransportError, SellingApiException)

_REGION_MARKETPLACE = {Region.NA: Marketplaces.US, Region.EU: Marketplaces.DE, Region.FE: Marketplaces.JP}


def region_marketplace(region: str) -> Marketplaces:
    """The library's marketplace for an SP-API region (``Region``). The library wants one to pick its region; it
    never reaches Amazon (see _GatewayClientMixin._request)."""
    return _REGION_MARKETPLACE.get(Region(region), Marketplaces.US)


class TokenClient(AccessTokenClient):
    """The library's LWA client, pointed at ``token_url`` and caching tokens per (URL, client, refresh token)."""

    def __init__(self, *, token_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        # The library builds the token URL as scheme + host + path (AccessTokenClient.get_auth).
        parts = urlsplit(token_url)
        self.scheme = f"{parts.scheme}://"
        self.host = parts.netloc
        self.path = parts.path or "/"
        self._token_url = token_url

    def _get_cache_key(self, token_flavor: str = "") -> str:
        # Hashed by the library (never stored in clear); the secret is part of it so new credentials get new tokens.
        return super()._get_cache_key(
            f"{token_flavor}|{self._token_url}|{self.cred.client_id}|{self.cred.client_secret}")

    def _request(self, url, data, headers):
        try:
            return super()._request(url, data, headers)
        except ValueError:  # the token endpoint answered something that is not JSON
            raise AmazonError("Amazon's login service sent an unreadable answer.", "Malformed", None, True)


class _GatewayClientMixin:
    """Set on top of a library client class: correct Host header for any endpoint, strict response checks."""

    @property
    def headers(self):
        headers = super().headers
        headers["host"] = urlsplit(self.endpoint).netloc
        return headers

    def _request(self, path, *, add_marketplace=True, **kwargs):
        # The library fills in the region's default marketplace (under four parameter names) whenever a call names
        # none: a store selling on FR and DE would then ask for DE only. Amazon sees only the marketplaces we send.
        return super()._request(path, add_marketplace=False, **kwargs)

    def _check_response(self, res, res_no_data=False, bulk=False, wrap_list=False):
        status = res.status_code
        body = res.content or b""
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            data = None
        if status == 429:
            raise AmazonError("Amazon is throttling requests (quota exceeded).", "QuotaExceeded", 429, True)
        if status >= 500:
            raise AmazonError(f"Amazon had a temporary problem (HTTP {status}).", _first_code(data) or "ServerError",
                              status, True)
        if data is None:
            if 200 <= status < 300:
                raise AmazonError("Amazon sent an unreadable answer.", "Malformed", status, True)
            data = {}
        if status >= 400 or (isinstance(data, dict) and data.get("errors")):
            raise _error_from_body(data, status)
        res.json = lambda **_kwargs: data  # the library decodes the body again otherwise (pages are large)
        response = super()._check_response(res, res_no_data, bulk, wrap_list)
        response.raw_json = data  # the body as sent (2026 has no payload wrapper and uses "pagination")
        return response


def _first_code(data) -> str:
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        return str(data["errors"][0].get("code") or "")
    return ""


_PLAIN_WORDS = {
    400: "Amazon refused the request",
    401: "Amazon refused the credentials",
    403: "Access denied by Amazon (check the seller id, the refresh token and the app's roles)",
    404: "Amazon does not know this resource",
    409: "Amazon reports a conflict with the current state",
    413: "The request is too large for Amazon",
    415: "Amazon does not accept this format",
}


def _error_from_body(data, status: int) -> AmazonError:
    errors = data.get("errors") if isinstance(data, dict) else None
    code, detail = "", ""
    if isinstance(errors, list) and errors:
        code = str(errors[0].get("code") or "")
        detail = str(errors[0].get("message") or "")
    prefix = _PLAIN_WORDS.get(status, f"Amazon answered HTTP {status}")
    message = f"{prefix}: {detail}" if detail else f"{prefix}."
    return AmazonError(redact(message), code or f"HTTP{status}", status, False)


_CLASS_CACHE: dict[type, type] = {}


def _configured(cls: type) -> type:
    if cls not in _CLASS_CACHE:
        _CLASS_CACHE[cls] = type(f"Gateway{cls.__name__}", (_GatewayClientMixin, cls), {})
    return _CLASS_CACHE[cls]


def make_client(cls: type, *, marketplace: Marketplaces, endpoint: str, token_url: str, credentials: LwaCredentials,
                timeout: float):
    """An instance of the library client class ``cls`` (e.g. ``OrdersV20260101``) talking to ``endpoint``, with
    tokens from ``token_url`` and the strict checks above."""
    client = _configured(cls)(
        marketplace,
        refresh_token=credentials.refresh_token,
        credentials={"lwa_app_id": credentials.client_id, "lwa_client_secret": credentials.client_secret},
        timeout=timeout,
        auth_token_client_class=partial(TokenClient, token_url=token_url),
    )
    client.endpoint = endpoint
    return client


def forget_tokens(clients) -> None:
    """Drop the cached access tokens of ``clients`` (library clients made by ``make_client``)."""
    for client in clients:
        try:
            token_module.cache.pop(client._auth._get_cache_key(), None)
        except AttributeError:
            pass


def post(client, path: str, body: dict) -> ApiResponse:
    """POST exactly ``body`` (the model's request schema). The library's create_feed_document / create_feed put their
    own keyword arguments, the request path among them, into the body, which Amazon's schemas do not allow."""
    return client._request(path, data={**body, "method": "POST"})  # "method" is popped by the library, not sent


def get(client, path: str) -> ApiResponse:
    """GET ``path`` with no query parameters (operations the library has no method for, or names differently)."""
    return client._request(path, params={}, add_marketplace=False)


def amazon_error(exc: BaseException) -> AmazonError:
    """One of ``LIBRARY_ERRORS`` in plain words, retryable when trying again may succeed."""
    if isinstance(exc, AuthorizationError):
        status = getattr(exc, "status_code", None)
        return AmazonError(
            "Amazon's login service refused the credentials (client id, client secret or refresh token).",
            "Unauthorized", status, bool(status and (status == 429 or status >= 500)),
        )
    if isinstance(exc, httpx.TimeoutException):
        return AmazonError("Amazon did not answer in time.", "Timeout", None, True)
    if isinstance(exc, httpx.TransportError):
        return AmazonError(f"Cannot reach Amazon ({type(exc).__name__}).", "Network", None, True)
    # SellingApiException: raised by the library itself (e.g. an upload it makes)
    return AmazonError(redact(f"Amazon refused the request: {getattr(exc, 'message', '')}"),
                       getattr(exc, "amzn_code", "") or "", getattr(exc, "code", None), False)
