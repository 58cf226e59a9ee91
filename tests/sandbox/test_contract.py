"""Contract tests: every response of every operation, success and error, validates against Amazon's published model
(``../shared/spapi-models``, or ``SPAPI_MODELS_DIR``); the usage plans and routes match the models too."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from saleschannel.sandbox.app import SpApi
from saleschannel.sandbox.contract import MODEL_FILES, Contract
from saleschannel.sandbox.limits import MODEL_OPERATION, USAGE_PLANS

from .fixtures import spapi_models_dir
from .helpers import ago, api, processed, wait_for

MODELS = spapi_models_dir()
FILES = list(MODEL_FILES)

pytestmark = pytest.mark.skipif(
    not all((MODELS / f).exists() for f in FILES),
    reason=f"Amazon's SP-API models are not at {MODELS} (set SPAPI_MODELS_DIR to run the contract tests)",
)


def load_models() -> dict[str, dict]:
    return {name: json.loads((MODELS / name).read_text()) for name in FILES}


def operations(models) -> dict[str, tuple[str, str, str, dict]]:
    """Sandbox operation name → (model file, method, path, operation object)."""
    found = {}
    for name, model in models.items():
        assert model.get("swagger") == "2.0", f"{name} is not Swagger 2.0; the validator below assumes it"
        for path, item in model["paths"].items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    found[(name, operation["operationId"])] = (name, method.upper(), path, operation)
    out = {}
    for sandbox_name in USAGE_PLANS:
        model_file, operation_id = MODEL_OPERATION.get(sandbox_name, (None, sandbox_name))
        matches = [v for (f, op), v in found.items() if op == operation_id and (model_file in (None, f))]
        assert len(matches) == 1, f"{sandbox_name}: {len(matches)} operations in the models"
        out[sandbox_name] = matches[0]
    return out


def test_usage_plans_match_the_models():
    models = load_models()
    for name, (_file, _method, _path, operation) in operations(models).items():
        table = re.search(r"\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|", operation["description"])
        assert table, name
        assert USAGE_PLANS[name] == (float(table.group(1)), int(table.group(2))), name


def test_routes_match_the_models():
    ops = operations(load_models())
    for method, rule, name, _handler in SpApi(None).routes():
        _file, model_method, model_path, _op = ops[name]
        assert method == model_method, name
        assert re.sub(r"<[^>]+>", "{}", rule) == re.sub(r"\{[^}]+\}", "{}", model_path), name


def run_every_operation(sandbox) -> list[httpx.Response]:
    """Call every operation with successes and errors; returns all responses (with their request ids)."""
    sandbox.configure(rate_limits=False, feed_processing_seconds=6, report_processing_seconds=6)
    responses: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        responses.append(response)

    client = api(sandbox)
    client.event_hooks["response"] = [keep]
    unshipped, pending, shipped = sandbox.create_orders(count=3, seed=9, marketplace="US", fulfillment="MFN",
                                                        status="Unshipped", promotion=True, gift=True,
                                                        business=True, created_at=ago(hours=1))
    sandbox.create_orders(count=4, seed=10, created_at=ago(hours=1), status="Unshipped")  # other marketplaces, FBA
    sandbox.set_status(pending, "Pending")
    sandbox.set_status(shipped, "Shipped")
    sandbox.buyer_cancel(unshipped)
    item = sandbox.order(unshipped)["items"][0]["orderItemId"]
    missing = "111-0000000-0000000"

    for included in ("", ",".join(["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
                                   "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"])):
        body = client.get("/orders/2026-01-01/orders", params={"createdAfter": ago(hours=2), "includedData": included,
                                                               "maxResultsPerPage": 3}).json()
        client.get("/orders/2026-01-01/orders", params={"paginationToken": body["pagination"]["nextToken"]})
        for order_id in (unshipped, pending, shipped):
            client.get(f"/orders/2026-01-01/orders/{order_id}", params={"includedData": included})
    client.get("/orders/2026-01-01/orders", params={"lastUpdatedAfter": ago(hours=2)})
    client.get("/orders/2026-01-01/orders")  # 400
    client.get(f"/orders/2026-01-01/orders/{missing}")  # 404
    client.get("/orders/2026-01-01/orders/bad-id")  # 400

    client.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER,A1PA6795UKMFR9,A1VC38T7YXB528",
                                            "CreatedAfter": ago(hours=2), "MaxResultsPerPage": 2})
    client.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER"})  # 400
    rdt = client.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["buyerInfo", "shippingAddress"]},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/orderItems", "dataElements": ["buyerInfo"]},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"},
        {"method": "GET", "path": "/orders/v0/orders/{orderId}/buyerInfo"}]}).json()["restrictedDataToken"]
    client.post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": []})  # 400
    restricted = api(sandbox, rdt)
    restricted.event_hooks["response"] = [keep]
    for c in (client, restricted):
        c.get("/orders/v0/orders", params={"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": ago(hours=2)})
        for order_id in (unshipped, pending, shipped, missing):
            for suffix in ("", "/orderItems", "/address", "/buyerInfo"):
                c.get(f"/orders/v0/orders/{order_id}{suffix}")
    restricted.get("/orders/2026-01-01/orders/" + unshipped)  # 403: the token does not cover it

    ship = {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z1", "shipDate": ago(minutes=1),
        "orderItems": [{"orderItemId": item, "quantity": 1}]}}
    client.post(f"/orders/v0/orders/{unshipped}/shipmentConfirmation", json=ship)  # 204
    client.post(f"/orders/v0/orders/{unshipped}/shipmentConfirmation", json={"marketplaceId": "ATVPDKIKX0DER"})
    client.post(f"/orders/v0/orders/{missing}/shipmentConfirmation", json=ship)  # 404

    document = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()
    client.post("/feeds/2021-06-30/documents", json={})  # 400
    httpx.put(document["url"], content=b"<AmazonEnvelope><MessageType>OrderAcknowledgement</MessageType>"
                                       b"</AmazonEnvelope>")
    spec = {"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": ["ATVPDKIKX0DER"],
            "inputFeedDocumentId": document["feedDocumentId"]}
    feed_id = client.post("/feeds/2021-06-30/feeds", json=spec).json()["feedId"]
    queued = client.post("/feeds/2021-06-30/feeds", json=spec).json()["feedId"]
    client.delete(f"/feeds/2021-06-30/feeds/{queued}")  # 200, no body
    client.post("/feeds/2021-06-30/feeds", json={})  # 400
    processed(client, "feed_processing_seconds")
    feed = wait_for(lambda: (f := client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json())["processingStatus"]
                    == "DONE" and f)
    client.delete(f"/feeds/2021-06-30/feeds/{feed_id}")  # 400: done
    client.get("/feeds/2021-06-30/feeds/404")
    client.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}")
    client.get(f"/feeds/2021-06-30/documents/{document['feedDocumentId']}")
    client.get("/feeds/2021-06-30/documents/amzn1.tortuga.4.na.missing")
    page = client.get("/feeds/2021-06-30/feeds", params={"feedTypes": "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                                         "pageSize": 1}).json()
    client.get("/feeds/2021-06-30/feeds", params={"nextToken": page["nextToken"]})
    client.get("/feeds/2021-06-30/feeds")  # 400

    # Reports (sandbox/reports.py; more in test_reports.py)
    listings = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ["A1PA6795UKMFR9"]}
    report_id = client.post("/reports/2021-06-30/reports", json=listings).json()["reportId"]
    queued_report = client.post("/reports/2021-06-30/reports", json=listings).json()["reportId"]
    client.delete(f"/reports/2021-06-30/reports/{queued_report}")  # 200, no body
    client.post("/reports/2021-06-30/reports", json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA"})  # 400
    processed(client, "report_processing_seconds")
    report = wait_for(lambda: (r := client.get(f"/reports/2021-06-30/reports/{report_id}").json())
                      ["processingStatus"] == "DONE" and r)
    client.delete(f"/reports/2021-06-30/reports/{report_id}")  # 400: done
    client.get("/reports/2021-06-30/reports/404")
    client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    client.get("/reports/2021-06-30/documents/amzn1.tortuga.4.na.missing")
    page = client.get("/reports/2021-06-30/reports", params={"reportTypes": "GET_MERCHANT_LISTINGS_ALL_DATA",
                                                             "pageSize": 1}).json()
    client.get("/reports/2021-06-30/reports", params={"nextToken": page["nextToken"]})
    client.get("/reports/2021-06-30/reports")  # 400

    # 403 on every operation (no token), then 429, 500 and 503 from fault injection
    anonymous = httpx.Client(base_url=sandbox.url, event_hooks={"response": [keep]}, timeout=30)
    calls = [("GET", "/orders/2026-01-01/orders", None), ("GET", f"/orders/2026-01-01/orders/{unshipped}", None),
             ("GET", "/orders/v0/orders", None), ("GET", f"/orders/v0/orders/{unshipped}", None),
             ("GET", f"/orders/v0/orders/{unshipped}/orderItems", None),
             ("GET", f"/orders/v0/orders/{unshipped}/address", None),
             ("GET", f"/orders/v0/orders/{unshipped}/buyerInfo", None),
             ("POST", f"/orders/v0/orders/{unshipped}/shipmentConfirmation", ship),
             ("POST", "/tokens/2021-03-01/restrictedDataToken", {}),
             ("POST", "/feeds/2021-06-30/documents", {}),
             ("GET", f"/feeds/2021-06-30/documents/{document['feedDocumentId']}", None),
             ("POST", "/feeds/2021-06-30/feeds", {}), ("GET", "/feeds/2021-06-30/feeds", None),
             ("GET", f"/feeds/2021-06-30/feeds/{feed_id}", None),
             ("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}", None),
             ("POST", "/reports/2021-06-30/reports", listings), ("GET", "/reports/2021-06-30/reports", None),
             ("GET", f"/reports/2021-06-30/reports/{report_id}", None),
             ("DELETE", f"/reports/2021-06-30/reports/{report_id}", None),
             ("GET", f"/reports/2021-06-30/documents/{report['reportDocumentId']}", None)]
    for method, path, body in calls:
        anonymous.request(method, path, json=body)
    for status in ("429", "500", "503"):
        sandbox.set_faults({"*": {status: 1.0}})
        for method, path, body in calls:
            client.request(method, path, json=body)
    sandbox.set_faults()
    notification_calls(sandbox, keep)
    return responses


def notification_calls(sandbox, keep) -> None:
    """Notifications v1 (sandbox/notifications.py; more in test_notifications.py): destinations take a grantless
    token, subscriptions the seller's (by id: either)."""
    creds = sandbox.credentials
    grantless_token = httpx.post(sandbox.token_url, timeout=30, data={
        "grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications",
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]}).json()["access_token"]
    grantless, seller = api(sandbox, grantless_token), api(sandbox)
    grantless.event_hooks["response"] = seller.event_hooks["response"] = [keep]
    destination = {"name": "orders", "resourceSpecification": {"sqs": {
        "arn": "arn:aws:sqs:us-east-1:123456789012:contract-orders"}}}
    destination_id = grantless.post("/notifications/v1/destinations", json=destination).json()["payload"][
        "destinationId"]
    grantless.post("/notifications/v1/destinations", json=destination)  # 409
    grantless.post("/notifications/v1/destinations", json={"name": "x"})  # 400
    grantless.get("/notifications/v1/destinations")
    grantless.get(f"/notifications/v1/destinations/{destination_id}")
    grantless.get("/notifications/v1/destinations/missing")  # 404
    subscription = {"payloadVersion": "1.0", "destinationId": destination_id, "processingDirective": {"eventFilter": {
        "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
        "marketplaceIds": ["ATVPDKIKX0DER"]}}}
    subscriptions = "/notifications/v1/subscriptions/ORDER_CHANGE"
    subscription_id = seller.post(subscriptions, json=subscription).json()["payload"]["subscriptionId"]
    seller.post(subscriptions, json=subscription)  # 409
    seller.post(subscriptions, json={"destinationId": destination_id})  # 400
    seller.get(subscriptions)
    seller.get("/notifications/v1/subscriptions/NOT_A_TYPE")  # 400
    seller.get(f"{subscriptions}/{subscription_id}")
    grantless.get(f"{subscriptions}/{subscription_id}")
    seller.get(f"{subscriptions}/missing")  # 404
    grantless.delete(f"/notifications/v1/destinations/{destination_id}")  # 409: it has a subscription
    seller.delete(f"{subscriptions}/{subscription_id}")
    grantless.delete(f"{subscriptions}/{subscription_id}")  # 404
    seller.get(subscriptions)  # 404
    grantless.delete(f"/notifications/v1/destinations/{destination_id}")

    grantless_calls = [("POST", "/notifications/v1/destinations", destination),
                       ("GET", "/notifications/v1/destinations", None),
                       ("GET", f"/notifications/v1/destinations/{destination_id}", None),
                       ("DELETE", f"/notifications/v1/destinations/{destination_id}", None),
                       ("GET", f"{subscriptions}/{subscription_id}", None),
                       ("DELETE", f"{subscriptions}/{subscription_id}", None)]
    seller_calls = [("POST", subscriptions, subscription), ("GET", subscriptions, None)]
    anonymous = httpx.Client(base_url=sandbox.url, event_hooks={"response": [keep]}, timeout=30)
    for method, path, body in grantless_calls + seller_calls:
        anonymous.request(method, path, json=body)  # 403
    for status in ("429", "500", "503"):
        sandbox.set_faults({"*": {status: 1.0}})
        for client, calls in ((grantless, grantless_calls), (seller, seller_calls)):
            for method, path, body in calls:
                client.request(method, path, json=body)
    sandbox.set_faults()


