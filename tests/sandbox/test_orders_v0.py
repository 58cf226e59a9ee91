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
    # Every page repeats the first page's parameters, plus the token.
    second = client.get("/orders/v0/orders", params={**params, "NextToken": first["NextToken"]})
    rest = second.json()["payload"]
    assert "NextToken" in rest
    ids = [o["AmazonOrderId"] for o in first["Orders"] + rest["Orders"]]
    third = client.get("/orders/v0/orders", params={**params, "NextToken": rest["NextToken"]})
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
    # the same package again is a duplicate, refused like Amazon does (not taken as a retry), and changes nothing
    again = client.post(url, json=body)
    assert again.status_code == 400 and "already used" in error_message(again)
    assert again.json()["errors"][0]["code"] == "InvalidInput"
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
        "reference zero": package(ok_items, reference="0"),
        "reference negative": package(ok_items, reference="-1"),
        "reference not a string": package(ok_items, reference=1),
        "other without name": package(ok_items, carrierCode="Other", carrierName=""),
        "other with blank name": package(ok_items, carrierCode="Other", carrierName="  "),
        "carrier code not a string": package(ok_items, carrierCode=5),
        "tracking not a string": package(ok_items, trackingNumber=123456),
        "ship date not ISO": package(ok_items, shipDate="02/21/2022"),
        "ship date without time": package(ok_items, shipDate="2026-11-20"),
        "item id not a string": package([{"orderItemId": int(item), "quantity": 1}]),
        "quantity as text": package([{"orderItemId": item, "quantity": "1"}]),
        "quantity fractional": package([{"orderItemId": item, "quantity": 1.5}]),
        "no quantity": package([{"orderItemId": item}]),
        "transparency codes not strings": package([{"orderItemId": item, "quantity": 1, "transparencyCodes": [1]}]),
        "items not a list": package({"orderItemId": item, "quantity": 1}),
        "package not an object": {"marketplaceId": US, "packageDetail": "1"},
        "cod outside JP": {**package(ok_items), "codCollectionMethod": "DirectPayment"},
        "cod unknown method": {**package(ok_items), "codCollectionMethod": "Cash"},
        "wrong marketplace": {**package(ok_items), "marketplaceId": "A1PA6795UKMFR9"},
        "no marketplace": {"packageDetail": package(ok_items)["packageDetail"]},
        "no package": {"marketplaceId": US},
        "not an object": [package(ok_items)],
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

    # the same request, right this time, is accepted: a refusal changed nothing
    accepted = client.post(url, json=package(ok_items, carrierCode="Other", carrierName="Speedy Couriers",
                                             shipDate="2026-11-20T10:00:00+01:00"))
    assert accepted.status_code == 204, accepted.text
    assert sandbox.order(order_id)["packages"][0]["carrierCode"] == "Other"


@pytest.mark.parametrize("status, fulfillment, why", [
    ("Pending", "MFN", "status Pending"),
    ("Shipped", "MFN", "status Shipped"),
    ("Canceled", "MFN", "status Canceled"),
    ("Unshipped", "AFN", "fulfilled by Amazon"),
    ("Shipped", "AFN", "fulfilled by Amazon"),
])
def test_confirm_shipment_only_for_unshipped_or_partially_shipped_merchant_orders(sandbox, client, status,
                                                                                  fulfillment, why):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment=fulfillment, status=status,
                                       items=[{"sku": "SANDBOX-SKU-005", "qty": 2}])
    before = sandbox.order(order_id)
    item = before["items"][0]["orderItemId"]
    response = client.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation",
                           json=package([{"orderItemId": item, "quantity": 1}], reference="7"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert why in error_message(response)
    after = sandbox.order(order_id)
    assert (after["status"], after["packages"]) == (before["status"], before["packages"])


def test_confirm_shipment_of_a_partially_shipped_order_up_to_what_is_left(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-005", "qty": 3}])
    item = sandbox.order(order_id)["items"][0]["orderItemId"]
    url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    assert client.post(url, json=package([{"orderItemId": item, "quantity": 1}], reference="1")).status_code == 204
    # the same item twice in one package counts twice: 1 + 2 is more than the 2 left
    over = client.post(url, json=package([{"orderItemId": item, "quantity": 1}, {"orderItemId": item, "quantity": 2}],
                                         reference="2"))
    assert over.status_code == 400 and "exceeds the unshipped quantity 2" in error_message(over)
    duplicate = client.post(url, json=package([{"orderItemId": item, "quantity": 2}], reference="1"))
    assert duplicate.status_code == 400 and "already used" in error_message(duplicate)
    rest = client.post(url, json=package([{"orderItemId": item, "quantity": 2}], reference="2"))
    assert rest.status_code == 204
    order = sandbox.order(order_id)
    assert order["status"] == "Shipped" and [p["packageReferenceId"] for p in order["packages"]] == ["1", "2"]
    # a retry of a package Amazon has, once the order is Shipped, is still told apart as a duplicate
    late = client.post(url, json=package([{"orderItemId": item, "quantity": 2}], reference="2"))
    assert late.status_code == 400 and "already used" in error_message(late)


def test_confirm_shipment_with_cash_on_delivery_in_japan(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="JP", fulfillment="MFN", status="Unshipped")
    item = sandbox.order(order_id)["items"][0]
    body = package([{"orderItemId": item["orderItemId"], "quantity": item["qty"],
                     "transparencyCodes": ["09876543211234567890"]}])
    body.update(marketplaceId="A1VC38T7YXB528", codCollectionMethod="DirectPayment")
    response = client.post(f"/orders/v0/orders/{order_id}/shipmentConfirmation", json=body)
    assert response.status_code == 204, response.text


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
