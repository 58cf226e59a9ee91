"""Ship-by deadlines (issue 15): the four dates kept at import, the one deadline rule, the grids' "Ship by" column
and filter, the order view badge, the dashboard counts, the alerts (once, at the right time, under a controlled
clock) and the daily digest, the outbox's order, the cancel dialog's suggestion and the shipment warnings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from saleschannel.amazon import carriers, deadlines, metrics
from saleschannel.amazon.channel import cancel_dialog_context
from saleschannel.amazon.deadline_alerts import (
    ship_by_alerts_send,
    ship_by_counts,
    ship_by_digests_send,
    ship_by_notices,
)
from saleschannel.amazon.deadline_models import ShipByAlert, ShipByDigest
from saleschannel.amazon.deadlines import DeadlineState, deadline_state
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    FulfillmentChannel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.spapi.normalise import normalise_order_2026, normalise_order_v0
from saleschannel.core.roles import OPERATOR, VIEWER
from saleschannel.sandbox import generator, render
from tests.amazon.test_views import _restore_language, amazon_store, make_amazon_order  # noqa: F401  (fixtures)
from tests.factories import client_for, make_role_user

S = AmazonOrderStatus
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class FrozenClock:
    """``timezone.now`` under the test's control (the non-sandbox twin of conftest's ``advance``)."""

    def __init__(self, monkeypatch, start: datetime):
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch, settings):
    settings.TIME_ZONE = "UTC"
    timezone.deactivate()
    return FrozenClock(monkeypatch, T0)


@pytest.fixture
def operator_user(db):
    user = make_role_user(OPERATOR, "op")
    user.email = "op@example.com"
    user.save()
    return user


def due(store, hours: float, status=S.UNSHIPPED, **fields) -> AmazonOrder:
    order = make_amazon_order(store, status=status, commerce=False)
    order.latest_ship_date = timezone.now() + timedelta(hours=hours)
    for name, value in fields.items():
        setattr(order, name, value)
    order.save()
    return order


# --- Import keeps the four dates --------------------------------------------------------------------------------


def _doc():
    return generator.new_order(random.Random(7), {"marketplace": "US", "fulfillment": "MFN"}, seller_id="A1SELLER",
                               created_ms=int(T0.timestamp() * 1000))


def _ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@pytest.mark.parametrize("version", ["v0", "2026"])
def test_import_keeps_earliest_and_latest_ship_and_delivery_dates(version):
    doc = _doc()
    doc.setdefault("status", "Unshipped")
    if version == "v0":
        data = normalise_order_v0(render.order_v0(doc), render.order_items_v0(doc))
    else:
        data = normalise_order_2026(render.order_2026(doc, {"FULFILLMENT", "PROCEEDS", "BUYER", "RECIPIENT"}))
    assert data.earliest_ship_date == _ms(doc["earliestShipMs"]).replace(microsecond=0)
    assert data.latest_ship_date == _ms(doc["latestShipMs"]).replace(microsecond=0)
    assert data.earliest_delivery_date == _ms(doc["earliestDeliveryMs"]).replace(microsecond=0)
    assert data.latest_delivery_date == _ms(doc["latestDeliveryMs"]).replace(microsecond=0)


def test_mirror_copies_the_four_dates(amazon_store):  # noqa: F811
    from saleschannel.amazon.mirror import copy_order_fields

    doc = _doc()
    doc.setdefault("status", "Unshipped")
    data = normalise_order_v0(render.order_v0(doc), render.order_items_v0(doc))
    order = AmazonOrder(store=amazon_store)
    copy_order_fields(order, data)
    assert (order.earliest_ship_date, order.latest_ship_date, order.earliest_delivery_date,
            order.latest_delivery_date) == (data.earliest_ship_date, data.latest_ship_date,
                                            data.earliest_delivery_date, data.latest_delivery_date)


# --- The rule ---------------------------------------------------------------------------------------------------


def test_deadline_state_overdue_today_soon_later(clock):
    now = clock.now  # 09:00 UTC
    assert deadline_state(None, now) is None
    assert deadline_state(now - timedelta(minutes=1), now) == DeadlineState.OVERDUE
    assert deadline_state(now + timedelta(hours=14), now) == DeadlineState.TODAY  # 23:00 the same day
    assert deadline_state(now + timedelta(hours=15, minutes=30), now, soon_hours=18) == DeadlineState.SOON
    assert deadline_state(now + timedelta(hours=15, minutes=30), now, soon_hours=6) == DeadlineState.LATER


# --- Grids, badge, dashboard ----------------------------------------------------------------------------------


def test_amazon_grid_ship_by_filter_column_and_chip(clock, amazon_store):  # noqa: F811
    late = due(amazon_store, -2)
    today = due(amazon_store, 3)
    tomorrow = due(amazon_store, 30)
    shipped = due(amazon_store, -5, status=S.SHIPPED)
    queued = due(amazon_store, 1)
    OutboxMessage.objects.create(amazon_order=queued, kind=OutboxKind.SHIPMENT, idempotency_key="s:q",
                                 payload={}, state=OutboxState.QUEUED)
    client = client_for(make_role_user(VIEWER, "viewer"))

    def numbers(query):
        response = client.get(f"/amazon/orders/?{query}")
        assert response.status_code == 200
        return {row["order"].amazon_order_id for row in response.context["rows"]}

    assert numbers("ship_by=overdue") == {late.amazon_order_id}
    assert numbers("ship_by=today") == {today.amazon_order_id}
    assert numbers("ship_by=48h") == {today.amazon_order_id, tomorrow.amazon_order_id}
    assert shipped.amazon_order_id not in numbers("ship_by=overdue")
    page = client.get("/amazon/orders/?ship_by=overdue").content.decode()
    assert 'data-state="overdue"' in page and "Overdue" in page and 'data-column="ship_by"' in page
    assert [c.value for c in client.get("/amazon/orders/?ship_by=today").context["grid"].chips()] == ["Due today"]


def test_commerce_grid_ship_by_column_and_filter(clock, amazon_store):  # noqa: F811
    late = make_amazon_order(amazon_store)
    late.latest_ship_date = clock.now - timedelta(hours=1)
    late.save()
    later = make_amazon_order(amazon_store)
    later.latest_ship_date = clock.now + timedelta(days=3)
    later.save()
    client = client_for(make_role_user(VIEWER, "viewer"))
    response = client.get("/sales/orders/?ship_by=overdue&cols=number,amazon_ship_by")
    assert [order.pk for order, _cells in response.context["rows"]] == [late.commerce_order_id]
    page = response.content.decode()
    assert 'data-testid="ship-by-badge"' in page and "state-error" in page
    exported = b"".join(client.get("/sales/orders/export.csv?ship_by=overdue&cols=number,amazon_ship_by")
                        .streaming_content).decode()
    assert late.commerce_order.number in exported and "2026-03-10" in exported
    assert later.commerce_order.number not in exported


def test_commerce_order_view_badge_coloured_by_deadline(clock, amazon_store):  # noqa: F811
    order = make_amazon_order(amazon_store)
    order.latest_ship_date = clock.now + timedelta(hours=2)
    order.save()
    client = client_for(make_role_user(VIEWER, "viewer"))
    page = client.get(f"/sales/orders/{order.commerce_order_id}/").content.decode()
    assert 'data-testid="channel-badge"' in page and "state-hold" in page and "Ship today" in page


def test_dashboard_counts_link_to_filtered_grid(clock, amazon_store):  # noqa: F811
    due(amazon_store, -1)
    due(amazon_store, -3)
    due(amazon_store, 4)
    due(amazon_store, 40)
    assert ship_by_counts() == {"overdue": 2, "today": 1}
    page = client_for(make_role_user(VIEWER, "viewer")).get("/").content.decode()
    assert "1 order to ship today" in page and "2 overdue" in page
    assert "/amazon/orders/?ship_by=today" in page and "/amazon/orders/?ship_by=overdue" in page


# --- Alerts -----------------------------------------------------------------------------------------------------


def test_alert_fires_once_at_the_threshold_not_before_not_twice(clock, amazon_store, operator_user):  # noqa: F811
    order = due(amazon_store, 10)  # threshold: 6 hours (default)
    assert amazon_store.ship_by_alert_hours == 6
    assert ship_by_alerts_send() == 0 and not mail.outbox  # 10 hours before: too early
    clock.advance(3 * 3600 + 59 * 60)  # 6 h 01 before
    assert ship_by_alerts_send() == 0 and not mail.outbox
    clock.advance(60)  # exactly 6 hours before
    assert ship_by_alerts_send() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["op@example.com"]
    assert order.amazon_order_id in mail.outbox[0].body and "6 hours" in mail.outbox[0].subject
    for _tick in range(5):  # later ticks, even once overdue: never again
        clock.advance(3600 * 2)
        assert ship_by_alerts_send() == 0
    assert len(mail.outbox) == 1
    assert ShipByAlert.objects.filter(amazon_order=order, threshold_hours=6).count() == 1


def test_alert_threshold_is_a_store_setting_and_shipped_orders_are_not_alerted(clock, amazon_store,  # noqa: F811
                                                                                operator_user):
    amazon_store.ship_by_alert_hours = 12
    amazon_store.save()
    alerted = due(amazon_store, 11)
    due(amazon_store, 2, status=S.SHIPPED)
    due(amazon_store, 2, fulfillment_channel="AFN")
    assert ship_by_alerts_send() == 1
    assert list(ShipByAlert.objects.values_list("amazon_order_id", flat=True)) == [alerted.pk]


def test_alert_rolls_back_when_the_mail_fails_and_retries(clock, amazon_store, operator_user, monkeypatch):  # noqa: F811
    due(amazon_store, 1)
    from django.core.mail.backends.locmem import EmailBackend

    def broken(self, messages):
        raise OSError("SMTP down")

    monkeypatch.setattr(EmailBackend, "send_messages", broken)
    assert ship_by_alerts_send() == 0 and not ShipByAlert.objects.exists()
    monkeypatch.undo()
    FrozenClock(monkeypatch, clock.now)  # undo also restored timezone.now
    assert ship_by_alerts_send() == 1 and ShipByAlert.objects.count() == 1


def test_notice_for_overdue_and_soon_orders(clock, amazon_store, rf):  # noqa: F811
    due(amazon_store, -1)
    due(amazon_store, 2)
    due(amazon_store, 30)
    request = rf.get("/")
    request.user = make_role_user(VIEWER, "viewer")
    texts = [(n.level, n.message, n.links[0][1]) for n in ship_by_notices(request)]
    assert texts[0][0] == "error" and texts[0][1].startswith("1 Amazon order is past")
    assert texts[0][2].endswith("?ship_by=overdue")
    assert texts[1][0] == "warning" and texts[1][1].startswith("1 Amazon order must ship soon")


def test_daily_digest_once_per_day(clock, amazon_store, operator_user):  # noqa: F811
    due(amazon_store, -1)
    due(amazon_store, 20)
    due(amazon_store, 50)
    assert ship_by_digests_send() == 1
    assert len(mail.outbox) == 1 and "2 orders" in mail.outbox[0].subject
    assert "1 order is overdue" in mail.outbox[0].body
    clock.advance(3600)
    assert ship_by_digests_send() == 0 and len(mail.outbox) == 1
    clock.advance(24 * 3600)
    assert ship_by_digests_send() == 1 and ShipByDigest.objects.count() == 2


def test_worker_runs_the_alerts_and_digest_idempotently(clock, amazon_store, operator_user):  # noqa: F811
    from huey.api import PeriodicTask

    from saleschannel.amazon import tasks

    due(amazon_store, 3)
    assert isinstance(tasks.amazon_ship_by_alerts.task_class(), PeriodicTask)
    assert isinstance(tasks.amazon_ship_by_digest.task_class(), PeriodicTask)
    assert tasks.amazon_ship_by_alerts.call_local() == 1
    assert tasks.amazon_ship_by_alerts.call_local() == 0
    assert tasks.amazon_ship_by_digest.call_local() == 1
    assert tasks.amazon_ship_by_digest.call_local() == 0
    assert len(mail.outbox) == 2


# --- Prevent ----------------------------------------------------------------------------------------------------


def test_outbox_sends_the_nearest_latest_ship_date_first(clock, amazon_store, monkeypatch):  # noqa: F811
    from saleschannel.amazon import delivery

    far, near = due(amazon_store, 40), due(amazon_store, 2)
    for order in (far, near):
        OutboxMessage.objects.create(amazon_order=order, kind=OutboxKind.SHIPMENT, idempotency_key=f"s:{order.pk}",
                                     payload={}, state=OutboxState.QUEUED)
    sent = []
    monkeypatch.setattr(delivery, "deliver_message", lambda message_id, now=None: sent.append(message_id) or "accepted")
    delivery.deliver_due(now=clock.now)
    assert [OutboxMessage.objects.get(pk=pk).amazon_order_id for pk in sent] == [near.pk, far.pk]


def test_cancel_dialog_suggests_buyer_canceled_when_the_buyer_asked(amazon_store):  # noqa: F811
    asked = make_amazon_order(amazon_store, cancel_requested=True, commerce=False)
    plain = make_amazon_order(amazon_store, commerce=False)
    assert cancel_dialog_context(asked, None)["form"]["reason"].value() == "BuyerCanceled"
    assert cancel_dialog_context(plain, None)["form"]["reason"].value() in (None, "")
    client = client_for(make_role_user(OPERATOR, "op2"))
    page = client.get(f"/amazon/orders/{asked.pk}/").content.decode()
    assert 'value="BuyerCanceled" selected' in page and 'id="buyer-cancel-hint"' in page
    assert 'id="pfcr-projection"' not in page  # it does not count: no projection (and no query for it)
    assert cancel_dialog_context(asked, None)["pfcr"] is None


def _canceled(order: AmazonOrder, reason: str = "NoInventory", hours_ago: float = 1) -> AmazonOrder:
    """``order`` canceled on Amazon (our cancellation accepted ``hours_ago``)."""
    OutboxMessage.objects.create(amazon_order=order, kind=OutboxKind.CANCEL, idempotency_key=f"cancel:{order.pk}",
                                 payload={"reason": reason}, state=OutboxState.ACCEPTED,
                                 completed_at=timezone.now() - timedelta(hours=hours_ago))
    order.amazon_status = S.CANCELED
    order.save()
    return order


def _week_of_orders(store, total: int = 100) -> None:
    """``total`` orders in the PFCR's window of the US marketplace, one of them canceled by us (1.00 %); and what
    must not count: a BuyerCanceled cancel and one asked by the buyer on an item (both in the denominator), a
    Pending order, an order canceled by us but placed 9 days ago, an FBA order and another marketplace's."""
    _canceled(make_amazon_order(store, commerce=False, days_ago=2))
    _canceled(make_amazon_order(store, commerce=False, days_ago=3), reason="BuyerCanceled")
    item_asked = make_amazon_order(store, commerce=False, days_ago=1)
    item_asked.items.update(buyer_requested_cancel=True)
    _canceled(item_asked)
    AmazonOrder.objects.bulk_create([
        AmazonOrder(store=store, amazon_order_id=f"W-{n}", marketplace_id="ATVPDKIKX0DER", status=S.UNSHIPPED,
                    amazon_status=S.UNSHIPPED, purchase_date=timezone.now() - timedelta(days=1 + n % 5))
        for n in range(total - 4)])  # and the order the test cancels
    make_amazon_order(store, commerce=False, status=S.PENDING)
    _canceled(make_amazon_order(store, commerce=False, days_ago=9), hours_ago=8 * 24)
    fba = make_amazon_order(store, commerce=False, days_ago=1)
    fba.fulfillment_channel = FulfillmentChannel.AFN
    _canceled(fba)
    other = make_amazon_order(store, commerce=False, days_ago=1)
    other.marketplace_id = "A1F83G8C2ARO7P"
    _canceled(other)


