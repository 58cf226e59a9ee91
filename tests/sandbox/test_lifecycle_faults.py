"""Order lifecycle on the sandbox clock, the order stream, fault injection, persistence across restarts."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from saleschannel.sandbox.testing import run_sandbox

from .helpers import api, wait_for


def test_pending_becomes_unshipped_after_the_delay(sandbox):
    # pending delay 60 s at time scale 60: one real second
    mfn, afn = (sandbox.create_orders(count=1, marketplace="US", fulfillment=f)[0] for f in ("MFN", "AFN"))
    first = sandbox.order(mfn)
    assert first["status"] == "Pending"
    assert first["pendingUntilMs"] - first["createdMs"] == pytest.approx(1000, abs=50)
    sandbox.advance_clock(60)  # the pending delay: payment verified before this returns
    became = wait_for(lambda: (o := sandbox.order(mfn))["status"] != "Pending" and o)
    assert became["status"] == "Unshipped"
    assert became["lastUpdatedMs"] >= first["pendingUntilMs"]
    assert wait_for(lambda: sandbox.order(afn)["status"] != "Pending") and sandbox.order(afn)["status"] == "Shipped"
    v0 = api(sandbox).get(f"/orders/v0/orders/{mfn}").json()["payload"]
    assert v0["OrderStatus"] == "Unshipped" and "OrderTotal" in v0


def test_control_actions_follow_amazons_rules(sandbox):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
    sandbox.buyer_cancel(order_id)
    items = api(sandbox).get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"]
    assert all(i["BuyerRequestedCancel"]["IsBuyerRequestedCancel"] == "true" for i in items)
    shipped = sandbox.ship(order_id, tracking="1ZSELLERCENTRAL")
    assert shipped["status"] == "Shipped" and shipped["packages"][0]["trackingNumber"] == "1ZSELLERCENTRAL"
    with pytest.raises(Exception, match="cannot be canceled"):
        sandbox.amazon_cancel(order_id)
    with pytest.raises(Exception, match="unknown status"):
        sandbox.set_status(order_id, "Lost")
    with pytest.raises(Exception, match="not found"):
        sandbox.order("111-0000000-0000000")


def test_stream_mode_keeps_creating_orders(sandbox):
    sandbox.configure(stream_per_minute=120)  # 2 per sandbox second = 120 per real second at scale 60
    count = wait_for(lambda: (n := sandbox.call("GET", "/_sandbox/orders")["count"]) >= 20 and n)
    sandbox.configure(stream_per_minute=0)
    assert count >= 20


def test_fault_rates_are_honoured_over_a_fixed_seed(sandbox):
    sandbox.configure(rate_limits=False)
    sandbox.set_faults({"getOrder": {"429": 0.2, "500": 0.1, "503": 0.05, "malformed": 0.05}}, seed=1)
    client = api(sandbox)
    n = 600
    outcomes = Counter()
    for _ in range(n):
        response = client.get("/orders/2026-01-01/orders/111-0000000-0000000")
        if response.status_code == 404:
            try:
                response.json()
                outcomes["normal"] += 1
            except json.JSONDecodeError:
                outcomes["malformed"] += 1
        else:
            outcomes[response.status_code] += 1
    # binomial standard deviation sqrt(n p (1-p)); 4 of them is a safe tolerance for a fixed seed
    for key, rate in ((429, 0.2), (500, 0.1), (503, 0.05), ("malformed", 0.05), ("normal", 0.6)):
        assert abs(outcomes[key] - n * rate) <= 4 * (n * rate * (1 - rate)) ** 0.5, (key, outcomes)
    recorded = Counter(r["fault"] for r in sandbox.requests(operation="getOrder", limit=n))
    assert recorded["429"] == outcomes[429] and recorded["malformed"] == outcomes["malformed"]
    # other operations are untouched, and clearing works
    assert client.get("/orders/v0/orders/111-0000000-0000000").status_code == 404
    sandbox.set_faults()
    assert {client.get("/orders/2026-01-01/orders/111-0000000-0000000").status_code for _ in range(20)} == {404}


def test_error_faults_use_amazons_error_format(sandbox):
    sandbox.set_faults({"*": {"503": 1.0}})
    response = api(sandbox).get("/orders/2026-01-01/orders/111-0000000-0000000")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "ServiceUnavailable"


def test_slow_responses_pass_a_client_timeout(sandbox):
    sandbox.set_faults({"getOrder": {"timeout": 1.0}}, timeout_seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        api(sandbox).get("/orders/2026-01-01/orders/111-0000000-0000000", timeout=0.5)


def test_invalid_fault_specs_are_refused(sandbox):
    for spec in ({"getOrder": {"418": 0.5}}, {"noSuchOperation": {"500": 0.1}}, {"*": {"500": 0.7, "503": 0.7}}):
        with pytest.raises(Exception, match="400"):
            sandbox.set_faults(spec)


def test_orders_are_reproducible_from_a_seed(sandbox):
    def snapshot(seed=99):
        ids = sandbox.create_orders(count=5, seed=seed, status="Unshipped")
        ignored = ("createdMs", "lastUpdatedMs", "earliestShipMs", "latestShipMs", "earliestDeliveryMs",
                   "latestDeliveryMs", "packages")
        return [{k: v for k, v in sandbox.order(i).items() if k not in ignored and not k.endswith("Time")}
                for i in ids]

    first = snapshot()
    sandbox.reset()
    assert snapshot() == first
    assert [o["orderId"] for o in snapshot(seed=100)] != [o["orderId"] for o in first]


def test_state_survives_a_restart(tmp_path):
    with run_sandbox(tmp_path / "sb", time_scale=60) as first:
        ids = first.create_orders(count=3, seed=5, status="Unshipped")
        credentials = first.credentials
        first.set_faults({"getOrder": {"500": 0.5}})
    with run_sandbox(tmp_path / "sb", time_scale=60) as second:
        assert second.credentials == credentials
        assert second.order(ids[0])["status"] == "Unshipped"
        assert second.call("GET", "/_sandbox/faults")["getOrder"] == {"500": 0.5}
        second.reset()
        assert second.call("GET", "/_sandbox/orders")["count"] == 0
        assert second.credentials == second.refresh_credentials()
