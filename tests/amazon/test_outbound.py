"""Outbound sync over real HTTP against the SP-API sandbox: shipments, cancellations, refunds, retries, read-only."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleschannel.amazon import delivery, services
from saleschannel.amazon import rules as amazon_rules
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    ChannelSettings,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.services import AmazonChannelError, channel_read_only_set
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.models import Product
from saleschannel.core.notices import collect
from saleschannel.sales import rules
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import OrderState
from saleschannel.sales.services import creditmemo_create, order_cancel, shipment_create
from tests.amazon.conftest import advance, settle

S = AmazonOrderStatus
UPS = {"carrier_code": "ups", "title": "UPS", "number": "1Z999AA10123456784"}


def deliver_until_done(message: OutboxMessage, *, timeout: float = 20.0) -> OutboxMessage:
    """Drive one message (sending, then following its feed) until Amazon has answered for good."""
    deadline = time.monotonic() + timeout
    while True:
        delivery.deliver_message(message.pk, force=True)
        message.refresh_from_db()
        if message.state in (OutboxState.ACCEPTED, OutboxState.DEAD) or time.monotonic() > deadline:
            return message
        advance(20)  # the sandbox processes the feed (20 sandbox seconds) before this returns


def import_orders(sandbox, amazon_store, **spec) -> list[AmazonOrder]:
    spec = {"count": 1, "marketplace": "US", "status": "Unshipped", "fulfillment": "MFN", **spec}
    ids = sandbox.create_orders(**spec)
    settle()
    run = sync_store(store=amazon_store)
    assert run.orders_failed == 0, run.error
    orders = list(AmazonOrder.objects.filter(amazon_order_id__in=ids).select_related("commerce_order"))
    assert len(orders) == len(ids) and all(o.commerce_order_id for o in orders)
    return orders


def two_line_order(sandbox, amazon_store, **extra) -> AmazonOrder:
    (order,) = import_orders(sandbox, amazon_store, items=[
        {"sku": "SANDBOX-SKU-001", "qty": 2}, {"sku": "SANDBOX-SKU-002", "qty": 1}], prime=False,
        promotion=False, replacement=False, **extra)
    return order


@pytest.fixture(autouse=True)
def _skus(catalog):
    assert "SANDBOX-SKU-001" in catalog and "SANDBOX-SKU-002" in catalog


def test_partial_then_full_shipment_is_confirmed_per_package(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    commerce = amazon.commerce_order
    shirt, mug = sorted(commerce.items.all(), key=lambda i: i.sku != "SANDBOX-SKU-001")

    shipment_create(order=commerce, quantities={shirt.pk: 1}, tracks=[UPS], actor=staff_user)
    first = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.SHIPMENT)
    assert first.state == OutboxState.QUEUED and first.package_reference_id == 1
    assert delivery.deliver_message(first.pk) == OutboxState.ACCEPTED
    assert sandbox.order(amazon.amazon_order_id)["status"] == "PartiallyShipped"

    shipment_create(order=commerce, quantities={shirt.pk: 1, mug.pk: 1},
                    tracks=[{"carrier_code": "custom", "title": "Speedy Couriers", "number": "SC-42"}],
                    actor=staff_user)
    second = OutboxMessage.objects.filter(amazon_order=amazon).latest("pk")
    assert second.package_reference_id == 2
    assert delivery.deliver_message(second.pk) == OutboxState.ACCEPTED
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Shipped"

    calls = sandbox.requests(operation="confirmShipment")
    assert [c["status"] for c in calls] == [204, 204]
    import json

    bodies = [json.loads(c["body"]) for c in calls]
    assert bodies[0]["packageDetail"]["packageReferenceId"] == "1"
    assert bodies[0]["packageDetail"]["carrierCode"] == "UPS"
    assert bodies[0]["packageDetail"]["orderItems"] == [
        {"orderItemId": shirt.external_item_id, "quantity": 1}]
    assert bodies[1]["packageDetail"]["carrierCode"] == "Other"
    assert bodies[1]["packageDetail"]["carrierName"] == "Speedy Couriers"
    assert bodies[0]["marketplaceId"] == amazon.marketplace_id

    amazon.refresh_from_db()
    assert amazon.notes == "Tracking information has been submitted to Amazon."
    assert commerce.history.filter(comment__contains="Tracking information has been submitted").count() == 2
    # The next sync mirrors Amazon's status and closes the loop without shipping twice.
    settle()
    sync_store(store=amazon_store)
    amazon.refresh_from_db()
    assert amazon.status == S.COMPLETED
    assert commerce.shipments.count() == 2


def test_cancel_unshipped_order_from_amazon_order_details(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    commerce = amazon.commerce_order
    with pytest.raises(OrderActionError, match="cancel it from Amazon Order Details"):
        creditmemo_create(order=commerce, actor=staff_user)

    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    amazon.refresh_from_db()
    commerce.refresh_from_db()
    assert amazon.status == S.CANCELED
    assert commerce.state in (OrderState.CANCELED, OrderState.CLOSED)
    assert all(p.qty_reserved == 0 for p in Product.objects.filter(sku__in=["SANDBOX-SKU-001",
                                                                          "SANDBOX-SKU-002"]))

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert message.feed_status == "DONE"
    (feed,) = sandbox.feeds()
    assert feed["feedType"] == "POST_ORDER_ACKNOWLEDGEMENT_DATA"
    assert "<StatusCode>Failure</StatusCode>" in feed["input"]
    assert feed["input"].count("<CancelReason>NoInventory</CancelReason>") == 2
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Canceled"
    amazon.refresh_from_db()
    assert amazon.notes == "Cancellation accepted by Amazon."
    assert message.processing_report["with_error"] == 0

    # Canceling twice is refused and changes nothing.
    with pytest.raises(AmazonChannelError):
        services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    # The next sync agrees: nothing more happens to the Commerce order.
    settle()
    sync_store(store=amazon_store)
    amazon.refresh_from_db()
    assert amazon.status == S.CANCELED and amazon.amazon_status == S.CANCELED
    assert OutboxMessage.objects.filter(amazon_order=amazon).count() == 1


def test_cancel_refused_once_shipped(sandbox, amazon_store, staff_user):
    amazon_store.invoice_on_import = False  # so that the Commerce rules alone would allow the cancellation
    amazon_store.save()
    amazon = two_line_order(sandbox, amazon_store)
    commerce = amazon.commerce_order
    shirt = commerce.items.get(sku="SANDBOX-SKU-001")
    shipment_create(order=commerce, quantities={shirt.pk: 1}, tracks=[UPS], actor=staff_user)
    delivery.deliver_message(OutboxMessage.objects.get(amazon_order=amazon).pk)
    settle()
    sync_store(store=amazon_store)
    amazon.refresh_from_db()
    assert amazon.amazon_status == S.PARTIALLY_SHIPPED

    with pytest.raises(AmazonChannelError, match="Only an Unshipped Amazon order"):
        services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    verdict = amazon_rules.can_cancel_on_amazon(amazon)
    assert not verdict and "can be canceled" in verdict.reason
    assert "Amazon Order Details" in rules.check(commerce, rules.Action.CANCEL).reason  # never a bare cancel
    assert not OutboxMessage.objects.filter(kind=OutboxKind.CANCEL).exists()


def test_commerce_cancel_of_an_amazon_order_is_refused(sandbox, amazon_store, staff_user):
    """Commerce's own cancel never cancels an Amazon order (it used to, with reason GeneralAdjustment): only the
    Amazon path does, with one of Amazon's reasons (issue 12)."""
    amazon_store.invoice_on_import = False
    amazon_store.save()
    amazon = two_line_order(sandbox, amazon_store)
    with pytest.raises(OrderActionError, match="cancel it from Amazon Order Details with a reason"):
        order_cancel(order=amazon.commerce_order, reason="BuyerCanceled", actor=staff_user)
    assert not OutboxMessage.objects.filter(amazon_order=amazon).exists()
    message = services.amazon_order_cancel(amazon_order=amazon, reason="BuyerCanceled", actor=staff_user)
    assert message.payload["reason"] == "BuyerCanceled"
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Canceled"


