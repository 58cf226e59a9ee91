"""Amazon's Pagination rule, token life, window bounds and page sizes, for searchOrders (2026-01-01) and getOrders
(v0): each rule refused when broken and accepted when kept."""

from __future__ import annotations

import pytest

from .helpers import ago, api

SEARCH_2026 = "/orders/2026-01-01/orders"
SEARCH_V0 = "/orders/v0/orders"
US, DE, FR = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"


@pytest.fixture
def client(sandbox):
    sandbox.configure(rate_limits=False)  # these tests make many searches in a row
    return api(sandbox)


def error_message(response) -> str:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "InvalidInput"
    return error["message"]


@pytest.fixture
def first_2026(sandbox, client):
    """Five orders in two marketplaces; the first page (2 orders) of a search for them and its parameters."""
    sandbox.create_orders(count=3, seed=3, marketplace="US", status="Unshipped", created_at=ago(hours=1))
    sandbox.create_orders(count=2, seed=4, marketplace="DE", status="Unshipped", created_at=ago(hours=1))
    params = {"createdAfter": ago(hours=2), "createdBefore": ago(minutes=30), "marketplaceIds": f"{US},{DE}",
              "fulfillmentStatuses": "UNSHIPPED", "maxResultsPerPage": 2}
    body = client.get(SEARCH_2026, params=params).json()
    assert len(body["orders"]) == 2
    return params, body["pagination"]["nextToken"]


def test_a_token_alone_is_refused(client, first_2026):
    _params, token = first_2026
    message = error_message(client.get(SEARCH_2026, params={"paginationToken": token}))
    assert "same values" in message


@pytest.mark.parametrize("change", [
    {"marketplaceIds": US},  # a marketplace left out
    {"marketplaceIds": f"{DE},{US}"},  # the same marketplaces in another order: not the same values
    {"createdBefore": None},  # a parameter left out
    {"fulfillmentStatuses": "UNSHIPPED,SHIPPED"},
    {"fulfilledBy": "MERCHANT"},  # a parameter added
    {"createdAfter": ago(hours=3)},
])
def test_a_token_with_other_values_is_refused(client, first_2026, change):
    params, token = first_2026
    changed = {k: v for k, v in {**params, **change}.items() if v is not None}
    assert "same values" in error_message(client.get(SEARCH_2026, params={**changed, "paginationToken": token}))


def test_the_same_values_plus_the_token_walk_every_page(client, first_2026):
    params, token = first_2026
    seen = 2
    while token:
        body = client.get(SEARCH_2026, params={**params, "paginationToken": token}).json()
        seen += len(body["orders"])
        token = body.get("pagination", {}).get("nextToken")
    assert seen == 5


def test_page_size_and_included_data_may_change_between_pages(client, first_2026):
    params, token = first_2026
    body = client.get(SEARCH_2026, params={**params, "maxResultsPerPage": 3, "includedData": "BUYER",
                                           "paginationToken": token}).json()
    assert len(body["orders"]) == 3 and "pagination" not in body
    assert all("buyer" in order for order in body["orders"])


def test_a_token_expires_after_its_life(sandbox, client, first_2026):
    params, token = first_2026
    # Amazon's tokens live 24 hours; here 6 sandbox seconds (0.1 s at this fixture's time scale of 60).
    sandbox.configure(pagination_token_ttl_seconds=6)
    fresh = client.get(SEARCH_2026, params=params).json()["pagination"]["nextToken"]
    sandbox.advance_clock(12)  # 0.2 real second on the sandbox's clock: past the token's life
    assert "expired" in error_message(client.get(SEARCH_2026, params={**params, "paginationToken": fresh}))
    sandbox.configure(pagination_token_ttl_seconds=86_400)
    assert client.get(SEARCH_2026, params={**params, "paginationToken": token}).status_code == 200


def test_before_bounds_the_result(sandbox, client):
    [old] = sandbox.create_orders(count=1, seed=5, marketplace="US", status="Unshipped", created_at=ago(hours=2))
    [new] = sandbox.create_orders(count=1, seed=6, marketplace="US", status="Unshipped", created_at=ago(minutes=40))
    ids = {o["orderId"] for o in client.get(SEARCH_2026, params={"createdAfter": ago(hours=3),
                                                                 "createdBefore": ago(hours=1)}).json()["orders"]}
    assert ids == {old}
    ids = {o["orderId"] for o in client.get(SEARCH_2026, params={"createdAfter": ago(hours=3)}).json()["orders"]}
    assert ids == {old, new}


@pytest.mark.parametrize(("size", "accepted"), [("0", False), ("1", True), ("100", True), ("101", False),
                                                ("ten", False), ("2.5", False)])
def test_page_size_is_an_integer_from_1_to_100(client, size, accepted):
    response = client.get(SEARCH_2026, params={"createdAfter": ago(hours=2), "maxResultsPerPage": size})
    assert (response.status_code == 200) is accepted
    response = client.get(SEARCH_V0, params={"MarketplaceIds": US, "CreatedAfter": ago(hours=2),
                                             "MaxResultsPerPage": size})
    assert (response.status_code == 200) is accepted


@pytest.mark.parametrize(("count", "accepted"), [(50, True), (51, False)])
def test_at_most_50_marketplaces(client, count, accepted):
    ids = ",".join([US] * count)
    response = client.get(SEARCH_2026, params={"createdAfter": ago(hours=2), "marketplaceIds": ids})
    assert (response.status_code == 200) is accepted
    response = client.get(SEARCH_V0, params={"CreatedAfter": ago(hours=2), "MarketplaceIds": ids})
    assert (response.status_code == 200) is accepted


# --- v0 ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def first_v0(sandbox, client):
    sandbox.create_orders(count=3, seed=7, marketplace="FR", status="Unshipped", created_at=ago(hours=1))
    sandbox.create_orders(count=2, seed=8, marketplace="DE", status="Unshipped", created_at=ago(hours=1))
    params = {"MarketplaceIds": f"{FR},{DE}", "CreatedAfter": ago(hours=2), "OrderStatuses": "Unshipped",
              "MaxResultsPerPage": 2}
    payload = client.get(SEARCH_V0, params=params).json()["payload"]
    assert len(payload["Orders"]) == 2
    return params, payload["NextToken"]


def test_v0_a_token_needs_the_marketplaces(client, first_v0):
    _params, token = first_v0
    assert "MarketplaceIds is required" in error_message(client.get(SEARCH_V0, params={"NextToken": token}))


@pytest.mark.parametrize("change", [{"MarketplaceIds": FR}, {"OrderStatuses": None}, {"CreatedAfter": ago(hours=5)},
                                    {"FulfillmentChannels": "MFN"}])
def test_v0_a_token_with_other_values_is_refused(client, first_v0, change):
    params, token = first_v0
    changed = {k: v for k, v in {**params, **change}.items() if v is not None}
    assert "same values" in error_message(client.get(SEARCH_V0, params={**changed, "NextToken": token}))


def test_v0_the_same_values_plus_the_token_walk_every_page(client, first_v0):
    params, token = first_v0
    seen = 2
    while token:
        payload = client.get(SEARCH_V0, params={**params, "MaxResultsPerPage": 1, "NextToken": token}).json()["payload"]
        seen += len(payload["Orders"])
        token = payload.get("NextToken")
    assert seen == 5
