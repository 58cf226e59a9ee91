"""Orders API 2026-01-01: searchOrders filters, rules and pagination; getOrder."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from .helpers import ago, api, iso, wait_for

SEARCH = "/orders/2026-01-01/orders"
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"


@pytest.fixture
def client(sandbox):
    return api(sandbox)


def search(client, **params):
    return client.get(SEARCH, params=params)


def error_of(response) -> dict:
    [error] = response.json()["errors"]
    return error


@pytest.mark.parametrize("params", [
    {},
    {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedAfter": "2026-01-01T00:00:00Z"},
    {"createdAfter": "2026-01-01T00:00:00Z", "lastUpdatedBefore": "2026-01-02T00:00:00Z"},
    {"lastUpdatedAfter": "2026-01-01T00:00:00Z", "createdBefore": "2026-01-02T00:00:00Z"},
    {"createdAfter": "yesterday"},
    {"createdAfter": "2026-01-02T00:00:00Z", "createdBefore": "2026-01-01T00:00:00Z"},
    {"createdAfter": "2026-01-01T00:00:00Z", "fulfillmentStatuses": "Unshipped"},
    {"createdAfter": "2026-01-01T00:00:00Z", "fulfilledBy": "FBA"},
    {"createdAfter": "2026-01-01T00:00:00Z", "includedData": "EVERYTHING"},
    {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "101"},
    {"createdAfter": "2026-01-01T00:00:00Z", "maxResultsPerPage": "0"},
    {"createdAfter": "2026-01-01T00:00:00Z", "marketplaceIds": "A2NOTASELLERMP"},
    {"paginationToken": "not a token"},
])
def test_invalid_searches_are_refused_like_amazon(client, params):
    response = search(client, **params)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidInput"


def test_the_two_minute_rule_on_before(sandbox, client):
    # At time scale 60, Amazon's 2 minutes are 2 real seconds.
    refused = search(client, lastUpdatedAfter=ago(hours=1), lastUpdatedBefore=ago(seconds=0))
    assert refused.status_code == 400
    assert "two minutes" in error_of(refused)["message"]
    ok = search(client, lastUpdatedAfter=ago(hours=1), lastUpdatedBefore=ago(seconds=3))
    assert ok.status_code == 200
    assert ok.json()["lastUpdatedBefore"] == ago(seconds=3) or ok.json()["lastUpdatedBefore"] <= ago(seconds=3)


def test_window_end_defaults_to_two_minutes_ago_and_new_orders_show_up_after(sandbox, client):
    sandbox.configure(rate_limits=False)  # this test polls
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    first = search(client, createdAfter=ago(hours=1)).json()
    assert order_id not in [o["orderId"] for o in first["orders"]]
    assert "createdBefore" in first
    sandbox.advance_clock(240)  # past the 2-minute rule, and the second the window's end is floored to
    found = wait_for(lambda: order_id in [o["orderId"] for o in search(client, createdAfter=ago(hours=1))
                                          .json()["orders"]], interval=0.2)
    assert found


def test_filters(sandbox, client):
    created = ago(hours=1)
    us_mfn = sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped",
                                   created_at=created)
    de_afn = sandbox.create_orders(count=2, marketplace="DE", fulfillment="AFN", status="Shipped", created_at=created)
    canceled = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Canceled",
                                     created_at=created)

    def ids(**params):
        body = search(client, **{"createdAfter": ago(hours=2), **params}).json()
        return {o["orderId"] for o in body["orders"]}

    assert ids() == set(us_mfn + de_afn + canceled)
    assert ids(marketplaceIds=DE) == set(de_afn)
    assert ids(marketplaceIds=f"{US},{DE}") == set(us_mfn + de_afn + canceled)
    assert ids(fulfilledBy="AMAZON") == set(de_afn)
    assert ids(fulfillmentStatuses="UNSHIPPED") == set(us_mfn)
    assert ids(fulfillmentStatuses="CANCELLED,SHIPPED") == set(de_afn + canceled)
    assert ids(createdAfter=ago(minutes=30)) == set()


def test_last_updated_search_sees_changes(sandbox, client):
    sandbox.configure(rate_limits=False)  # this test polls
    [order_id] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped", created_at=ago(hours=3))
    before_change = iso(datetime.now(tz=UTC))
    sandbox.set_status(order_id, "Canceled")

    def updated_ids():
        # 400 until the window (which ends 2 scaled minutes ago) reaches the change
        body = search(client, lastUpdatedAfter=before_change, includedData="FULFILLMENT").json()
        return {o["orderId"]: o["fulfillment"]["fulfillmentStatus"] for o in body.get("orders", [])}

    sandbox.advance_clock(240)  # past the 2-minute rule, and the second the window's end is floored to
    assert wait_for(lambda: updated_ids().get(order_id), interval=0.2) == "CANCELLED"
    assert order_id not in {o["orderId"] for o in search(client, createdAfter=ago(hours=2)).json()["orders"]}


def test_included_data_decides_what_is_returned(sandbox, client):
    sandbox.create_orders(count=1, marketplace="UK", fulfillment="MFN", status="Unshipped", promotion=True,
                          created_at=ago(hours=1))
    [bare] = search(client, createdAfter=ago(hours=2)).json()["orders"]
    assert {"buyer", "recipient", "proceeds", "fulfillment", "packages"}.isdisjoint(bare)
    assert bare["orderItems"][0]["product"]["sellerSku"].startswith("SANDBOX-SKU-")
    [full] = search(client, createdAfter=ago(hours=2),
                    includedData="BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PROMOTION,PACKAGES").json()["orders"]
    assert full["buyer"]["buyerEmail"].endswith("@marketplace.amazon.co.uk")
    assert full["recipient"]["deliveryAddress"]["countryCode"] == "GB"
    assert full["proceeds"]["grandTotal"]["currencyCode"] == "GBP"
    assert full["orderItems"][0]["promotion"]["breakdowns"]
    assert full["packages"] == []
    grand = Decimal(full["proceeds"]["grandTotal"]["amount"])
    assert grand == sum(Decimal(b["subtotal"]["amount"]) for b in full["proceeds"]["breakdowns"])


def test_pagination_walks_every_order_once_with_url_encoded_tokens(sandbox, client):
    created = set(sandbox.create_orders(count=57, seed=11, created_at=ago(hours=1)))
    first_page = {"createdAfter": ago(hours=2), "maxResultsPerPage": 20}
    seen, token, pages = [], None, 0
    while True:
        # Every page repeats the first page's parameters (Amazon's Pagination rule), plus the token.
        params = {**first_page, "paginationToken": token} if token else first_page
        body = search(client, **params).json()
        pages += 1
        seen += [o["orderId"] for o in body["orders"]]
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(created)
    # A client that forgets to URL-encode a token breaks, as with Amazon ('+' arrives as a space).
    after = ago(hours=2)
    raw = search(client, createdAfter=after, maxResultsPerPage=1).json()["pagination"]["nextToken"]
    assert "+" in raw
    unencoded = client.get(f"{SEARCH}?createdAfter={after}&maxResultsPerPage=1&paginationToken={raw}")
    assert unencoded.status_code == 400
    encoded = client.get(SEARCH, params={"createdAfter": after, "maxResultsPerPage": 1, "paginationToken": raw})
    assert encoded.status_code == 200


def test_get_order(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="JP", fulfillment="MFN", status="Unshipped")
    body = client.get(f"{SEARCH}/{order_id}", params={"includedData": "PROCEEDS,RECIPIENT"}).json()
    assert body["order"]["orderId"] == order_id
    assert "." not in body["order"]["proceeds"]["grandTotal"]["amount"]
    assert body["order"]["salesChannel"]["marketplaceName"] == "Amazon.co.jp"
    missing = client.get(f"{SEARCH}/111-0000000-0000000")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NotFound"
    malformed = client.get(f"{SEARCH}/not-an-order")
    assert malformed.status_code == 400


def test_buyer_cancellation_request_and_cancellation_are_visible(sandbox, client):
    requested, canceled = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    sandbox.buyer_cancel(requested, reason="Ordered by mistake")
    sandbox.amazon_cancel(canceled)
    body = client.get(f"{SEARCH}/{requested}", params={"includedData": "CANCELLATION"}).json()["order"]
    assert body["orderItems"][0]["cancellation"]["cancellationRequest"] == {"requester": "BUYER",
                                                                          "cancelReason": "Ordered by mistake"}
    body = client.get(f"{SEARCH}/{canceled}", params={"includedData": "CANCELLATION,FULFILLMENT"}).json()["order"]
    assert body["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert body["orderItems"][0]["cancellation"]["cancellationExecution"]["cancelledBy"] == "AMAZON"
