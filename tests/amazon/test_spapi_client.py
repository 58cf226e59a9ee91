"""Every use of python-amazon-sp-api's private API (saleschannel/amazon/spapi/client.py), pinned.

The gateway overrides some of the library's internals (``AccessTokenClient._get_cache_key`` and ``_request``, the
token URL built from ``scheme``/``host``/``path``, ``Client.headers``, ``_request``'s ``add_marketplace``,
``_check_response`` and the ``res.json`` it calls) and reads others (``Client._auth``, the module-level token
``cache``, ``restricted_data_token``, ``endpoint``, the ``"method"`` key ``_request`` pops from a body). A library
upgrade that renames, re-signs or stops using any of them must fail here, loudly, not in production: first the
signatures, then each behaviour through a mock HTTP transport (no network).
"""

from __future__ import annotations

import inspect
import json
from urllib.parse import parse_qs

import httpx
import pytest
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as token_module
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Client, Marketplaces
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.exceptions import SellingApiException

from saleschannel.amazon.models import LwaCredentials
from saleschannel.amazon.spapi import client as sp_client
from saleschannel.amazon.spapi.errors import AmazonError

ENDPOINT = "https://sp.example.test:8443"
TOKEN_URL = "https://lwa.example.test/custom/token"


def _parameters(function) -> list[tuple[str, str, object]]:
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(function).parameters.values()]


# --- Signatures ---------------------------------------------------------------------------------------------------


def test_the_overridden_and_called_internals_keep_their_signatures():
    empty = inspect.Parameter.empty
    assert _parameters(AccessTokenClient._get_cache_key) == [
        ("self", "POSITIONAL_OR_KEYWORD", empty), ("token_flavor", "POSITIONAL_OR_KEYWORD", "")]
    assert _parameters(AccessTokenClient._request) == [
        ("self", "POSITIONAL_OR_KEYWORD", empty), ("url", "POSITIONAL_OR_KEYWORD", empty),
        ("data", "POSITIONAL_OR_KEYWORD", empty), ("headers", "POSITIONAL_OR_KEYWORD", empty)]
    assert _parameters(Client._check_response) == [
        ("self", "POSITIONAL_OR_KEYWORD", empty), ("res", "POSITIONAL_OR_KEYWORD", empty),
        ("res_no_data", "POSITIONAL_OR_KEYWORD", False), ("bulk", "POSITIONAL_OR_KEYWORD", False),
        ("wrap_list", "POSITIONAL_OR_KEYWORD", False)]
    request = dict((name, (kind, default)) for name, kind, default in _parameters(Client._request))
    assert list(request)[:2] == ["self", "path"]
    for name in ("data", "params", "add_marketplace"):
        assert request[name][0] == "KEYWORD_ONLY", name
    assert request["add_marketplace"][1] is True
    assert isinstance(inspect.getattr_static(Client, "headers"), property)
    init = inspect.signature(Client.__init__).parameters
    for name in ("refresh_token", "credentials", "timeout", "auth_token_client_class"):
        assert init[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    token_init = inspect.signature(AccessTokenClient.__init__).parameters
    assert {"refresh_token", "credentials", "proxies", "verify"} <= set(token_init)
    # The token URL is built from these class attributes; the token cache is a module-level mapping.
    assert (AccessTokenClient.scheme, AccessTokenClient.host, AccessTokenClient.path) == (
        "https://", "api.amazon.com", "/auth/o2/token")
    assert callable(token_module.cache.pop) and hasattr(token_module.cache, "__setitem__")
    assert isinstance(Marketplaces.US.endpoint, str)


# --- Behaviour through a mock transport ---------------------------------------------------------------------------


class FakeAmazon:
    """Answers the LWA token endpoint and the SP-API endpoint; records every request."""

    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.answer = httpx.Response(200, json={"payload": {"ok": True}})
        self.token_answer = httpx.Response(200, json={"access_token": "Atza|token", "token_type": "bearer",
                                                      "expires_in": 3600})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            return self.token_answer
        return self.answer

    def transport(self) -> HttpxTransport:
        return HttpxTransport(client=httpx.Client(transport=httpx.MockTransport(self)))

    @property
    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url) != TOKEN_URL]


@pytest.fixture
def amazon():
    return FakeAmazon()


def make(amazon: FakeAmazon, cls=OrdersV20260101, secret: str = "secret"):
    client = sp_client.make_client(cls, marketplace=sp_client.region_marketplace("EU"), endpoint=ENDPOINT,
                                   token_url=TOKEN_URL, credentials=LwaCredentials("client", secret, "refresh"),
                                   timeout=5)
    # The library's own transports, over the fake (test only: the product never touches ``_transport``).
    client._transport = amazon.transport()
    client._auth._transport = amazon.transport()
    sp_client.forget_tokens([client])
    return client


