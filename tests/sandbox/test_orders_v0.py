"""Orders API v0 (getOrders, getOrder, items, address, buyer info, confirmShipment) and restricted data tokens."""

from __future__ import annotations

import pytest

from .helpers import ago, api

US = "ATVPDKIKX0DER"


@pytest.fixture
def client(sandbox):
    return api(sandbox)


def rdt(client, path: str, elements=None) -> str:
    resource = {"method": "GET", "path": path}
    if elements:
        resource["dataElements"] = elements
    response = client.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [resource]})
    assert response.status_code == 200, response.text
    assert response.json()["expiresIn"] == 60
    return response.json()["restrictedDataToken"]


def package(items, reference="1", **overrides):
    detail = {"packageReferenceId": reference, "carrierCode": "UPS", "carrierName": "UPS", "shippingMethod": "Ground",
              "trackingNumber": f"1Z{reference}", "shipDate": ago(minutes=5), "orderItems": items}
    detail.update(overrides)
    return {"marketplaceId": US, "packageDetail": detail}


def error_message(response) -> str:
    [error] = response.json()["errors"]
    assert error["code"]
    return error["message"]


def test_get_orders_pages_and_filters(sandbox, client):
    unshipped = sandbox.create_orders(count=5, marketplace="US", status="Unshipped", created_at=ago(hours=1))
    pending = sandbox.create_orders(count=2, marketplace="US", status="Pending", created_at=ago(hours=1))
    params = {"MarketplaceIds": US, "CreatedAfter": ago(hours=2), "MaxResultsPerPage": 3}
    first = client.get("/orders/v0/orders", params=params).json()["payload"]
    assert len(first["Orders"]) == 3 and first["NextToken"] and "CreatedBefore" in first
    second = client.get("/orders/v0/orders", params={"MarketplaceIds": US, "NextToken": first["NextToken"]})
    rest = second.json()["payload"]
    assert "NextToken" in rest
    ids = [o["AmazonOrderId"] for o in first["Orders"] + rest["Orders"]]
    third = client.get("/orders/v0/orders", params={"MarketplaceIds": US, "NextToken": rest["NextToken"]})
    ids += [o["AmazonOrderId"] for o in third.json()["payload"]["Orders"]]
    assert sorted(ids) == sorted(unshipped + pending)
    only_pending = client.get("/orders/v0/orders", params={"MarketplaceIds": US, "CreatedAfter": ago(hours=2),
                                                            "OrderStatuses": "Pending"}).json()["payload"]["Orders"]
    assert sorted(o["AmazonOrderId"] for o in only_pending) == sorted(pending)
    assert all("OrderTotal" not in o for o in only_pending)
    by_id = client.get("/orders/v0/orders", params={"MarketplaceIds": US, "AmazonOrderIds": unshipped[0]})
    assert [o["AmazonOrderId"] for o in by_id.json()["payload"]["Orders"]] == [unshipped[0]]


@pytest.mark.parametrize("params", [
    {"CreatedAfter": "2026-01-01T00:00:00Z"},
    {"MarketplaceIds": US},
    {"MarketplaceIds": US, "CreatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedAfter": "2026-01-01T00:00:00Z"},
    {"MarketplaceIds": US, "LastUpdatedAfter": "2026-01-01T00:00:00Z", "LastUpdatedBefore": "2099-01-01T00:00:00Z"},
    {"MarketplaceIds": US, "CreatedAfter": "2026-01-01T00:00:00Z", "OrderStatuses": "UNSHIPPED"},
    {"MarketplaceIds": US, "CreatedAfter": "2026-01-01T00:00:00Z", "FulfillmentChannels": "FBA"},
])
def test_get_orders_refuses_bad_requests(client, params):
    response = client.get("/orders/v0/orders", params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_personal_data_only_with_a_restricted_data_token(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="FR", fulfillment="MFN", status="Unshipped",
                                       business=True, gift=True)
    plain = client.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert "BuyerInfo" not in plain
    assert set(plain["ShippingAddress"]) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    assert client.get(f"/orders/v0/orders/{order_id}/address").json()["payload"] == {
        "AmazonOrderId": order_id, "ShippingAddress": plain["ShippingAddress"]}
    assert client.get(f"/orders/v0/orders/{order_id}/buyerInfo").json()["payload"] == {"AmazonOrderId": order_id}

    token = rdt(client, f"/orders/v0/orders/{order_id}", ["buyerInfo", "shippingAddress"])
    restricted = api(sandbox, token)
    full = restricted.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert full["ShippingAddress"]["Name"] and full["ShippingAddress"]["AddressLine1"]
    assert full["BuyerInfo"]["BuyerEmail"].endswith("@marketplace.amazon.fr")
    # the token opens only what it names
    denied = restricted.get(f"/orders/v0/orders/{order_id}/address")
    assert denied.status_code == 403
    address_token = rdt(client, "/orders/v0/orders/{orderId}/address")
    address = api(sandbox, address_token).get(f"/orders/v0/orders/{order_id}/address").json()["payload"]
    assert address["ShippingAddress"]["Phone"] and address["BuyerCompanyName"]
    buyer = api(sandbox, rdt(client, f"/orders/v0/orders/{order_id}/buyerInfo")).get(
        f"/orders/v0/orders/{order_id}/buyerInfo").json()["payload"]
    assert buyer["BuyerName"] and buyer["PurchaseOrderNumber"].startswith("PO-")
    items_token = rdt(client, f"/orders/v0/orders/{order_id}/orderItems", ["buyerInfo"])
    items = api(sandbox, items_token).get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"]
    assert any(i.get("BuyerInfo", {}).get("GiftMessageText") for i in items)
    plain_items = client.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"]
    assert all("BuyerInfo" not in i for i in plain_items)
    assert any(i["IsGift"] == "true" for i in plain_items)


@pytest.mark.parametrize("body", [
    {},
    {"restrictedResources": []},
    {"restrictedResources": [{"method": "GET", "path": "/feeds/2021-06-30/feeds"}]},
    {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["everything"]}]},
    {"restrictedResources": [{"method": "PATCH", "path": "/orders/v0/orders/{orderId}/address"}]},
])
def test_restricted_data_token_requests_are_validated(client, body):
    response = client.post("/tokens/2021-03-01/restrictedDataToken", json=body)
    assert response.status_code == 400