def test_cancel_projection_of_an_order_in_the_window(clock, amazon_store):  # noqa: F811
    _week_of_orders(amazon_store)
    order = make_amazon_order(amazon_store, commerce=False, days_ago=1)
    projection = metrics.cancel_projection(order)
    assert (projection.now.numerator, projection.now.denominator) == (1, 100)
    assert (projection.after.numerator, projection.after.denominator) == (2, 100)  # in the window already
    assert projection.in_window and projection.counts and not projection.buyer_asked
    assert order.pk in projection.after.numerator_ids and order.pk not in projection.now.numerator_ids
    assert (projection.now.status, projection.after.status) == (metrics.GOOD, metrics.AT_RISK)  # 1 % → 2 %
    assert projection.colour == "var(--warn)" and projection.limit_percent == Decimal("2.5")
    # The dashboard's figure is the projection's "now".
    assert metrics.marketplace_metrics(amazon_store, "ATVPDKIKX0DER", trend_days=1).get("pfcr_7").numerator_ids \
        == projection.now.numerator_ids
    # One more seller cancel in the window: bad.
    _canceled(make_amazon_order(amazon_store, commerce=False, days_ago=1))
    assert metrics.cancel_projection(order).after.status == metrics.BAD  # 3 / 101
    # A Pending order is outside the denominator until canceled: both grow.
    pending = make_amazon_order(amazon_store, commerce=False, status=S.PENDING)
    after = metrics.cancel_projection(pending).after
    assert (after.numerator, after.denominator) == (3, 102)