def test_refund_of_a_shipped_line_sends_the_right_amounts(sandbox, amazon_store, staff_user):
    (amazon,) = import_orders(sandbox, amazon_store, items=[
        {"sku": "SANDBOX-SKU-001", "qty": 2, "price": "20.00", "tax": "3.30", "shipping": "5.00",
         "shipping_tax": "0.41"},
        {"sku": "SANDBOX-SKU-002", "qty": 1, "price": "8.00", "tax": "0.66", "shipping": "0", "shipping_tax": "0"},
    ], prime=False, promotion=False, replacement=False)
    commerce = amazon.commerce_order
    shirt = commerce.items.get(sku="SANDBOX-SKU-001")
    shipment_create(order=commerce, tracks=[UPS], actor=staff_user)
    ship_message = OutboxMessage.objects.get(amazon_order=amazon)

    # One of the two shirts comes back, with the shipping.
    memo = creditmemo_create(order=commerce, quantities={shirt.pk: 1}, shipping_refund="5.00", actor=staff_user)
    refund = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.REFUND)
    # The refund waits for the shipment to reach Amazon first.
    assert delivery.deliver_message(refund.pk) == "waiting"
    assert delivery.deliver_message(ship_message.pk) == OutboxState.ACCEPTED
    refund = deliver_until_done(refund)
    assert refund.state == OutboxState.ACCEPTED, refund.last_error

    (feed,) = [f for f in sandbox.feeds() if f["feedType"] == "POST_PAYMENT_ADJUSTMENT_DATA"]
    document = feed["input"]
    assert f"<AmazonOrderItemCode>{shirt.external_item_id}</AmazonOrderItemCode>" in document
    assert "<AdjustmentReason>CustomerReturn</AdjustmentReason>" in document
    assert '<Type>Principal</Type><Amount currency="USD">20.00</Amount>' in document
    assert '<Type>Tax</Type><Amount currency="USD">1.65</Amount>' in document
    assert '<Type>Shipping</Type><Amount currency="USD">5.00</Amount>' in document
    assert '<Type>ShippingTax</Type><Amount currency="USD">0.41</Amount>' in document
    assert "SANDBOX-SKU-002" not in document and document.count("<AdjustedItem>") == 1
    refunded = {i["sku"]: i["refunded"] for i in sandbox.order(amazon.amazon_order_id)["items"]}
    assert refunded["SANDBOX-SKU-001"] == {"Principal": "20.00", "Tax": "1.65", "Shipping": "5.00",
                                              "ShippingTax": "0.41"}
    total = sum(Decimal(v) for v in refunded["SANDBOX-SKU-001"].values())
    assert total == memo.grand_total


