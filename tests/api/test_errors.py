"""Errors are RFC 9457 problems with our code and field; bad input is never a 500."""

from __future__ import annotations

import json

import pytest

from saleschannel.sales.models import Invoice, OrderState
from saleschannel.sales.services import order_cancel

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "field", "instance"}


def assert_problem(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status
    assert body["type"].startswith("urn:saleschannel:problem:")
    if code is not None:
        assert body["code"] == code
    if field is not None:
        assert body["field"] == field
    return body


@pytest.mark.parametrize("raw_id", ["0", "-1", "abc", "9" * 30, str(2**63), "\u0663", "\uff13", "1.5", "%20"])
def test_ids_that_cannot_be_ids_are_404(operator_api, order, raw_id):
    assert_problem(operator_api.get(f"/api/v1/orders/{raw_id}"), 404, "not_found")
    assert_problem(operator_api.post(f"/api/v1/orders/{raw_id}/hold"), 404, "not_found")


def test_unknown_order_and_unknown_path_are_404_problems(operator_api, order):
    assert_problem(operator_api.get(f"/api/v1/orders/{order.pk + 1000}"), 404)
    assert_problem(operator_api.get("/api/v1/nothing/here"), 404)


@pytest.mark.parametrize("raw", ["{", "not json", "[1, 2", b'{"comment": "\xff\xfe"}', "\x00", "[]", "5", '"x"',
                                 "null", "[" * 100000])
def test_malformed_json_is_400(operator_api, order, raw):
    body = assert_problem(operator_api.post(f"/api/v1/orders/{order.pk}/comments", raw=raw), 400, "bad_request")
    assert body["detail"] == "The request body must be a JSON object."
    assert not order.history.filter(kind="comment").exists()


@pytest.mark.parametrize("comment", ["\\ud800 lone surrogate", "nul \\u0000 byte"])
def test_text_no_database_can_store_is_refused_not_500(operator_api, order, comment):
    raw = '{"comment": "' + comment + '"}'
    response = operator_api.post(f"/api/v1/orders/{order.pk}/comments", raw=raw)
    problem = assert_problem(response, 422, "invalid", "comment")
    assert not order.history.filter(kind="comment").exists(), problem


@pytest.mark.parametrize("action", ["invoices", "shipments", "cancel"])
def test_an_empty_body_means_every_default(operator_api, order, action):
    response = operator_api.client.post(f"/api/v1/orders/{order.pk}/{action}", b"", content_type="application/json",
                                        headers={"Authorization": f"Bearer {operator_api.secret}"})
    assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize(("body", "field"), [
    ({"quantities": {"1": "two"}}, "quantities.1"),
    ({"quantities": {"1": 1.5}}, "quantities.1"),
    ({"quantities": [1, 2]}, "quantities"),
    ({"notify_customer": "yes"}, "notify_customer"),
    ({"comment": 5}, "comment"),
])
def test_body_that_does_not_match_the_schema_is_422(operator_api, order, body, field):
    problem = assert_problem(operator_api.post(f"/api/v1/orders/{order.pk}/invoices", body), 422, "invalid")
    assert problem["field"] == field
    assert problem["errors"] and problem["errors"][0]["field"] == field
    assert not Invoice.objects.exists()


def test_service_refusal_of_input_is_422_with_the_service_field(operator_api, order):
    item = order.items.get(sku="MUG-BLUE")
    url = f"/api/v1/orders/{order.pk}/invoices"
    problem = assert_problem(operator_api.post(url, {"quantities": {str(item.pk): 99}}), 422, "invalid",
                             f"quantities.{item.pk}")
    assert "MUG-BLUE" in problem["detail"]
    assert_problem(operator_api.post(url, {"quantities": {str(item.pk): 10**40}}), 422, "invalid")
    assert_problem(operator_api.post(url, {"quantities": {"\u0663": 1}}), 422, "invalid", "quantities")
    assert_problem(operator_api.post(url, {"quantities": {"9" * 40: 1}}), 422, "invalid", "quantities")
    ship = f"/api/v1/orders/{order.pk}/shipments"
    assert_problem(operator_api.post(ship, {"tracks": [{"carrier_code": "pigeon", "number": "1"}]}), 422,
                   "invalid", "tracks.0.carrier_code")
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("amount", ["1e400", "NaN", "-Infinity", 1e308, "12345678901234567890", "abc", "0.001"])
def test_huge_or_odd_amounts_are_422(operator_api, order, amount):
    from saleschannel.sales.services import invoice_create

    invoice_create(order=order, actor="tests")
    response = operator_api.post(f"/api/v1/orders/{order.pk}/creditmemos",
                                 raw=json.dumps({"adjustment_refund": amount}).replace('"1e400"', "1e400"))
    assert_problem(response, 422, "invalid")


def test_rule_refusal_is_409_with_the_rule_reason(operator_api, order):
    order_cancel(order=order, actor="tests")
    problem = assert_problem(operator_api.post(f"/api/v1/orders/{order.pk}/invoices", {}), 409, "not_allowed")
    assert problem["detail"] == "The order is canceled."
    order.refresh_from_db()
    assert order.state == OrderState.CANCELED and not Invoice.objects.exists()


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "201"}, {"limit": "9" * 40}, {"limit": "\u0663"}, {"cursor": "garbage"},
    {"cursor": "W10"}, {"updated_since": "yesterday"}, {"updated_since": "2026-13-45T00:00:00"},
    {"created_from": "31/12/2026"}, {"created_from": "0001-01-01"}, {"total_min": "1e30"}, {"state": "flying"},
    {"status": "nope"}, {"store": "\u0663"}, {"store": "9" * 40},
    {"amazon_order_number": "\x00"}, {"q": "\x00"}, {"bill_to": "a\x00"},
])
def test_bad_list_parameters_are_400(operator_api, order, params):
    assert_problem(operator_api.get("/api/v1/orders", params), 400, "bad_request")


def test_server_errors_are_problems_without_details(operator_api, order, monkeypatch):
    from saleschannel.sales import services

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "order_hold", broken)
    problem = assert_problem(operator_api.post(f"/api/v1/orders/{order.pk}/hold"), 500, "server_error")
    assert "secret" not in json.dumps(problem)
