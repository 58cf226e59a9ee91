"""Rate limiting per token: 429 with Retry-After once over the limit, counted per token."""

from __future__ import annotations

from saleschannel.api import auth
from tests.api.conftest import api_client_for

ORDERS = "/api/v1/orders"


def test_over_the_limit_is_429_with_retry_after_per_token(settings, operator, viewer, monkeypatch):
    settings.API_RATE_LIMIT = (3, 60)
    now = [60 * 16_667 + 20.0]  # 20 s into a 60 s window
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    first, second = api_client_for(operator, "one"), api_client_for(viewer, "two")
    assert [first.get(ORDERS).status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get(ORDERS)
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("application/problem+json")
    assert limited.json()["code"] == "rate_limited"
    assert limited["Retry-After"] == "40"
    # POSTs count too, and are refused before they act.
    assert first.post(f"{ORDERS}/1/hold").status_code == 429
    # Another token has its own allowance.
    assert second.get(ORDERS).status_code == 200
    # The next window opens.
    now[0] += 40
    assert first.get(ORDERS).status_code == 200


def test_another_token_of_the_same_user_counts_apart(settings, operator):
    settings.API_RATE_LIMIT = (1, 60)
    first, second = api_client_for(operator, "one"), api_client_for(operator, "two")
    assert first.get(ORDERS).status_code == 200
    assert first.get(ORDERS).status_code == 429
    assert second.get(ORDERS).status_code == 200


def test_bad_tokens_are_not_counted_against_a_good_one(settings, operator, anonymous_api):
    settings.API_RATE_LIMIT = (2, 60)
    for _ in range(5):
        assert anonymous_api.get(ORDERS).status_code == 401
    client = api_client_for(operator)
    assert [client.get(ORDERS).status_code for _ in range(3)] == [200, 200, 429]


def test_replays_count_too(settings, operator, order):
    settings.API_RATE_LIMIT = (2, 60)
    client = api_client_for(operator)
    url = f"{ORDERS}/{order.pk}/hold"
    assert client.post(url, key="k").status_code == 200
    assert client.post(url, key="k")["Idempotent-Replayed"] == "true"
    limited = client.post(url, key="k")
    assert limited.status_code == 429 and "Retry-After" in limited