def test_dead_letter_after_max_attempts_then_retry_by_hand(sandbox, amazon_store, staff_user, rf):
    from django.contrib.auth import get_user_model

    from saleschannel.core.roles import VIEWER, assign_role

    viewer = get_user_model().objects.create_user(username="viewer", password="x-Pass-12345")
    assign_role(user=viewer, role=VIEWER)
    ChannelSettings.objects.update_or_create(pk=1, defaults={"outbox_max_attempts": 2})
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    sandbox.set_faults({"confirmShipment": {"500": 1.0}})

    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    message.refresh_from_db()
    assert message.attempts == 1 and message.next_attempt_at is not None
    assert delivery.deliver_message(message.pk) == "skipped"  # not due yet: the back-off holds it
    assert delivery.deliver_message(message.pk, force=True) == OutboxState.DEAD
    message.refresh_from_db()
    assert message.attempts == 2 and "HTTP 500" in message.last_error
    amazon.refresh_from_db()
    assert amazon.notes.startswith("Transmission of tracking information failed.")

    request = rf.get("/")
    request.user = viewer
    alerts = [n for n in collect(request) if "did not accept" in n.message]
    assert alerts and alerts[0].links[0][0] == amazon.amazon_order_id

    sandbox.set_faults()
    services.outbox_retry(message=message, actor=staff_user)
    assert message.state == OutboxState.QUEUED and message.attempts == 0
    assert delivery.deliver_message(message.pk) == OutboxState.ACCEPTED
    assert not [n for n in collect(request) if "did not accept" in n.message]
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Shipped"


