"""Idempotency-Key: a retried POST replays the first response and never acts twice."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from saleschannel.api import orders as api_orders
from saleschannel.api.idempotency_keys import purge_expired
from saleschannel.api.models import IdempotencyKey
from saleschannel.api.tasks import api_idempotency_purge
from saleschannel.sales.models import Invoice, Shipment
from saleschannel.sales.services import order_cancel
from tests.api.conftest import api_client_for
from tests.factories import requires_postgres


def invoices_url(order) -> str:
    return f"/api/v1/orders/{order.pk}/invoices"


def test_retry_after_a_client_timeout_replays_the_first_invoice(operator_api, order):
    mug = order.items.get(sku="MUG-BLUE")
    body = {"quantities": {str(mug.pk): 2}, "comment": "WMS batch 7"}
    # The client sent the request and gave up waiting (its timeout): the server finished it anyway.
    operator_api.post(invoices_url(order), body, key="wms-7-invoice")
    # It retries with the same key: the answer is the first invoice, not a second one.
    retry = operator_api.post(invoices_url(order), body, key="wms-7-invoice")
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    invoice = Invoice.objects.get()
    assert retry.json()["id"] == invoice.pk and retry.json()["items"][0]["qty"] == 2
    assert order.history.filter(comment="WMS batch 7").count() == 1


def test_same_body_written_differently_is_the_same_request(operator_api, order):
    first = operator_api.post(invoices_url(order), raw='{"comment": "a", "notify_customer": false}', key="k")
    again = operator_api.post(invoices_url(order), raw='{ "notify_customer":false,"comment":"a" }', key="k")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and Invoice.objects.count() == 1


def test_same_key_with_another_body_or_endpoint_is_refused(operator_api, order):
    assert operator_api.post(invoices_url(order), {"comment": "a"}, key="k").status_code == 201
    other = operator_api.post(invoices_url(order), {"comment": "b"}, key="k")
    assert other.status_code == 422
    assert other["Content-Type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused" and other.json()["field"] == "Idempotency-Key"
    elsewhere = operator_api.post(f"/api/v1/orders/{order.pk}/shipments", {"comment": "a"}, key="k")
    assert elsewhere.status_code == 422
    assert Invoice.objects.count() == 1 and not Shipment.objects.exists()


def test_a_failure_midway_rolls_back_the_action_and_the_key(operator_api, order, monkeypatch):
    real = api_orders.invoice_out
    calls = []

    def breaks_once(invoice):
        calls.append(invoice.pk)
        if len(calls) == 1:
            raise RuntimeError("the server died after writing the invoice")
        return real(invoice)

    monkeypatch.setattr(api_orders, "invoice_out", breaks_once)
    failed = operator_api.post(invoices_url(order), {}, key="once")
    assert failed.status_code == 500
    assert not Invoice.objects.exists() and not IdempotencyKey.objects.exists()

    retry = operator_api.post(invoices_url(order), {}, key="once")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert Invoice.objects.count() == 1
    assert operator_api.post(invoices_url(order), {}, key="once").json()["id"] == Invoice.objects.get().pk


def test_without_a_key_a_server_error_leaves_nothing_behind(operator_api, order, monkeypatch):
    def broken(invoice):
        raise RuntimeError("the server died after writing the invoice")

    monkeypatch.setattr(api_orders, "invoice_out", broken)
    assert operator_api.post(invoices_url(order), {}).status_code == 500
    assert not Invoice.objects.exists()


def test_refusals_replay_too_but_auth_refusals_are_not_kept(operator_api, viewer_api, order):
    order_cancel(order=order, actor="tests")
    first = operator_api.post(invoices_url(order), {}, key="late")
    again = operator_api.post(invoices_url(order), {}, key="late")
    assert first.status_code == again.status_code == 409 and again["Idempotent-Replayed"] == "true"

    assert viewer_api.post(invoices_url(order), {}, key="viewer-key").status_code == 403
    assert not IdempotencyKey.objects.filter(key="viewer-key").exists()


def test_keys_are_per_user(operator_api, order, administrator):
    other = api_client_for(administrator)
    mug = order.items.get(sku="MUG-BLUE")
    assert operator_api.post(invoices_url(order), {"quantities": {str(mug.pk): 1}}, key="same").status_code == 201
    assert other.post(invoices_url(order), {"quantities": {str(mug.pk): 1}}, key="same").status_code == 201
    assert Invoice.objects.count() == 2


def test_keys_live_24_hours(operator_api, order):
    mug = order.items.get(sku="MUG-BLUE")
    body = {"quantities": {str(mug.pk): 1}}
    assert operator_api.post(invoices_url(order), body, key="day").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23))
    assert operator_api.post(invoices_url(order), body, key="day")["Idempotent-Replayed"] == "true"
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    fresh = operator_api.post(invoices_url(order), body, key="day")
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert Invoice.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert purge_expired() == 1 and not IdempotencyKey.objects.exists()
    # The worker's hourly task does the same.
    assert operator_api.post(invoices_url(order), body, key="day2").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert api_idempotency_purge.call_local() == 1 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "two words"])
def test_bad_keys_are_400(operator_api, order, key):
    response = operator_api.post(invoices_url(order), {}, headers={"Idempotency-Key": key})
    assert response.status_code == 400 and response.json()["field"] == "Idempotency-Key"
    assert not Invoice.objects.exists()


def test_stored_response_is_the_first_one_verbatim(operator_api, order):
    first = operator_api.post(invoices_url(order), {}, key="verbatim")
    record = IdempotencyKey.objects.get(key="verbatim")
    assert record.response_status == 201 and json.loads(record.response_body) == first.json()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_once_act_once():
    from django.db import connection

    from saleschannel.core.roles import OPERATOR
    from tests import factories

    user = factories.make_role_user(OPERATOR)
    order = factories.make_order()
    client_secret = api_client_for(user).secret
    barrier = threading.Barrier(4)
    answers = []

    def post():
        from tests.api.conftest import ApiClient

        try:
            barrier.wait()
            answers.append(ApiClient(client_secret).post(invoices_url(order), {"comment": "once"}, key="race"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # PostgreSQL makes the others wait on the key's unique index until the first commits: they replay it.
    assert [response.status_code for response in answers] == [201] * 4
    assert sorted(response.get("Idempotent-Replayed", "") for response in answers) == ["", "true", "true", "true"]
    assert Invoice.objects.filter(order=order).count() == 1
    ids = {response.json()["id"] for response in answers if response.status_code == 201}
    assert ids == {Invoice.objects.get(order=order).pk}