def test_cancel_projection_of_an_order_out_of_the_window_or_asked_by_the_buyer(clock, amazon_store):  # noqa: F811
    _week_of_orders(amazon_store)
    old = make_amazon_order(amazon_store, commerce=False, days_ago=8)
    projection = metrics.cancel_projection(old)
    # Placed before the window: neither in the denominator nor, canceled now, in the numerator (DESIGN.md §8.4).
    assert (projection.now.numerator, projection.now.denominator) == (1, 99)
    assert (projection.after.numerator, projection.after.denominator) == (1, 99)
    assert not projection.in_window and not projection.counts
    asked = make_amazon_order(amazon_store, commerce=False, days_ago=1)
    asked.items.update(buyer_requested_cancel=True)
    projection = metrics.cancel_projection(asked)
    assert projection.buyer_asked and projection.in_window and not projection.counts
    assert (projection.after.numerator, projection.after.denominator) == (1, 100)
    fba = make_amazon_order(amazon_store, commerce=False)
    fba.fulfillment_channel = FulfillmentChannel.AFN
    assert metrics.cancel_projection(fba) is None


def test_cancel_dialog_shows_the_projected_pfcr(clock, amazon_store, _restore_language):  # noqa: F811
    _week_of_orders(amazon_store)
    order = make_amazon_order(amazon_store, days_ago=1)  # with its Commerce order: the order view's dialog too
    client = client_for(make_role_user(OPERATOR, "op4"))

    def dialog(url: str) -> str:
        page = client.get(url).content.decode()
        return page[page.index('<dialog id="cancel-dialog"'):page.index("</dialog>")]

    for url in (f"/amazon/orders/{order.pk}/", f"/sales/orders/{order.commerce_order_id}/"):
        shown = dialog(url)
        assert ("Pre-fulfillment Cancel Rate (7 days): 1.00 % now, 2.00 % after this cancel — At risk "
                "(limit 2.5 %).") in shown, url
        assert 'data-status="at_risk"' in shown and 'class="warning" style="color:var(--warn)"' in shown
        assert 'id="buyer-cancel-hint"' not in shown and 'value="BuyerCanceled" selected' not in shown
    client.cookies.load({"django_language": "fr"})
    shown = dialog(f"/amazon/orders/{order.pk}/")
    assert ("Taux d’annulation avant expédition (7 jours) : 1,00 % maintenant, 2,00 % après cette annulation — "
            "À risque (limite 2,5 %).") in shown
    old = make_amazon_order(amazon_store, commerce=False, days_ago=8)
    assert ("Cette commande a été passée il y a plus de 7 jours : l'annuler ne change pas le Taux "
            "d’annulation avant expédition (7 jours), 1,00 % actuellement.") in dialog(f"/amazon/orders/{old.pk}/")
    client.cookies.load({"django_language": "en"})
    assert ("This order was placed more than 7 days ago: canceling it does not change the Pre-fulfillment Cancel "
            "Rate (7 days), 1.00 % now.") in dialog(f"/amazon/orders/{old.pk}/")
    asked = make_amazon_order(amazon_store, commerce=False, days_ago=1)
    asked.items.update(buyer_requested_cancel=True)
    assert ("The buyer asked Amazon to cancel part of this order: this cancellation does not count against the "
            "Pre-fulfillment Cancel Rate (7 days), 0.99 % now.") in dialog(f"/amazon/orders/{asked.pk}/")


