"""The docs/api.md walk-throughs, run as written: a warehouse system (WMS) pulls the orders left to ship and posts
each shipment with its tracking number, with Python httpx (here over WSGI, into the test database); an ERP subscribed
to invoice.created books each invoice once (a real receiver on loopback)."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from saleschannel.amazon.models import OutboxKind, OutboxMessage
from saleschannel.api.models import WebhookDelivery
from saleschannel.api.tokens import token_create
from saleschannel.api.webhooks import webhook_delivery_redeliver, webhook_endpoint_create
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.models import Order, OrderState, Shipment
from saleschannel.sales.services import invoice_create, order_cancel, shipment_create
from tests import factories
from tests.api.conftest import make_amazon_order
from tests.api.test_webhooks import Receiver

# --- What docs/api.md shows (keep the two in step) ------------------------------------------------------------


def orders_to_ship(api, since=None):
    """Every order with something left to ship, following the cursor."""
    params = {"state": ["new", "processing"], "limit": 100}
    if since:
        params["updated_since"] = since
    while True:
        page = api.get("/api/v1/orders", params=params)
        page.raise_for_status()
        body = page.json()
        for order in body["items"]:
            if any(item["qty_to_ship"] > 0 for item in order["items"]):
                yield order
        if body["next_cursor"] is None:
            return
        params["cursor"] = body["next_cursor"]


def ship(api, order, carrier, tracking_number):
    """Ship every unit left, with one tracking number; safe to retry (same Idempotency-Key)."""
    key = f"ship-{order['id']}-{tracking_number}"
    body = {
        "quantities": {str(item["id"]): item["qty_to_ship"] for item in order["items"] if item["qty_to_ship"]},
        "tracks": [{"carrier_code": carrier, "number": tracking_number}],
    }
    for _attempt in range(3):
        try:
            response = api.post(f"/api/v1/orders/{order['id']}/shipments", json=body,
                                headers={"Idempotency-Key": key})
        except httpx.TransportError:
            continue  # timed out or connection lost: retrying with the same key cannot ship twice
        if response.status_code == 429:
            time.sleep(int(response.headers["Retry-After"]))  # the product API's own limit, on real time
            continue
        if response.status_code >= 400:
            problem = response.json()  # application/problem+json
            raise RuntimeError(f"{order['number']}: {problem['detail']} ({problem['code']}, {problem['field']})")
        return response.json()
    raise RuntimeError(f"{order['number']}: gave up")


SECRET = "whsec_..."  # the ERP's endpoint's secret (set by the test below)


def verify(headers, body: bytes, tolerance: int = 300) -> bool:
    timestamp = headers.get("X-SalesChannel-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-SalesChannel-Signature", ""))


def on_webhook(headers, body: bytes, booked: set, book) -> int:
    """The ERP's answer to one POST: 401 for a bad signature, else 204 (booked now, or already)."""
    if not verify(headers, body):
        return 401
    event = json.loads(body)
    if event["kind"] == "invoice.created" and event["id"] not in booked:
        invoice, order = event["data"]["invoice"], event["data"]["order"]
        book(invoice_number=invoice["number"], amount=invoice["grand_total"], currency=order["currency"],
             order_number=order["number"])
        booked.add(event["id"])  # a redelivery (same id) is not booked twice
    return 204


@contextmanager
def _reconnected():
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# --- The test ---------------------------------------------------------------------------------------------------


@pytest.fixture
def api(operator):
    token = token_create(user=operator, name="WMS").secret
    # As Django's test client does: the requests run inside the test's transaction, whose connection must stay open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with _reconnected(), httpx.Client(transport=httpx.WSGITransport(app=WSGIHandler()), base_url="http://testserver",
                      headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture
def operator(db):
    return factories.make_role_user(OPERATOR, username="wms")


def test_wms_pulls_unshipped_orders_and_posts_shipments(api, store, products, amazon_store):
    tshirt, mug, cap = products
    new = factories.make_order(store=store, items=[factories.line(tshirt, 2), factories.line(mug, 1)])
    paid = factories.make_order(store=store, items=[factories.line(cap, 1)])
    invoice_create(order=paid, actor="tests")
    shipped = factories.make_order(store=store, items=[factories.line(mug, 1)])
    shipment_create(order=shipped, actor="tests")
    canceled = factories.make_order(store=store, items=[factories.line(mug, 1)])
    order_cancel(order=canceled, actor="tests")
    amazon = make_amazon_order(amazon_store)

    todo = list(orders_to_ship(api))
    assert {order["number"] for order in todo} == {new.number, paid.number, amazon.commerce_order.number}

    for order in todo:
        shipment = ship(api, order, "ups", f"1Z{uuid.uuid4().hex[:12].upper()}")
        assert shipment["tracks"][0]["carrier_code"] == "ups"
        # A retry (the client lost the answer) gives the same shipment back.
        assert ship(api, order, "ups", shipment["tracks"][0]["number"])["id"] == shipment["id"]

    assert list(orders_to_ship(api)) == []
    assert Shipment.objects.filter(order__in=[new, paid, amazon.commerce_order]).count() == 3
    assert Order.objects.get(pk=paid.pk).state == OrderState.COMPLETE
    # The Amazon order's shipment goes to Amazon through the outbox, as when shipped from the screens.
    assert OutboxMessage.objects.filter(amazon_order=amazon, kind=OutboxKind.SHIPMENT).count() == 1
    # The WMS's user wrote the history.
    assert new.history.filter(author_label="wms", comment__startswith="Shipment #").exists()


def test_wms_sees_refusals_as_problems(api, order):
    order_cancel(order=order, actor="tests")
    detail = api.get(f"/api/v1/orders/{order.pk}").json()
    with pytest.raises(RuntimeError, match=r"The order is canceled\. \(not_allowed"):
        ship(api, {**detail, "items": [{**i, "qty_to_ship": 1} for i in detail["items"]]}, "ups", "1Z1")


def test_erp_books_each_invoice_once(store, products, settings, django_capture_on_commit_callbacks):
    """The ERP walk-through: subscribed to invoice.created, it books each invoice once, redeliveries included."""
    global SECRET
    settings.API_WEBHOOK_ALLOW_LOOPBACK = True
    with Receiver() as receiver:
        new = webhook_endpoint_create(url=receiver.url, events=["invoice.created"])
        SECRET = new.secret
        order = factories.make_order(store=store, items=[factories.line(products[0], 2)])
        with django_capture_on_commit_callbacks(execute=True):
            invoice = invoice_create(order=order, actor="tests")
            shipment_create(order=order, actor="tests")  # not subscribed: not sent
        with django_capture_on_commit_callbacks(execute=True):
            webhook_delivery_redeliver(delivery=WebhookDelivery.objects.get(), actor="admin")
    assert [r.headers["x-saleschannel-event"] for r in receiver.received] == ["invoice.created"] * 2
    ledger, booked = [], set()
    answers = [on_webhook(httpx.Headers(r.headers), r.body, booked, lambda **entry: ledger.append(entry))
               for r in receiver.received]
    assert answers == [204, 204]
    assert ledger == [{"invoice_number": invoice.number, "amount": str(invoice.grand_total), "currency": "USD",
                       "order_number": order.number}]
    assert on_webhook(httpx.Headers(receiver.received[0].headers), receiver.received[0].body + b" ", booked,
                      ledger.append) == 401


def test_the_docs_show_this_code():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    for function in (orders_to_ship, ship, verify, on_webhook):
        assert inspect.getsource(function) in docs, function.__name__
