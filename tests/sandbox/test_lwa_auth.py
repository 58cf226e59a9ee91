"""LWA token endpoint and the access-token check on every SP-API route."""

from __future__ import annotations

import httpx

from .helpers import api


def lwa(sandbox, **form) -> httpx.Response:
    return httpx.post(sandbox.token_url, data=form, timeout=10)


def refresh_form(sandbox, **overrides):
    creds = sandbox.credentials
    form = {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"], "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]}
    form.update(overrides)
    return form


def test_refresh_token_grant_gives_a_bearer_token(sandbox):
    response = lwa(sandbox, **refresh_form(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("Atza|")
    assert body["refresh_token"] == sandbox.credentials["refresh_token"]
    assert body["expires_in"] == 60  # 3600 s at time scale 60, in real seconds
    orders = api(sandbox, body["access_token"]).get(f"/orders/v0/orders/{'1' * 3}-{'2' * 7}-{'3' * 7}")
    assert orders.status_code == 404


def test_client_credentials_grant_needs_a_known_scope(sandbox):
    creds = sandbox.credentials
    base = {"grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]}
    ok = lwa(sandbox, **base, scope="sellingpartnerapi::notifications")
    assert ok.status_code == 200 and ok.json()["scope"] == "sellingpartnerapi::notifications"
    assert lwa(sandbox, **base).json()["error"] == "invalid_request"
    assert lwa(sandbox, **base, scope="everything").json()["error"] == "invalid_scope"
    # a grantless token does not open seller data
    denied = api(sandbox, ok.json()["access_token"]).get("/orders/2026-01-01/orders/111-1111111-1111111")
    assert denied.status_code == 403


def test_lwa_errors_have_amazons_shape(sandbox):
    bad_client = lwa(sandbox, **refresh_form(sandbox, client_secret="nope"))
    assert bad_client.status_code == 401
    assert bad_client.json() == {"error_description": "Client authentication failed", "error": "invalid_client"}
    bad_grant = lwa(sandbox, **refresh_form(sandbox, refresh_token="Atzr|stale"))
    assert bad_grant.status_code == 400
    assert bad_grant.json()["error"] == "invalid_grant"
    assert lwa(sandbox, **refresh_form(sandbox, grant_type="password")).json()["error"] == "unsupported_grant_type"
    missing = lwa(sandbox, grant_type="refresh_token")
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_lwa_requests_are_recorded_without_secrets(sandbox):
    lwa(sandbox, **refresh_form(sandbox))
    [recorded] = sandbox.requests(operation="lwaToken")
    assert sandbox.credentials["client_secret"] not in recorded["body"]
    assert sandbox.credentials["refresh_token"] not in recorded["body"]
    assert sandbox.credentials["client_id"] in recorded["body"]


def test_every_sp_api_route_checks_the_access_token(sandbox):
    client = httpx.Client(base_url=sandbox.url, timeout=10)
    routes = [("GET", "/orders/2026-01-01/orders"), ("GET", "/orders/2026-01-01/orders/111-1111111-1111111"),
              ("GET", "/orders/v0/orders"), ("GET", "/orders/v0/orders/111-1111111-1111111/orderItems"),
              ("POST", "/orders/v0/orders/111-1111111-1111111/shipmentConfirmation"),
              ("POST", "/tokens/2021-03-01/restrictedDataToken"), ("POST", "/feeds/2021-06-30/documents"),
              ("GET", "/feeds/2021-06-30/feeds"), ("DELETE", "/feeds/2021-06-30/feeds/1")]
    for method, path in routes:
        for headers in ({}, {"x-amz-access-token": "Atza|forged"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 403, (method, path)
            [error] = response.json()["errors"]
            assert error["code"] == "Unauthorized"
            assert response.headers["x-amzn-RequestId"]


def test_access_tokens_expire(sandbox):
    sandbox.configure(token_ttl_seconds=6)  # 0.1 real second at time scale 60
    token = lwa(sandbox, **refresh_form(sandbox)).json()["access_token"]
    sandbox.advance_clock(18)  # 0.3 real second: past the token's life
    response = api(sandbox, token).get("/orders/2026-01-01/orders/111-1111111-1111111")
    assert response.status_code == 403
    assert "expired" in response.json()["errors"][0]["details"]
