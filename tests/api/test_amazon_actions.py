"""POST /api/v1/amazon/orders/{number}/cancel (Amazon's reasons, ``rules.can_cancel_on_amazon``), .../address
(``rules.can_edit_address``) and /api/v1/amazon/outbox/{id}/retry (``rules.outbox_retry_verdict``, the risk confirmed
by ``confirm_may_duplicate``): through ``amazon.services``, idempotent, refusals as problems."""

from __future__ import annotations

import itertools

import pytest

from saleschannel.amazon.models import AmazonOrder, AmazonOrderEvent, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.privacy import redact_order
from saleschannel.sales.models import AddressType, OrderState
from tests.api.conftest import make_amazon_order

ORDERS = "/api/v1/amazon/orders"
OUTBOX = "/api/v1/amazon/outbox"
_keys = itertools.count(1)


def _problem(response, status: int, code: str, field: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["field"] == field, body
    return body


# --- Cancel ------------------------------------------------------------------------------------------------------


def test_cancel_follows_the_amazon_path(operator_api, amazon_store, django_capture_on_commit_callbacks):
    amazon = make_amazon_order(amazon_store)
    with django_capture_on_commit_callbacks():
        response = operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/cancel", {"reason": "NoInventory"},
                                     key="cancel-1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "Canceled"
    assert [(m["kind"], m["state"]) for m in body["outbox"]["messages"]] == [("cancel", "queued")]
    amazon.commerce_order.refresh_from_db()
    assert amazon.commerce_order.state in (OrderState.CANCELED, OrderState.CLOSED)
    # The same key and body replay the answer: nothing is canceled or queued twice.
    again = operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/cancel", {"reason": "NoInventory"}, key="cancel-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert OutboxMessage.objects.filter(amazon_order=amazon, kind=OutboxKind.CANCEL).count() == 1


def test_cancel_refused_by_the_rule_is_409_with_its_reason(operator_api, amazon_store):
    shipped = make_amazon_order(amazon_store, status="Shipped")
    body = _problem(operator_api.post(f"{ORDERS}/{shipped.amazon_order_id}/cancel", {"reason": "NoInventory"}),
                    409, "not_allowed")
    assert "Only an Unshipped Amazon order can be canceled" in body["detail"]
    assert not OutboxMessage.objects.filter(amazon_order=shipped).exists()


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "Because"}, {"reason": 3}, {"reason": None}])
def test_cancel_needs_one_of_amazons_reasons(operator_api, amazon_store, body):
    amazon = make_amazon_order(amazon_store)
    _problem(operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/cancel", body), 422, "invalid", "reason")
    amazon.refresh_from_db()
    assert amazon.status == "Unshipped"


def test_cancel_of_an_unknown_order_is_404(operator_api, amazon_store):
    _problem(operator_api.post(f"{ORDERS}/111-0000000-0000000/cancel", {"reason": "NoInventory"}), 404, "not_found")


# --- Address -----------------------------------------------------------------------------------------------------


def test_address_correction_changes_what_is_given(operator_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    response = operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/address",
                                 {"line1": "1 New Street", "postal_code": "98102", "country_code": "us"},
                                 key="address-1")
    assert response.status_code == 200, response.content
    address = response.json()["shipping_address"]
    assert (address["line1"], address["city"], address["postal_code"], address["country_code"]) == (
        "1 New Street", "Seattle", "98102", "US")
    assert response.json()["address_corrected_at"] is not None
    shipping = amazon.commerce_order.addresses.get(address_type=AddressType.SHIPPING)
    assert (shipping.street1, shipping.postcode) == ("1 New Street", "98102")  # the Commerce order follows
    event = AmazonOrderEvent.objects.filter(order=amazon, kind="address").get()
    assert "1 New Street" not in str(event.__dict__)  # the log names the fields, not the values


def test_address_correction_refused_once_redacted(operator_api, amazon_store):
    amazon = make_amazon_order(amazon_store)
    redact_order(amazon)
    body = _problem(operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/address", {"line1": "1 New Street"}),
                    409, "not_allowed")
    assert "redacted" in body["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"line1": ""}, "line1"), ({"line1": "   "}, "line1"), ({"country_code": "U1"}, "country_code"),
    ({"country_code": "USA"}, "country_code"), ({"city": "x" * 129}, "city"), ({"city": 5}, "city"),
    ({"line2": "a\u0000b"}, "line2"),
])
def test_address_correction_bad_values_are_422(operator_api, amazon_store, body, field):
    amazon = make_amazon_order(amazon_store)
    _problem(operator_api.post(f"{ORDERS}/{amazon.amazon_order_id}/address", body), 422, "invalid", field)
    amazon.refresh_from_db()
    assert amazon.ship_address_line1 == "123 Main Street" and amazon.address_edited_at is None


# --- Outbox retry -------------------------------------------------------------------------------------------------


def _message(amazon: AmazonOrder, **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(amazon_order=amazon, idempotency_key=f"api-retry-{next(_keys)}",
                                        **{"kind": OutboxKind.SHIPMENT, "state": OutboxState.DEAD, "attempts": 5,
                                           **fields})


def test_retry_queues_a_dead_message_again(operator_api, amazon_store, django_capture_on_commit_callbacks):
    message = _message(make_amazon_order(amazon_store), last_error="Amazon refused it.")
    with django_capture_on_commit_callbacks():  # the worker is not asked here
        response = operator_api.post(f"{OUTBOX}/{message.pk}/retry", key="retry-1")
    assert response.status_code == 200, response.content
    assert (response.json()["id"], response.json()["state"], response.json()["attempts"]) == (message.pk, "queued", 0)


def test_retry_refused_by_the_rule_is_409(operator_api, amazon_store):
    message = _message(make_amazon_order(amazon_store), state=OutboxState.ACCEPTED)
    body = _problem(operator_api.post(f"{OUTBOX}/{message.pk}/retry", {}), 409, "not_allowed")
    assert "Only a failed message can be retried" in body["detail"]


def test_a_refund_amazon_may_have_applied_needs_the_confirmation(operator_api, amazon_store,
                                                                 django_capture_on_commit_callbacks):
    # Its submission's outcome is unknown and it was never submitted as far as we know: nothing to look for on
    # Amazon, so the rule asks a person to confirm.
    message = _message(make_amazon_order(amazon_store), kind=OutboxKind.REFUND, outcome_unknown=True,
                       payload={"creditmemo_number": "R1", "total": "20.00", "currency": "USD"})
    body = _problem(operator_api.post(f"{OUTBOX}/{message.pk}/retry", {}), 409, "confirmation_required",
                    "confirm_may_duplicate")
    assert "refund the buyer twice" in body["detail"]
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DEAD
    with django_capture_on_commit_callbacks():
        response = operator_api.post(f"{OUTBOX}/{message.pk}/retry", {"confirm_may_duplicate": True})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "queued"


@pytest.mark.parametrize("body", [{"confirm_may_duplicate": "yes"}, {"confirm_may_duplicate": 1}])
def test_retry_bad_input_is_422(operator_api, amazon_store, body):
    message = _message(make_amazon_order(amazon_store))
    _problem(operator_api.post(f"{OUTBOX}/{message.pk}/retry", body), 422, "invalid", "confirm_may_duplicate")
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxState.DEAD


@pytest.mark.parametrize("ident", ["0", "abc", "99999999", "1" * 30])
def test_retry_of_an_unknown_message_is_404(operator_api, amazon_store, ident):
    _problem(operator_api.post(f"{OUTBOX}/{ident}/retry", {}), 404, "not_found")