def test_every_response_validates_against_its_model(sandbox):
    """The same validator as the contract mode's (saleschannel/sandbox/contract.py), on raw requests."""
    ops = operations(load_models())
    contract = Contract(MODELS)
    responses = run_every_operation(sandbox)
    by_request_id = {r["request_id"]: r for r in sandbox.requests(limit=10_000)}
    checked: dict[str, set[int]] = {}
    for response in responses:
        if "x-amzn-RequestId" not in response.headers:
            continue  # pre-signed document URLs (not SP-API)
        recorded = by_request_id[response.headers["x-amzn-RequestId"]]
        name = recorded["operation"]
        if name in (None, "lwaToken"):
            continue
        model_file, _method, _path, operation = ops[name]
        model_operation = contract.operations[f"{model_file.removesuffix('.json')}/{operation['operationId']}"]
        violations = contract.check_response(model_operation, response.status_code, response.content,
                                             response.headers.get("content-type", ""))
        assert not violations, "\n".join(map(str, violations))
        checked.setdefault(name, set()).add(response.status_code)
    assert set(checked) == set(USAGE_PLANS), set(USAGE_PLANS) - set(checked)
    for name, statuses in checked.items():
        assert any(s < 300 for s in statuses), f"{name}: no success checked"
        assert {403, 429, 500, 503} <= statuses, f"{name}: {statuses}"
    assert 400 in checked["searchOrders"] and 404 in checked["getOrder"] and 400 in checked["confirmShipment"]
