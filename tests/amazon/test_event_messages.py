"""Amazon events and notes: stored as code + parameters, shown in the reader's language (issue 12)."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from saleschannel.amazon import events
from saleschannel.amazon.choices import CANCEL_REASON_LABELS
from saleschannel.amazon.delivery import _event
from saleschannel.amazon.events import msg
from saleschannel.amazon.mirror import record_event
from saleschannel.amazon.models import AmazonOrder, AmazonOrderEvent, AmazonOrderStatus, EventLevel
from saleschannel.amazon.outbox import outbox_add_cancel
from saleschannel.core.roles import VIEWER
from tests.amazon.test_views import amazon_store, make_amazon_order  # noqa: F401 - the fixture
from tests.factories import client_for, make_role_user

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
SAMPLE = {"status": "Unshipped", "kind": "refund", "reason": "NoInventory", "qty": 2, "fields": ["ship_city"],
          "when": "2026-11-30T10:00:00+00:00"}


@pytest.fixture
def french_reader(db):
    client = client_for(make_role_user(VIEWER))
    client.cookies["django_language"] = "fr"
    yield client
    translation.activate("en")  # the client's requests activated French in this thread


def _sample(code: str) -> dict:
    """Parameters for every placeholder of ``code``'s template (plain words where no sample is given)."""
    template = events.MESSAGES[code].template
    with translation.override("en"):
        text = str(template) or str(template % {"qty": 1})  # a plural reads "" until given its count
    names = set(PLACEHOLDER.findall(text)) | ({"qty"} if "unit" in text else set())
    return {name: SAMPLE.get(name, 7 if name in ("attempt", "max", "qty") else "x") for name in names}


def test_every_code_has_a_french_translation():
    for code in events.MESSAGES:
        params = _sample(code)
        with translation.override("en"):
            english = events.render(code, params)
        with translation.override("fr"):
            french = events.render(code, params)
        assert english and french, code
        assert english != french, f"{code} is not translated: {english!r}"
    for labels in (events.KIND_LABELS, events.STEP_LABELS, events.ACTOR_LABELS, events.CANCEL_REASON_LABELS):
        for key, label in labels.items():
            with translation.override("en"):
                english = str(label)
            with translation.override("fr"):
                assert str(label) != english, key


def test_plural_forms():
    with translation.override("fr"):
        assert events.render("released", {"qty": 1}) == "Stock réservé libéré (1 unité)."
        assert events.render("released", {"qty": 3}) == "Stock réservé libéré (3 unités)."
    with translation.override("en"):
        assert events.render("released", {"qty": 1}) == "Reserved inventory released (1 unit)."


def test_an_event_written_in_english_reads_in_french(amazon_store, french_reader):  # noqa: F811
    order = make_amazon_order(amazon_store)
    with translation.override("en"):
        outbox_add_cancel(amazon_order=order, reason="NoInventory", actor="Amazon sync")
    event = AmazonOrderEvent.objects.get(order=order, kind="outbox_queued")
    assert event.code == "cancel_queued" and event.params == {"reason": "NoInventory"}
    assert event.message == "Cancellation queued for Amazon (reason: No inventory)."  # the writer's language
    with translation.override("en"):
        assert event.text == "Cancellation queued for Amazon (reason: No inventory)."
        assert event.kind_label == "Queued for Amazon" and event.actor_label == "Amazon sync"
    with translation.override("fr"):
        assert event.text == "Annulation en file d'attente pour Amazon (motif : {}).".format(CANCEL_REASON_LABELS[
            "NoInventory"])
        assert event.kind_label == "En file d'attente pour Amazon"
        assert event.actor_label == "Synchronisation Amazon"
        order.refresh_from_db()
        assert order.notes_code == "cancel_queued" and order.notes_text == event.text

    page = french_reader.get(f"/amazon/orders/{order.pk}/?tab=log").content.decode()
    with translation.override("fr"):
        french_text = event.text
    assert french_text.replace("'", "&#x27;") in page
    assert "outbox_queued" not in re.sub(r'data-kind="[^"]*"', "", page)
    assert "En file d&#x27;attente pour Amazon" in page and "Synchronisation Amazon" in page
    grid = french_reader.get("/amazon/orders/").content.decode()
    assert french_text.replace("'", "&#x27;") in grid


def test_an_old_row_without_a_code_shows_its_text(amazon_store, french_reader):  # noqa: F811
    order = make_amazon_order(amazon_store)
    old = AmazonOrderEvent.objects.create(order=order, kind="imported", message="Imported as Commerce order #42.")
    AmazonOrder.objects.filter(pk=order.pk).update(notes="An old English note.")
    order.refresh_from_db()
    with translation.override("fr"):
        assert old.text == "Imported as Commerce order #42."
        assert order.notes_text == "An old English note."
        assert old.kind_label == "Importée"
    page = french_reader.get(f"/amazon/orders/{order.pk}/?tab=log").content.decode()
    assert "Imported as Commerce order #42." in page
    assert "An old English note." in french_reader.get(f"/amazon/orders/{order.pk}/").content.decode()


def test_an_unknown_code_or_wrong_params_fall_back_to_the_text(amazon_store):  # noqa: F811
    order = make_amazon_order(amazon_store)
    event = AmazonOrderEvent(order=order, kind="x", message="stored", code="gone", params={})
    assert event.text == "stored"
    event = AmazonOrderEvent(order=order, kind="x", message="stored", code="status_updated", params={})
    assert event.text == "stored"


def test_the_sync_writes_codes(amazon_store):  # noqa: F811
    order = make_amazon_order(amazon_store)
    events_written: list = []
    record_event(order, events_written, "status", msg("status_updated", status="Shipped"))
    record_event(order, events_written, "buyer_cancel", msg("buyer_cancel", reason=msg("no_reason")),
                 level=EventLevel.WARNING)
    assert [e.code for e in events_written] == ["status_updated", "buyer_cancel"]
    assert events_written[1].params == {"reason": {"code": "no_reason", "params": {}}}
    with translation.override("fr"):
        assert events_written[0].text == f"Statut mis à jour : {AmazonOrderStatus.SHIPPED.label}."
        assert "aucun motif indiqué" in events_written[1].text
        assert "aucun motif indiqué" in order.notes_text


def test_outbound_events_written_by_delivery_are_translated(amazon_store):  # noqa: F811
    order = make_amazon_order(amazon_store)
    with translation.override("en"):
        event = _event(order, "refund_failed", msg("refund_failed", error="Amazon said no."))
    assert event.code == "refund_failed" and event.message == "Refund failed on Amazon. Amazon said no."
    with translation.override("fr"):
        assert event.text != event.message and "Amazon said no." in event.text
        assert event.kind_label == "Remboursement : échec"
