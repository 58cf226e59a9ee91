"""Token buckets per operation and seller with Amazon's published rate and burst."""

from __future__ import annotations

from saleschannel.sandbox.limits import USAGE_PLANS

from .helpers import ago, api


def test_a_burst_one_call_larger_than_the_bucket_gets_exactly_one_429(sandbox):
    # searchOrders: rate 0.0056/s, burst 20 → one token every ~179 s, i.e. ~1.8 s at time scale 100.
    sandbox.configure(time_scale=100)
    client = api(sandbox)
    rate, burst = USAGE_PLANS["searchOrders"]
    statuses = [client.get("/orders/2026-01-01/orders", params={"createdAfter": ago(hours=1)}).status_code
                for _ in range(burst + 1)]
    assert statuses.count(429) == 1 and statuses[-1] == 429
    assert statuses.count(200) == burst
    [throttled] = [r for r in sandbox.requests(operation="searchOrders") if r["status"] == 429]
    assert throttled["fault"] is None

    sandbox.advance_clock(1 / rate + 30)  # the refill time of one token, plus a margin (sandbox seconds)
    again = client.get("/orders/2026-01-01/orders", params={"createdAfter": ago(hours=1)})
    assert again.status_code == 200


def test_429_body_and_headers(sandbox):
    client = api(sandbox)
    _, burst = USAGE_PLANS["getOrders"]
    responses = [client.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER",
                                                         "CreatedAfter": ago(hours=1)}) for _ in range(burst + 1)]
    ok, throttled = responses[0], responses[-1]
    assert ok.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    assert ok.headers["x-amzn-RequestId"]
    assert throttled.status_code == 429
    assert throttled.json() == {"errors": [{"code": "QuotaExceeded",
                                            "message": "You exceeded your quota for the requested resource."}]}
    assert "Retry-After" not in throttled.headers


def test_buckets_are_per_operation(sandbox):
    client = api(sandbox)
    _, burst = USAGE_PLANS["searchOrders"]
    for _ in range(burst + 1):
        client.get("/orders/2026-01-01/orders", params={"createdAfter": ago(hours=1)})
    assert client.get("/orders/2026-01-01/orders/111-0000000-0000000").status_code == 404  # getOrder has its own


def test_rate_limits_can_be_switched_off(sandbox):
    sandbox.configure(rate_limits=False)
    client = api(sandbox)
    _, burst = USAGE_PLANS["searchOrders"]
    statuses = {client.get("/orders/2026-01-01/orders", params={"createdAfter": ago(hours=1)}).status_code
                for _ in range(burst + 5)}
    assert statuses == {200}