def test_confirm_shipment_ships_and_updates_status(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-003", "qty": 3},
                                              {"sku": "SANDBOX-SKU-004", "qty": 1}])
    a, b = (i["OrderItemId"] for i in client.get(f"/orders/v0/orders/{order_id}/orderItems")
            .json()["payload"]["OrderItems"])
    url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    body = package([{"orderItemId": a, "quantity": 2}])
    first = client.post(url, json=body)
    assert first.status_code == 204 and first.content == b""
    order = client.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert (order["OrderStatus"], order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"]) == (
        "PartiallyShipped", 2, 2)
    # the same package again is a harmless retry
    assert client.post(url, json=body).status_code == 204
    assert client.get(f"/orders/v0/orders/{order_id}").json()["payload"]["NumberOfItemsShipped"] == 2
    reused = client.post(url, json=package([{"orderItemId": b, "quantity": 1}]))
    assert reused.status_code == 400 and "already used" in error_message(reused)
    last = client.post(url, json=package([{"orderItemId": a, "quantity": 1}, {"orderItemId": b, "quantity": 1}],
                                         reference="2"))
    assert last.status_code == 204
    order = client.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    assert order["OrderStatus"] == "Shipped" and order["NumberOfItemsUnshipped"] == 0
    shipped = client.get(f"/orders/2026-01-01/orders/{order_id}", params={"includedData": "PACKAGES"}).json()
    assert [p["packageReferenceId"] for p in shipped["order"]["packages"]] == ["1", "2"]
    after = client.post(url, json=package([{"orderItemId": a, "quantity": 1}], reference="3"))
    assert after.status_code == 400


def test_confirm_shipment_refusals(sandbox, client):
    sandbox.configure(rate_limits=False)  # more calls than confirmShipment's burst of 10
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-005", "qty": 2}])
    item = client.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][0]["OrderItemId"]
    url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    ok_items = [{"orderItemId": item, "quantity": 1}]
    cases = {
        "unknown item": package([{"orderItemId": "99999999999999", "quantity": 1}]),
        "too many": package([{"orderItemId": item, "quantity": 3}]),
        "zero": package([{"orderItemId": item, "quantity": 0}]),
        "reference not numeric": package(ok_items, reference="PKG-1"),
        "other without name": package(ok_items, carrierCode="Other", carrierName=""),
        "wrong marketplace": {**package(ok_items), "marketplaceId": "A1PA6795UKMFR9"},
        "no marketplace": {"packageDetail": package(ok_items)["packageDetail"]},
    }
    for field in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"):
        body = package(ok_items)
        del body["packageDetail"][field]
        cases[f"missing {field}"] = body
    for name, body in cases.items():
        response = client.post(url, json=body)
        assert response.status_code == 400, name
        assert response.json()["errors"][0]["code"] == "InvalidInput", name
    assert client.post(url, content=b"{not json").status_code == 400
    assert sandbox.order(order_id)["items"][0]["shipped"] == 0
    missing = client.post("/orders/v0/orders/111-0000000-0000000/shipmentConfirmation", json=package(ok_items))
    assert missing.status_code == 404

    [pending] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Pending")
    [fba] = sandbox.create_orders(count=1, marketplace="US", fulfillment="AFN", status="Unshipped")
    for other in (pending, fba):
        other_item = sandbox.order(other)["items"][0]["orderItemId"]
        response = client.post(f"/orders/v0/orders/{other}/shipmentConfirmation",
                               json=package([{"orderItemId": other_item, "quantity": 1}]))
        assert response.status_code == 400


def test_concurrent_confirmations_never_ship_more_than_ordered(sandbox, client):
    from concurrent.futures import ThreadPoolExecutor

    sandbox.configure(rate_limits=False)
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-006", "qty": 3}])
    item = sandbox.order(order_id)["items"][0]["orderItemId"]
    url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    token = client.headers["x-amz-access-token"]

    def confirm(reference: int) -> int:
        with api(sandbox, token) as own:
            return own.post(url, json=package([{"orderItemId": item, "quantity": 1}], reference=str(reference))
                            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(confirm, range(1, 11)))
    assert statuses.count(204) == 3 and statuses.count(400) == 7
    order = sandbox.order(order_id)
    assert order["items"][0]["shipped"] == 3 and order["status"] == "Shipped" and len(order["packages"]) == 3
