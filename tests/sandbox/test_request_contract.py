"""The request-contract validator (saleschannel/sandbox/contract.py) and the sandbox's contract mode: every rule
refuses what breaks Amazon's models and accepts what follows them; only the gateway's requests are counted."""

from __future__ import annotations

import json

import httpx
import pytest

from saleschannel.sandbox.testing import format_contract_violations, run_sandbox

from .fixtures import contract_models, spapi_models_dir
from .helpers import ago, api

pytestmark = pytest.mark.skipif(contract_models() is None,
                                reason=f"Amazon's SP-API models are not at {spapi_models_dir()} (set SPAPI_MODELS_DIR "
                                       "to run the contract tests)")

SEARCH = "/orders/2026-01-01/orders"
V0 = "/orders/v0/orders"
ORDER = "111-1234567-1234567"
JSON = {"Content-Type": "application/json"}
GATEWAY_AGENT = {"User-Agent": "python-sp-api-2.1.35"}


@pytest.fixture(scope="module")
def contract():
    from saleschannel.sandbox.contract import Contract

    return Contract(contract_models())


def rules(violations) -> set[tuple[str, str]]:
    return {(v.parameter, v.rule) for v in violations}


def request(contract, method, path, query="", body=None, headers=None):
    raw = json.dumps(body).encode() if body is not None else b""
    operation, violations = contract.check_request(method, path, query, {**JSON, **(headers or {})}, raw)
    return operation, violations


def test_good_requests_of_every_operation_pass(contract):
    good = [
        ("GET", SEARCH, "marketplaceIds=ATVPDKIKX0DER,A1PA6795UKMFR9&lastUpdatedAfter=2025-01-01T00:00:00Z"
                        "&lastUpdatedBefore=2025-01-02T00:00:00%2B01:00&fulfillmentStatuses=PENDING,UNSHIPPED"
                        "&includedData=BUYER,PACKAGES&maxResultsPerPage=100&paginationToken=abc", None),
        ("GET", f"{SEARCH}/{ORDER}", "includedData=BUYER", None),
        ("GET", V0, "MarketplaceIds=ATVPDKIKX0DER&CreatedAfter=2025-01-01T00:00:00Z&MaxResultsPerPage=2"
                    "&OrderStatuses=Unshipped,Shipped&NextToken=x", None),
        ("GET", f"{V0}/{ORDER}", "", None),
        ("GET", f"{V0}/{ORDER}/orderItems", "NextToken=x", None),
        ("POST", f"{V0}/{ORDER}/shipmentConfirmation", "", {
            "marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
                "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z", "shipDate":
                "2025-01-01T00:00:00Z", "orderItems": [{"orderItemId": "1", "quantity": 1}]}}),
        ("POST", "/tokens/2021-03-01/restrictedDataToken", "", {"restrictedResources": [
            {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]}),
        ("POST", "/feeds/2021-06-30/documents", "", {"contentType": "text/xml; charset=UTF-8"}),
        ("POST", "/feeds/2021-06-30/feeds", "", {"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                                 "marketplaceIds": ["ATVPDKIKX0DER"], "inputFeedDocumentId": "d"}),
        ("GET", "/feeds/2021-06-30/feeds", "feedTypes=A,B&pageSize=100&createdSince=2025-01-01T00:00:00Z"
                                           "&processingStatuses=DONE,IN_QUEUE", None),
        ("GET", "/feeds/2021-06-30/feeds/123", "", None),
        ("DELETE", "/feeds/2021-06-30/feeds/123", "", None),
        ("GET", "/feeds/2021-06-30/documents/amzn1.tortuga.4.na.x", "", None),
    ]
    for method, path, query, body in good:
        operation, violations = request(contract, method, path, query, body)
        assert operation is not None and not violations, (method, path, [str(v) for v in violations])


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), [
    # path and method
    ("GET", "/orders/2026-01-01/order", "", None, ("path", "path")),
    ("GET", f"{SEARCH}/", "", None, ("path", "path")),
    ("PUT", f"{V0}/{ORDER}", "", None, ("path", "method")),
    # parameters the model does not define (python-amazon-sp-api's own marketplace defaults)
    ("GET", SEARCH, "createdAfter=2025-01-01T00:00:00Z&MarketplaceId=ATVPDKIKX0DER", None,
     ("MarketplaceId", "unknown")),
    ("GET", f"{V0}/{ORDER}/orderItems", "marketplace_ids=ATVPDKIKX0DER", None, ("marketplace_ids", "unknown")),
    # required
    ("GET", V0, "CreatedAfter=2025-01-01T00:00:00Z", None, ("MarketplaceIds", "required")),
    ("POST", f"{V0}/{ORDER}/shipmentConfirmation", "", None, ("body", "required")),
    # types, formats, enums, bounds
    ("GET", SEARCH, "maxResultsPerPage=ten", None, ("maxResultsPerPage", "type")),
    ("GET", SEARCH, "createdAfter=2025-01-01T00:00:00", None, ("createdAfter", "format")),
    ("GET", SEARCH, "createdAfter=yesterday", None, ("createdAfter", "format")),
    ("GET", SEARCH, "fulfillmentStatuses=UNSHIPPED,Unshipped", None, ("fulfillmentStatuses", "enum")),
    ("GET", SEARCH, "includedData=BUYER,ADDRESS", None, ("includedData", "enum")),
    ("GET", SEARCH, "marketplaceIds=" + ",".join(["ATVPDKIKX0DER"] * 51), None, ("marketplaceIds", "maxItems")),
    ("GET", "/feeds/2021-06-30/feeds", "feedTypes=A&pageSize=0", None, ("pageSize", "minimum")),
    ("GET", "/feeds/2021-06-30/feeds", "feedTypes=A&pageSize=101", None, ("pageSize", "maximum")),
    ("GET", "/feeds/2021-06-30/feeds", "feedTypes=" + ",".join("ABCDEFGHIJK"), None, ("feedTypes", "maxItems")),
    ("GET", "/feeds/2021-06-30/documents/x", "enableContentEncodingUrlHeader=yes", None,
     ("enableContentEncodingUrlHeader", "type")),
    # arrays are csv (the model says nothing, so Swagger 2.0's default): one value, not the key repeated
    ("GET", SEARCH, "marketplaceIds=ATVPDKIKX0DER&marketplaceIds=A1PA6795UKMFR9", None,
     ("marketplaceIds", "collectionFormat")),
    ("GET", SEARCH, "maxResultsPerPage=1&maxResultsPerPage=2", None, ("maxResultsPerPage", "repeated")),
    # bodies: schema, unknown properties, no body where none is taken
    ("POST", "/feeds/2021-06-30/documents", "", {"contentType": "text/xml", "marketplaceIds": ["X"]},
     ("body", "additionalProperties")),
    ("POST", "/feeds/2021-06-30/feeds", "", {"feedType": "X", "marketplaceIds": [], "inputFeedDocumentId": "d"},
     ("body", "minItems")),
    ("POST", "/tokens/2021-03-01/restrictedDataToken", "", {"restrictedResources": [{"method": "FETCH", "path": "/"}]},
     ("body", "enum")),
    ("POST", f"{V0}/{ORDER}/shipmentConfirmation", "", {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
        "packageReferenceId": "1", "carrierCode": "UPS", "trackingNumber": "1Z", "shipDate": "01/02/2025",
        "orderItems": [{"orderItemId": "1", "quantity": 1}]}}, ("body", "format")),
    ("GET", f"{V0}/{ORDER}", "", {"x": 1}, ("body", "unknown")),
])
def test_each_rule_refuses_what_breaks_the_model(contract, method, path, query, body, expected):
    _operation, violations = request(contract, method, path, query, body)
    assert expected in rules(violations), [str(v) for v in violations]
    text = str(next(v for v in violations if (v.parameter, v.rule) == expected))
    assert expected[0] in text and f"[{expected[1]}]" in text and method in text  # readable: operation, param, rule


