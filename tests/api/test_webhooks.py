"""Webhooks: a real receiver on loopback gets signed POSTs for the order events, written in the transaction of the
change; non-2xx answers are retried then dead; redelivery keeps the event id; the lease; the CLI."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.api.webhook_sending import verify_signature, webhook_delivery_attempt, webhooks_sweep
from saleschannel.api.webhooks import (
    WebhookError,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_disable,
)
from saleschannel.sales.services import (
    invoice_create,
    order_cancel,
    order_comment_add,
    order_hold,
    order_unhold,
    shipment_create,
)
from tests import factories


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class Receiver:
    def __init__(self):
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answered in turn; the last one repeats (200 when empty)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else \
                        (receiver.statuses[0] if receiver.statuses else 200)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.API_WEBHOOK_ALLOW_LOOPBACK = True
    settings.API_WEBHOOK_RETRY_BASE_SECONDS = 0  # retries are due at once: the sweep picks them up
    settings.API_WEBHOOK_MAX_ATTEMPTS = 3
    settings.API_WEBHOOK_DISABLE_AFTER = 2


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _order(store, products):
    return factories.make_order(store=store, items=[factories.line(products[0], 2), factories.line(products[1], 1)])


def _event(received: Received) -> dict:
    return json.loads(received.body)


def test_a_signed_post_reaches_the_receiver_and_its_signature_verifies(store, products, receiver,
                                                                      django_capture_on_commit_callbacks):
    new = webhook_endpoint_create(url=receiver.url, events=[], actor=None)
    assert new.secret.startswith("whsec_")
    assert new.secret not in new.endpoint.secret_encrypted  # stored encrypted

    with django_capture_on_commit_callbacks(execute=True):
        order = _order(store, products)

    assert len(receiver.received) == 1
    sent = receiver.received[0]
    delivery = WebhookDelivery.objects.get()
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-saleschannel-event"] == "order.created"
    assert sent.headers["x-saleschannel-delivery"] == str(delivery.pk)
    assert sent.headers["x-saleschannel-event-id"] == str(delivery.event_id)
    assert sent.headers["x-saleschannel-signature"].startswith("sha256=")
    assert verify_signature(new.secret, timestamp=sent.headers["x-saleschannel-timestamp"], body=sent.body,
                            signature=sent.headers["x-saleschannel-signature"])
    assert not verify_signature("whsec_wrong", timestamp=sent.headers["x-saleschannel-timestamp"], body=sent.body,
                                signature=sent.headers["x-saleschannel-signature"])
    assert not verify_signature(new.secret, timestamp=sent.headers["x-saleschannel-timestamp"],
                                body=sent.body + b" ", signature=sent.headers["x-saleschannel-signature"])
    # An old timestamp is refused even with a good signature (replay window).
    old = int(sent.headers["x-saleschannel-timestamp"])
    assert not verify_signature(new.secret, timestamp=str(old), body=sent.body,
                                signature=sent.headers["x-saleschannel-signature"], now=old + 3600)

    event = _event(sent)
    assert event["id"] == str(delivery.event_id)
    assert event["kind"] == "order.created"
    assert event["data"]["order"]["id"] == order.pk
    assert event["data"]["order"]["number"] == order.number
    assert event["data"]["order"]["store"]["code"] == store.code
    assert "customer_email" not in json.dumps(event)  # no personal data beyond ids and numbers
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.last_status_code == 200
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None


def test_invoice_ship_cancel_publish_their_events_in_order(store, products, receiver,
                                                           django_capture_on_commit_callbacks):
    new = webhook_endpoint_create(url=receiver.url, events="invoice.created,shipment.created,order.updated")
    order = _order(store, products)  # order.created: not subscribed (and not committed here)
    assert not WebhookDelivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create(order=order, actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = shipment_create(order=order, actor="tests",
                                   tracks=[{"carrier_code": "ups", "title": "UPS", "number": "1Z999"}])

    kinds = [received.headers["x-saleschannel-event"] for received in receiver.received]
    assert kinds == ["invoice.created", "order.updated", "shipment.created", "order.updated"]
    invoiced, changed, shipped, completed = (_event(received) for received in receiver.received)
    assert invoiced["data"]["invoice"] == {"id": invoice.pk, "number": invoice.number,
                                           "grand_total": str(invoice.grand_total)}
    assert changed["data"]["previous"]["state"] == "new"
    assert changed["data"]["changes"] == ["state", "status"]
    assert changed["data"]["order"]["state"] == "processing"
    assert shipped["data"]["shipment"]["number"] == shipment.number
    assert shipped["data"]["shipment"]["tracks"] == [{"carrier_code": "ups", "title": "UPS", "number": "1Z999"}]
    assert completed["data"]["order"]["state"] == "complete"
    for received in receiver.received:
        assert verify_signature(new.secret, timestamp=received.headers["x-saleschannel-timestamp"],
                                body=received.body, signature=received.headers["x-saleschannel-signature"])


def test_hold_unhold_cancel_and_comment_publish_order_updated_with_their_changes(
        store, products, receiver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(url=receiver.url, events=["order.updated"])
    held, canceled, commented = _order(store, products), _order(store, products), _order(store, products)
    with django_capture_on_commit_callbacks(execute=True):
        order_hold(order=held, actor="tests")
        order_unhold(order=held, actor="tests")
        order_cancel(order=canceled, reason="customer asked", actor="tests")
        order_comment_add(order=commented, comment="Call Mrs Smith at 555-0100", actor="tests")
    updates = [(r.headers["x-saleschannel-event"], _event(r)["data"]["order"]["id"], _event(r)["data"]["changes"])
               for r in receiver.received]
    assert updates == [("order.updated", held.pk, ["hold", "state", "status"]),
                       ("order.updated", held.pk, ["unhold", "state", "status"]),
                       ("order.updated", canceled.pk, ["cancel", "state", "status"]),
                       ("order.updated", commented.pk, ["comment"])]
    assert _event(receiver.received[2])["data"]["reason"] == "customer asked"
    assert _event(receiver.received[0])["data"]["previous"] == {"state": "new", "status": "pending"}
    assert "555-0100" not in receiver.received[3].body.decode()  # the comment's text is not sent


def test_a_rolled_back_change_writes_and_sends_nothing(store, products, receiver,
                                                       django_capture_on_commit_callbacks):
    webhook_endpoint_create(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _order(store, products)
            assert WebhookDelivery.objects.count() == 1  # written in the transaction of the change
            raise RuntimeError("the change fails after the event")
    assert not WebhookDelivery.objects.exists()
    assert callbacks == []
    assert receiver.received == []


def test_disabled_endpoints_and_unsubscribed_kinds_get_nothing(store, products, receiver,
                                                               django_capture_on_commit_callbacks):
    disabled = webhook_endpoint_create(url=receiver.url).endpoint
    webhook_endpoint_disable(endpoint=disabled)
    webhook_endpoint_create(url=receiver.url, events=["creditmemo.created"])
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_non_2xx_is_retried_with_back_off_then_dead_and_the_endpoint_disabled(store, products, receiver, settings,
                                                                              django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    new = webhook_endpoint_create(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert "500" in delivery.last_error and new.secret not in delivery.last_error

    assert webhooks_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 2)
    assert webhooks_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("dead", 3)
    assert webhooks_sweep() == 0  # dead: never sent again
    assert len(receiver.received) == 3
    assert {r.headers["x-saleschannel-delivery"] for r in receiver.received} == {str(delivery.pk)}
    assert {_event(r)["id"] for r in receiver.received} == {str(delivery.event_id)}

    # The back-off grows: with a real base, the next try is not due at once.
    settings.API_WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.statuses = [503]
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    second = WebhookDelivery.objects.latest("id")
    assert second.state == "failed"
    assert timedelta(seconds=29) < second.next_attempt_at - timezone.now() <= timedelta(seconds=61)
    assert webhooks_sweep() == 0
    assert webhooks_sweep(now=second.next_attempt_at + timedelta(seconds=1)) == 1
    assert webhook_delivery_attempt(delivery_id=second.pk, now=timezone.now() + timedelta(days=1)) == "dead"

    # Two dead deliveries in a row (API_WEBHOOK_DISABLE_AFTER) disable the endpoint.
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.active
    assert endpoint.disabled_reason


def test_a_failure_then_success_is_delivered_on_retry(store, products, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [502, 200]
    webhook_endpoint_create(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    assert webhooks_sweep() == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code, delivery.last_error) == \
        ("delivered", 2, 200, "")


def test_an_unreachable_endpoint_records_the_error_without_secrets(store, products, django_capture_on_commit_callbacks):
    with Receiver() as gone:
        url = gone.url
    webhook_endpoint_create(url=url)
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert delivery.last_status_code is None
    assert delivery.last_error and url not in delivery.last_error


def test_a_leased_delivery_is_not_sent_twice(store, products, receiver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(url=receiver.url)
    _order(store, products)  # not committed: written, not sent
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now() + timedelta(seconds=60))
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None  # another worker holds it
    assert webhooks_sweep() == 0
    assert receiver.received == []
    # The lease of a worker that died runs out: the delivery is sent then, once.
    later = timezone.now() + timedelta(seconds=61)
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=later) == "delivered"
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=later) is None
    assert len(receiver.received) == 1


def test_redeliver_queues_the_same_event_again(store, products, receiver, administrator,
                                               django_capture_on_commit_callbacks):
    webhook_endpoint_create(url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    first = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_delivery_redeliver(delivery=first, actor=administrator)
    again.refresh_from_db()
    assert again.pk != first.pk
    assert again.event_id == first.event_id
    assert again.state == "delivered"
    assert again.requested_by == administrator.get_username()
    assert [_event(r)["id"] for r in receiver.received] == [str(first.event_id)] * 2
    assert receiver.received[0].body == receiver.received[1].body  # the same event, byte for byte
    assert [r.headers["x-saleschannel-delivery"] for r in receiver.received] == [str(first.pk), str(again.pk)]

    webhook_endpoint_disable(endpoint=first.endpoint)
    with pytest.raises(WebhookError):
        webhook_delivery_redeliver(delivery=first, actor=administrator)


@pytest.mark.parametrize("url", [
    "http://example.com/hooks", "ftp://example.com/x", "https://user:pw@example.com/x", "not a url", "https://",
    "https://example.com:99999/x", "https://example.com/" + "x" * 600,
])
def test_targets_must_be_https(db, url):
    with pytest.raises(WebhookError) as refused:
        webhook_endpoint_create(url=url)
    assert refused.value.field == "url"


def test_loopback_only_when_allowed_and_events_checked(db, settings):
    settings.API_WEBHOOK_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:8000/x", "https://localhost/x", "http://[::1]/x"):
        with pytest.raises(WebhookError):
            webhook_endpoint_create(url=url)
    assert webhook_endpoint_create(url="https://wms.example.com/hooks", events=["shipment.created"]).endpoint.pk
    with pytest.raises(WebhookError) as refused:
        webhook_endpoint_create(url="https://wms.example.com/hooks", events=["order.exploded"])
    assert refused.value.field == "events"


def test_cli_add_list_disable_deliveries_redeliver(store, products, receiver, capsys,
                                                   django_capture_on_commit_callbacks):
    call_command("api", "webhooks", "add", receiver.url, "--events", "order.created,shipment.created")
    out = capsys.readouterr().out
    endpoint = WebhookEndpoint.objects.get()
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    assert endpoint.events == ["order.created", "shipment.created"]

    call_command("api", "webhooks", "list")
    out = capsys.readouterr().out
    assert receiver.url in out and "order.created,shipment.created" in out and secret not in out

    with django_capture_on_commit_callbacks(execute=True):
        _order(store, products)
    delivery = WebhookDelivery.objects.get()
    call_command("api", "webhooks", "deliveries", "--endpoint", str(endpoint.pk), "--state", "delivered")
    out = capsys.readouterr().out
    assert str(delivery.event_id) in out and "delivered" in out
    call_command("api", "webhooks", "deliveries", "--state", "dead")
    assert "No webhook deliveries." in capsys.readouterr().out

    with django_capture_on_commit_callbacks(execute=True):
        call_command("api", "webhooks", "redeliver", str(delivery.pk))
    assert str(delivery.event_id) in capsys.readouterr().out
    assert WebhookDelivery.objects.filter(event_id=delivery.event_id).count() == 2
    assert len(receiver.received) == 2

    call_command("api", "webhooks", "disable", str(endpoint.pk))
    endpoint.refresh_from_db()
    assert not endpoint.active
    with pytest.raises(CommandError):
        call_command("api", "webhooks", "disable", "999999")
    with pytest.raises(CommandError):
        call_command("api", "webhooks", "redeliver", str(uuid.uuid4()))
    with pytest.raises(CommandError):
        call_command("api", "webhooks", "add", "http://example.com/x")


def test_an_order_invoiced_on_creation_announces_both(store, products, receiver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(url=receiver.url, events=["order.created", "invoice.created"])
    with django_capture_on_commit_callbacks(execute=True):
        order = factories.make_order(store=store, items=[factories.line(products[0], 1)], invoice=True)
    assert [r.headers["x-saleschannel-event"] for r in receiver.received] == ["order.created", "invoice.created"]
    invoiced = _event(receiver.received[1])["data"]
    assert invoiced["order"]["id"] == order.pk
    assert invoiced["invoice"]["number"] == order.invoices.get().number