@pytest.mark.parametrize("carrier, number, marketplace, expected", [
    ("ups", "1Z999AA10123456784", "ATVPDKIKX0DER", 0),
    ("ups", "12345", "ATVPDKIKX0DER", 1),  # wrong shape
    ("usps", "9400111899223856931234", "ATVPDKIKX0DER", 0),
    ("royal_mail", "AB123456789GB", "A1F83G8C2ARO7P", 0),
    ("royal_mail", "AB123456789GB", "ATVPDKIKX0DER", 1),  # not for the US marketplace
    ("colissimo", "6A12345678901", "A13V1IB3VIYZZH", 0),
    ("chronopost", "XY123456789FR", "A13V1IB3VIYZZH", 0),
    ("dhl", "JJD000390007830374523", "A1PA6795UKMFR9", 0),
    ("custom", "ABC", "A1PA6795UKMFR9", 1),  # "Other" for Amazon, unknown name
    ("custom", "JJD000390007830374523", "A1PA6795UKMFR9", 1),  # a custom carrier without a name
    ("fedex", "", "ATVPDKIKX0DER", 1),  # no tracking number
])
def test_shipment_warnings(carrier, number, marketplace, expected):
    assert len(carriers.shipment_warnings(carrier_code=carrier, title="", number=number,
                                          marketplace_id=marketplace)) == expected