def test_a_body_must_be_json_and_say_so(contract):
    path = "/feeds/2021-06-30/documents"
    _op, violations = contract.check_request("POST", path, "", {"Content-Type": "text/plain"}, b'{"contentType": "x"}')
    assert rules(violations) == {("body", "content-type")}
    _op, violations = contract.check_request("POST", path, "", JSON, b"{contentType")
    assert rules(violations) == {("body", "json")}


def test_responses_need_a_documented_status_and_a_valid_body(contract):
    search = contract.operations["orders_2026-01-01/searchOrders"]
    confirm = contract.operations["ordersV0/confirmShipment"]
    errors = json.dumps({"errors": [{"code": "InvalidInput", "message": "bad"}]}).encode()
    assert contract.check_response(search, 400, errors, "application/json") == []
    assert contract.check_response(confirm, 204, b"", "") == []
    assert rules(contract.check_response(search, 409, errors, "application/json")) == {("status", "status")}
    assert rules(contract.check_response(confirm, 204, b"{}", "application/json")) == {("body", "empty")}
    assert ("body", "required") in rules(contract.check_response(search, 400, b'{"errors": [{}]}', "application/json"))
    assert rules(contract.check_response(search, 500, b'{"errors": [', "application/json")) == {("body", "json")}
    assert ("body", "content-type") in rules(contract.check_response(search, 400, errors, "text/html"))
    # Amazon adds fields to its answers: an extra response property is no violation (unlike in a request).
    extra = json.dumps({"errors": [{"code": "X", "message": "m", "new": 1}], "more": True}).encode()
    assert contract.check_response(search, 400, extra, "application/json") == []