def test_tokens_come_from_the_overridden_url_and_are_cached_per_credentials(amazon):
    client = make(amazon)
    assert isinstance(client._auth, sp_client.TokenClient)
    response = sp_client.get(client, "/orders/2026-01-01/orders/1")
    token_requests = [r for r in amazon.requests if str(r.url) == TOKEN_URL]
    assert len(token_requests) == 1 and token_requests[0].method == "POST"
    assert parse_qs(token_requests[0].content.decode())["client_id"] == ["client"]
    key = client._auth._get_cache_key()
    assert key in token_module.cache and key != AccessTokenClient._get_cache_key(client._auth)
    assert make(amazon, secret="other")._auth._get_cache_key() != key  # new credentials, new token
    sp_client.get(client, "/orders/2026-01-01/orders/1")
    assert len([r for r in amazon.requests if str(r.url) == TOKEN_URL]) == 1  # from the cache
    sp_client.forget_tokens([client])
    assert key not in token_module.cache
    assert isinstance(response, ApiResponse)


def test_requests_go_to_the_endpoint_with_its_host_the_token_and_no_default_marketplace(amazon):
    client = make(amazon, FeedsV20210630)
    response = client.get_feeds(feedTypes=["POST_ORDER_ACKNOWLEDGEMENT_DATA"])
    [request] = amazon.api_requests
    assert str(request.url).startswith(f"{ENDPOINT}/feeds/2021-06-30/feeds")
    assert request.headers["host"] == "sp.example.test:8443"
    assert request.headers["x-amz-access-token"] == "Atza|token"
    assert set(request.url.params) == {"feedTypes"}  # the library's default marketplace is never added
    assert response.raw_json == {"payload": {"ok": True}}  # the body as sent


def test_a_restricted_data_token_replaces_the_access_token(amazon):
    client = make(amazon)
    client.restricted_data_token = "Atz.sprdt|rdt"
    sp_client.get(client, "/orders/v0/orders/1")
    assert amazon.api_requests[-1].headers["x-amz-access-token"] == "Atz.sprdt|rdt"


def test_post_sends_exactly_the_body_and_get_no_parameters(amazon):
    client = make(amazon, FeedsV20210630)
    sp_client.post(client, "/feeds/2021-06-30/feeds", {"feedType": "X", "inputFeedDocumentId": "D"})
    request = amazon.api_requests[-1]
    assert request.method == "POST" and json.loads(request.content) == {"feedType": "X", "inputFeedDocumentId": "D"}
    sp_client.get(client, "/feeds/2021-06-30/documents/D")
    request = amazon.api_requests[-1]
    assert request.method == "GET" and not request.url.params


@pytest.mark.parametrize(("answer", "code", "status", "retryable"), [
    (httpx.Response(429, json={"errors": [{"code": "QuotaExceeded"}]}), "QuotaExceeded", 429, True),
    (httpx.Response(503, json={"errors": [{"code": "ServiceUnavailable"}]}), "ServiceUnavailable", 503, True),
    (httpx.Response(500, content=b"<html>"), "ServerError", 500, True),
    (httpx.Response(200, content=b"{not json"), "Malformed", 200, True),
    (httpx.Response(400, json={"errors": [{"code": "InvalidInput", "message": "bad date"}]}), "InvalidInput", 400,
     False),
    (httpx.Response(200, json={"errors": [{"code": "Odd", "message": "error in a 200"}]}), "Odd", 200, False),
    (httpx.Response(403, content=b""), "HTTP403", 403, False),
])
def test_answers_are_checked_strictly(amazon, answer, code, status, retryable):
    client = make(amazon)
    amazon.answer = answer
    with pytest.raises(AmazonError) as caught:
        sp_client.get(client, "/orders/2026-01-01/orders/1")
    assert (caught.value.code, caught.value.status, caught.value.retryable) == (code, status, retryable)


def test_an_empty_success_is_an_empty_body(amazon):
    client = make(amazon)
    amazon.answer = httpx.Response(204, content=b"")
    assert sp_client.get(client, "/orders/v0/orders/1/shipmentConfirmation").raw_json == {}


def test_an_unreadable_token_answer_is_a_retryable_error(amazon):
    client = make(amazon, secret="unreadable")
    amazon.token_answer = httpx.Response(200, content=b"<html>maintenance</html>")
    with pytest.raises(AmazonError) as caught:
        sp_client.get(client, "/orders/2026-01-01/orders/1")
    assert caught.value.code == "Malformed" and caught.value.retryable


def test_library_errors_in_plain_words():
    refused = sp_client.amazon_error(AuthorizationError("invalid_grant", "bad token", 400))
    assert (refused.code, refused.status, refused.retryable) == ("Unauthorized", 400, False)
    assert sp_client.amazon_error(httpx.ReadTimeout("slow")).code == "Timeout"
    assert sp_client.amazon_error(httpx.ConnectError("down")).code == "Network"
    assert not sp_client.amazon_error(SellingApiException([{"message": "no"}], headers={})).retryable
    assert set(sp_client.LIBRARY_ERRORS) == {AuthorizationError, httpx.TimeoutException, httpx.TransportError,
                                             SellingApiException}