def test_custom_carriers_on_amazons_list_are_recognised_and_their_numbers_checked():
    def warnings(title, number):
        return carriers.shipment_warnings(carrier_code="custom", title=title, number=number,
                                          marketplace_id="A13V1IB3VIYZZH")

    assert warnings("La Poste", "6A12345678901") == []
    assert warnings("Deutsche Post", "AB123456789DE") == []
    assert len(warnings("La Poste", "123")) == 1 and "La Poste" in warnings("La Poste", "123")[0]
    assert len(warnings("Mon transporteur", "123")) == 1  # not on Amazon's list; no shape known


def test_shipment_form_warns_without_refusing(amazon_store):  # noqa: F811
    order = make_amazon_order(amazon_store)
    commerce = order.commerce_order
    item = commerce.items.first()
    client = client_for(make_role_user(OPERATOR, "op3"))
    response = client.post(f"/sales/orders/{commerce.pk}/shipment/new/", {
        f"qty_{item.pk}": "2", "comment": "", "track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0",
        "track-0-carrier_code": "ups", "track-0-title": "UPS", "track-0-number": "nope"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("created" in m for m in shown)
    assert any("does not look like a UPS tracking number" in m for m in shown)


def test_ship_by_filter_labels_are_translated():
    from django.utils import translation

    with translation.override("fr"):
        labels = dict(deadlines.ship_by_choices())
    assert labels["overdue"] != "Overdue" and labels["today"] != "Due today"