def gateway_client(sandbox) -> httpx.Client:
    """Raw HTTP that presents itself as the gateway's library (python-amazon-sp-api's User-Agent)."""
    client = api(sandbox)
    client.headers.update(GATEWAY_AGENT)
    return client


def test_the_sandbox_checks_the_gateways_requests_and_reports_them(sandbox):
    report = sandbox.contract()
    assert report["enabled"] and report["violations"] == [] and report["models"] == str(contract_models())
    gateway = gateway_client(sandbox)
    ok = gateway.get(SEARCH, params={"createdAfter": ago(hours=1), "marketplaceIds": "ATVPDKIKX0DER"})
    assert ok.status_code == 200
    bad = gateway.get(SEARCH, params={"createdAfter": ago(hours=1), "MarketplaceId": "ATVPDKIKX0DER",
                                      "maxResultsPerPage": "many"})
    assert bad.status_code == 400  # the sandbox answers as it would have: contract mode only watches
    gateway.get("/orders/2026-01-01/nothing")

    report = sandbox.contract()
    assert report["operations"] == {"orders_2026-01-01/searchOrders": 2}
    found = {(v["operation"], v["parameter"], v["rule"]) for v in report["violations"]}
    assert found == {("orders_2026-01-01/searchOrders", "MarketplaceId", "unknown"),
                     ("orders_2026-01-01/searchOrders", "maxResultsPerPage", "type"),
                     ("?", "path", "path")}
    with pytest.raises(AssertionError) as caught:
        sandbox.assert_contract()
    message = str(caught.value)
    assert message == format_contract_violations(report)
    assert "3 request-contract violation(s)" in message
    assert "orders_2026-01-01/searchOrders (GET /orders/2026-01-01/orders) request MarketplaceId: [unknown]" in message
    assert "query: " in message and "MarketplaceId=ATVPDKIKX0DER" in message

    cleared = sandbox.clear_contract()
    assert cleared["violations"] == [] and cleared["operations"] == {}
    assert cleared["operations_total"]["orders_2026-01-01/searchOrders"] == 2  # kept for the whole run


def test_only_the_gateways_requests_count(sandbox):
    """Tests speak raw HTTP to the sandbox, often wrong on purpose: those requests are not the gateway's."""
    plain = api(sandbox)
    plain.get(SEARCH, params={"MarketplaceId": "ATVPDKIKX0DER", "createdAfter": "yesterday"})
    plain.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml", "extra": 1})
    gateway_client(sandbox).post("/auth/o2/token", data={"grant_type": "refresh_token"})  # LWA: not an SP-API call
    report = sandbox.contract()
    assert report["violations"] == [] and report["operations"] == {} and report["checked"] == 0


def test_answers_broken_on_purpose_are_not_checked_but_real_errors_are(sandbox):
    gateway = gateway_client(sandbox)
    sandbox.set_faults({"getFeed": {"malformed": 1.0}})
    cut = gateway.get("/feeds/2021-06-30/feeds/123")  # a 404 cut in the middle: the test's doing, not Amazon's
    assert cut.status_code == 404
    with pytest.raises(ValueError):
        cut.json()
    sandbox.set_faults({"getFeed": {"503": 1.0}})
    assert gateway.get("/feeds/2021-06-30/feeds/123").status_code == 503
    sandbox.set_faults()
    assert gateway.get("/feeds/2021-06-30/feeds/404").status_code == 404
    report = sandbox.contract()
    assert report["violations"] == [] and report["operations"] == {"feeds_2021-06-30/getFeed": 3}


def test_the_cli_shows_and_clears_the_findings(sandbox, capsys):
    from saleschannel.sandbox.cli import main

    gateway_client(sandbox).get("/feeds/2021-06-30/feeds", params={"feedTypes": "X", "pageSize": 500})
    assert main(["contract", "--url", sandbox.url, "--clear"]) == 0
    out = capsys.readouterr().out
    assert "1  feeds_2021-06-30/getFeeds" in out
    assert "feeds_2021-06-30/getFeeds (GET /feeds/2021-06-30/feeds) request pageSize: [maximum]" in out
    assert main(["contract", "--url", sandbox.url]) == 0
    assert "no violation in 0 request(s) checked" in capsys.readouterr().out


def test_contract_mode_is_off_unless_asked(tmp_path):
    with run_sandbox(tmp_path / "sandbox", time_scale=60) as plain:
        assert plain.contract() == {"enabled": False}
        assert plain.clear_contract() == {"enabled": False}
        assert plain.assert_contract() == {"enabled": False}