def test_read_only_mode_holds_the_queue(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    channel_read_only_set(read_only=True)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    assert delivery.deliver_message(message.pk) == "held"
    assert delivery.deliver_due() == {"held": 1}
    assert sandbox.requests(operation="confirmShipment") == []
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED and message.attempts == 0

    channel_read_only_set(read_only=False)
    assert delivery.deliver_due() == {OutboxState.ACCEPTED: 1}
    assert len(sandbox.requests(operation="confirmShipment")) == 1


def test_outbound_delivered_under_faults(sandbox, amazon_store, staff_user):
    orders = import_orders(sandbox, amazon_store, count=6, lines=1, prime=False, promotion=False, replacement=False)
    sandbox.set_faults({"*": {"429": 0.10, "500": 0.05, "timeout": 0.03}}, timeout_seconds=1.5, seed=7)
    for amazon in orders[:4]:
        shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    for amazon in orders[4:]:
        services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    ChannelSettings.objects.update_or_create(pk=1, defaults={"outbox_max_attempts": 20})
    deadline = time.monotonic() + 120
    while OutboxMessage.objects.exclude(state=OutboxState.ACCEPTED).exists() and time.monotonic() < deadline:
        for message_id in OutboxMessage.objects.exclude(state__in=[OutboxState.ACCEPTED, OutboxState.DEAD]) \
                .values_list("pk", flat=True):
            delivery.deliver_message(message_id, force=True)
        advance(20)  # the sandbox processes the feeds (20 sandbox seconds) before this returns
    sandbox.set_faults()
    states = {m.state: m.last_error for m in OutboxMessage.objects.all()}
    assert set(states) == {OutboxState.ACCEPTED}, states
    statuses = {sandbox.order(a.amazon_order_id)["status"] for a in orders[:4]}
    assert statuses == {"Shipped"}
    assert {sandbox.order(a.amazon_order_id)["status"] for a in orders[4:]} == {"Canceled"}
    # At least once, never twice: one package per shipment on Amazon's side.
    assert all(len(sandbox.order(a.amazon_order_id)["packages"]) == 1 for a in orders[:4])


def test_changes_made_by_amazon_are_not_echoed_back(sandbox, amazon_store):
    amazon = two_line_order(sandbox, amazon_store)
    sandbox.ship(amazon.amazon_order_id, tracking="TRACK-1", carrier="UPS")
    settle()
    sync_store(store=amazon_store)
    amazon.refresh_from_db()
    assert amazon.status == S.COMPLETED
    assert amazon.commerce_order.shipments.count() == 1
    assert not OutboxMessage.objects.exists()


def test_shipment_without_tracking_is_dead_lettered_with_a_clear_note(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    assert delivery.deliver_message(message.pk) == OutboxState.DEAD
    amazon.refresh_from_db()
    assert "tracking number" in amazon.notes
    assert sandbox.requests(operation="confirmShipment") == []


def test_full_refund_with_a_promotion_matches_the_credit_memo(sandbox, amazon_store, staff_user):
    (amazon,) = import_orders(sandbox, amazon_store, items=[
        {"sku": "SANDBOX-SKU-003", "qty": 3, "price": "10.00", "tax": "2.23", "shipping": "4.99",
         "shipping_tax": "0.41", "discount": "3.00"},
    ], prime=False, replacement=False)
    commerce = amazon.commerce_order
    shipment_create(order=commerce, tracks=[UPS], actor=staff_user)
    memo = creditmemo_create(order=commerce, reason="PriceError", actor=staff_user)
    for message in OutboxMessage.objects.filter(amazon_order=amazon).order_by("pk"):
        assert deliver_until_done(message).state == OutboxState.ACCEPTED, message.last_error
    refund = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.REFUND)
    (line,) = refund.payload["lines"]
    assert line["reason"] == "PriceError"
    assert line["amounts"] == {"Principal": "27.00", "Tax": "2.23", "Shipping": "4.99", "ShippingTax": "0.41"}
    assert sum(Decimal(v) for v in line["amounts"].values()) == memo.grand_total
    (item,) = sandbox.order(amazon.amazon_order_id)["items"]
    assert item["refunded"]["Principal"] == "27.00"


def test_delivery_is_enqueued_on_commit_and_the_sweep_follows_the_feed(
        sandbox, amazon_store, staff_user, django_capture_on_commit_callbacks):
    amazon = two_line_order(sandbox, amazon_store)
    with django_capture_on_commit_callbacks(execute=True):  # tests run Huey tasks at once
        shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    message = OutboxMessage.objects.get(amazon_order=amazon)
    assert message.state == OutboxState.ACCEPTED and message.attempts == 1
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Shipped"

    other = two_line_order(sandbox, amazon_store)
    with django_capture_on_commit_callbacks(execute=True):
        services.amazon_order_cancel(amazon_order=other, reason="NoInventory", actor=staff_user)
    cancel = OutboxMessage.objects.get(amazon_order=other)
    assert cancel.state == OutboxState.SENT and cancel.feed_id  # submitted; the report comes later
    deadline = time.monotonic() + 20
    while cancel.state == OutboxState.SENT and time.monotonic() < deadline:
        advance(20)  # the sandbox processes the feed (20 sandbox seconds) before this returns
        delivery.amazon_outbox_sweep()
        cancel.refresh_from_db()
    assert cancel.state == OutboxState.ACCEPTED


def test_sweep_postpones_a_sellers_other_messages_when_amazon_fails(sandbox, amazon_store, staff_user):
    first, second = import_orders(sandbox, amazon_store, count=2, lines=1, prime=False, replacement=False)
    for amazon in (first, second):
        shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    sandbox.set_faults({"confirmShipment": {"503": 1.0}})
    assert delivery.deliver_due() == {OutboxState.FAILED: 1, "postponed": 1}
    sandbox.set_faults()
    later = timezone.now() + timedelta(hours=2)  # past the back-off
    assert delivery.deliver_due(now=later) == {OutboxState.ACCEPTED: 2}
