"""Unknown outcomes are never repeated blindly (issue 11, finding 1; DESIGN §8.1). A refund reaches Amazon once,
whatever happens to createFeed's answer: one feed of a kind in flight per store and marketplace, the outcome recorded
per message, a dead letter that says what is known, and a retry by hand that asks Amazon first and asks a person
when Amazon cannot tell. Real HTTP against the strict sandbox."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from saleschannel.amazon import delivery, feed_delivery, rules, services
from saleschannel.amazon.models import AmazonOrder, ChannelSettings, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.refunds import refundable
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.services import creditmemo_create, shipment_create
from tests.amazon.test_outbound import UPS, deliver_until_done, import_orders, two_line_order
from tests.factories import client_for, make_role_user
from tests.sandbox.helpers import wait_for

pytestmark = pytest.mark.django_db

ONE_ITEM = [{"sku": "SANDBOX-SKU-001", "qty": 2, "price": "10.00", "tax": "1.00", "shipping": "4.00",
             "shipping_tax": "0.40"}]


@pytest.fixture(autouse=True)
def _skus(catalog):
    assert "SANDBOX-SKU-001" in catalog


def create_feed_statuses(sandbox) -> list[int]:
    return [r["status"] for r in sandbox.requests(operation="createFeed")]


def refund_feeds(sandbox) -> list[dict]:
    return [f for f in sandbox.feeds() if f["feedType"] == "POST_PAYMENT_ADJUSTMENT_DATA"]


def shipped_order(sandbox, amazon_store, staff_user) -> AmazonOrder:
    """An imported order, shipped in Commerce and on Amazon (the shipment delivered)."""
    (amazon,) = import_orders(sandbox, amazon_store, items=ONE_ITEM, prime=False, promotion=False, replacement=False)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    shipment = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.SHIPMENT)
    assert deliver_until_done(shipment).state == OutboxState.ACCEPTED
    return amazon


def refund_message(sandbox, amazon_store, staff_user, *, amount: str = "5.00", hold: bool = False) -> OutboxMessage:
    """A refund of ``amount`` queued for a shipped order. ``hold``: not delivered on commit (a transactional test
    with Huey in immediate mode would deliver it at once)."""
    amazon = shipped_order(sandbox, amazon_store, staff_user)
    if hold:
        ChannelSettings.objects.update_or_create(pk=1, defaults={"read_only": True})
    creditmemo_create(order=amazon.commerce_order, quantities={}, shipping_refund=0, adjustment_refund=amount,
                      actor=staff_user)
    if hold:
        ChannelSettings.objects.filter(pk=1).update(read_only=False)
    return OutboxMessage.objects.select_related("amazon_order").get(amazon_order=amazon, kind=OutboxKind.REFUND)


def refunded_on_amazon(sandbox, message: OutboxMessage) -> Decimal:
    order = sandbox.order(message.amazon_order.amazon_order_id)
    return sum((Decimal(a) for item in order["items"] for a in item["refunded"].values()), Decimal("0"))


def exhaust(message: OutboxMessage) -> OutboxMessage:
    """Deliver until the message is dead (every attempt fails): two attempts, to keep the gateway's back-off short."""
    ChannelSettings.objects.update_or_create(pk=1, defaults={"outbox_max_attempts": 2})
    for _ in range(ChannelSettings.load().outbox_max_attempts + 1):
        delivery.deliver_message(message.pk, force=True)
        message.refresh_from_db()
        if message.state == OutboxState.DEAD:
            break
    return message


def feed_behind_our_back(store, feed_type: str = "POST_PAYMENT_ADJUSTMENT_DATA") -> str:
    """A feed of the same type that none of our messages sent (another tool, Seller Central's upload page)."""
    content = (b'<?xml version="1.0"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
               b"<MerchantIdentifier>X</MerchantIdentifier></Header><MessageType>OrderAdjustment</MessageType>"
               b"</AmazonEnvelope>")
    with Gateway.for_store(store) as gateway:
        return gateway.submit_feed(feed_type=feed_type, content=content)


# --- Faults on createFeed: the credit memo is refunded once ----------------------------------------------------


@pytest.mark.parametrize("fault", ["malformed", "drop"])
def test_a_truncated_or_dropped_answer_to_create_feed_refunds_once(sandbox, amazon_store, staff_user, fault):
    message = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {fault: 1.0}})  # Amazon creates the feed; its answer is cut

    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    message.refresh_from_db()
    assert message.outcome_unknown and message.feed_submitted_at and not message.feed_id  # recorded as unknown
    assert create_feed_statuses(sandbox) == [202]  # not repeated within the attempt
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert len(refund_feeds(sandbox)) == 1 and create_feed_statuses(sandbox) == [202]
    assert refunded_on_amazon(sandbox, message) == Decimal("5.00")  # the credit memo's amount, once
    assert not message.outcome_unknown
    assert message.feed_lookup["verdict"] == "found" and message.feed_lookup["unclaimed"] == [message.feed_id]
    assert message.processing_report["message_result"]["result"] == "success"


def test_a_timeout_after_sending_refunds_once(sandbox, amazon_store, staff_user):
    message = refund_message(sandbox, amazon_store, staff_user)
    # Amazon answers createFeed after 1.5 s (having created the feed); our side stops waiting after 0.3 s.
    sandbox.set_faults({"createFeed": {"timeout": 1.0}}, timeout_seconds=1.5)
    impatient = Gateway.for_store(amazon_store, timeout=0.3, retry=RetryPolicy(max_attempts=4, max_total_seconds=5))
    with impatient:
        assert delivery.deliver_message(message.pk, gateway=impatient) == OutboxState.FAILED
    message.refresh_from_db()
    assert message.outcome_unknown and "did not answer in time" in message.last_error
    wait_for(lambda: sandbox.requests(operation="createFeed"))  # the sandbox finished the request it was given
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert len(refund_feeds(sandbox)) == 1
    assert refunded_on_amazon(sandbox, message) == Decimal("5.00")


def test_a_request_still_running_at_amazon_is_waited_for_not_sent_again(sandbox, amazon_store, staff_user,
                                                                       monkeypatch):
    monkeypatch.setattr(feed_delivery, "NO_ANSWER_SETTLE_SECONDS", 60.0)
    message = refund_message(sandbox, amazon_store, staff_user)
    # Amazon creates the feed only after 2.5 s; our side stops waiting after 0.3 s and looks again at once.
    sandbox.set_faults({"createFeed": {"timeout": 1.0}}, timeout_seconds=2.5)
    impatient = Gateway.for_store(amazon_store, timeout=0.3, retry=RetryPolicy(max_attempts=4, max_total_seconds=5))
    with impatient:
        assert delivery.deliver_message(message.pk, gateway=impatient) == OutboxState.FAILED
        sandbox.set_faults()
        assert delivery.deliver_message(message.pk, force=True, gateway=impatient) == OutboxState.FAILED
    message.refresh_from_db()
    assert "may still be processed" in message.last_error and message.outcome_unknown
    assert message.attempts == 1  # waiting to know is not an attempt
    assert create_feed_statuses(sandbox) == []  # Amazon's list showed nothing yet, and nothing was sent again
    wait_for(lambda: sandbox.requests(operation="createFeed"))  # Amazon finishes the first request

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert len(refund_feeds(sandbox)) == 1 and refunded_on_amazon(sandbox, message) == Decimal("5.00")


def test_a_500_is_looked_for_then_sent_once(sandbox, amazon_store, staff_user):
    message = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {"500": 1.0}})  # Amazon failed: it has nothing, but we cannot know
    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    message.refresh_from_db()
    assert message.outcome_unknown and create_feed_statuses(sandbox) == [500]
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert create_feed_statuses(sandbox) == [500, 202] and len(refund_feeds(sandbox)) == 1
    assert refunded_on_amazon(sandbox, message) == Decimal("5.00")


# --- One feed of a kind in flight per store and marketplace -------------------------------------------------------


def test_a_second_refund_waits_for_the_feed_in_flight_and_goes_next(sandbox, amazon_store, staff_user):
    first = refund_message(sandbox, amazon_store, staff_user)
    second = refund_message(sandbox, amazon_store, staff_user, amount="3.00")

    assert delivery.deliver_message(first.pk) == OutboxState.SENT
    assert delivery.deliver_message(second.pk) == "waiting"
    second.refresh_from_db()
    assert second.state == OutboxState.QUEUED and second.waiting_for_id == first.pk and second.attempts == 0
    assert len(refund_feeds(sandbox)) == 1  # not submitted while the first is not finished

    assert deliver_until_done(first).state == OutboxState.ACCEPTED
    second = deliver_until_done(second)
    assert second.state == OutboxState.ACCEPTED, second.last_error
    assert len(refund_feeds(sandbox)) == 2
    assert refunded_on_amazon(sandbox, second) == Decimal("3.00")


def test_a_submission_with_an_unknown_outcome_holds_the_next_one(sandbox, amazon_store, staff_user):
    first = refund_message(sandbox, amazon_store, staff_user)
    second = refund_message(sandbox, amazon_store, staff_user, amount="3.00")
    sandbox.set_faults({"createFeed": {"malformed": 1.0}})
    assert delivery.deliver_message(first.pk) == OutboxState.FAILED
    assert delivery.deliver_message(second.pk) == "waiting"  # getFeeds must find the first one's feed alone
    sandbox.set_faults()

    for message in (first, second):
        assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert len(refund_feeds(sandbox)) == 2
    assert [refunded_on_amazon(sandbox, m) for m in (first, second)] == [Decimal("5.00"), Decimal("3.00")]


def test_a_refused_submission_or_another_kind_does_not_hold_the_queue(sandbox, amazon_store, staff_user):
    refund = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {"429": 1.0}})  # a refusal: Amazon did not take it
    assert delivery.deliver_message(refund.pk) == OutboxState.FAILED
    refund.refresh_from_db()
    assert refund.feed_submitted_at is None and not refund.outcome_unknown
    sandbox.set_faults()
    amazon = two_line_order(sandbox, amazon_store)
    cancel = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    assert delivery.deliver_message(cancel.pk) == OutboxState.SENT  # a cancellation is another feed type
    other = refund_message(sandbox, amazon_store, staff_user, amount="2.00")
    assert delivery.deliver_message(other.pk) == OutboxState.SENT  # the refused refund holds nothing


def test_the_waiting_message_is_visible_on_the_order(sandbox, amazon_store, staff_user):
    first = refund_message(sandbox, amazon_store, staff_user)
    second = refund_message(sandbox, amazon_store, staff_user, amount="3.00")
    delivery.deliver_message(first.pk)
    delivery.deliver_message(second.pk)
    first.refresh_from_db()
    page = client_for(make_role_user(OPERATOR)).get(f"/amazon/orders/{second.amazon_order_id}/?tab=log")
    assert f"waiting for feed {first.feed_id}" in page.content.decode()
    out = StringIO()
    call_command("amazon", "outbox", "list", stdout=out)
    assert f"waiting for feed {first.feed_id} (message {first.pk})" in out.getvalue()


# --- Dead letters and retries by hand ---------------------------------------------------------------------------


def ambiguous_refund(sandbox, amazon_store, staff_user) -> OutboxMessage:
    """A refund whose createFeed answer was lost while another feed of its type arrived from elsewhere."""
    message = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {"malformed": 1.0}})
    delivery.deliver_message(message.pk)
    sandbox.set_faults()
    feed_behind_our_back(amazon_store)
    assert delivery.deliver_message(message.pk, force=True) == OutboxState.DEAD
    message.refresh_from_db()
    return message


def test_a_dead_letter_of_an_unknown_refund_says_what_is_known(sandbox, amazon_store, staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    order_id = message.amazon_order.amazon_order_id
    assert message.outcome_unknown and message.feed_lookup["verdict"] == "ambiguous"
    assert len(message.feed_lookup["unclaimed"]) == 2
    text = message.last_error
    assert text.startswith("Amazon may have applied this refund")
    assert f"Check order {order_id} in Seller Central (Payments › Refunds) before retrying" in text
    assert "Refund failed" not in text and "retry this message" not in text
    assert len(refund_feeds(sandbox)) == 2  # nothing more was sent
    assert not rules.outbox_retry_verdict(message).safe


def test_a_retry_of_a_refund_amazon_cannot_tell_about_needs_a_confirmation(sandbox, amazon_store, staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    with pytest.raises(services.RetryNeedsConfirmation) as refused:
        services.outbox_retry(message=message, actor=staff_user)
    assert "may refund the buyer twice" in refused.value.message
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD and len(refund_feeds(sandbox)) == 2  # asked Amazon, sent nothing
    assert sandbox.requests(operation="getFeeds")

    message = services.outbox_retry(message=message, actor=staff_user, confirmed=True)
    assert message.state == OutboxState.QUEUED and not message.outcome_unknown
    assert "confirmed the risk" in message.amazon_order.events.latest("pk").message
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert len(refund_feeds(sandbox)) == 3


def test_a_retry_finds_the_feed_amazon_has_and_follows_it_instead_of_sending(sandbox, amazon_store, staff_user):
    message = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {"malformed": 1.0}, "getFeeds": {"500": 1.0}})
    message = exhaust(message)  # Amazon has the feed, and could never be asked
    assert message.state == OutboxState.DEAD and message.outcome_unknown
    assert message.last_error.startswith("Amazon may have applied this refund")
    assert not rules.outbox_retry_verdict(message).safe
    sandbox.set_faults()

    message = services.outbox_retry(message=message, actor=staff_user)  # no confirmation: Amazon could tell
    assert message.state == OutboxState.SENT and message.feed_id
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert len(refund_feeds(sandbox)) == 1 and refunded_on_amazon(sandbox, message) == Decimal("5.00")


def test_a_retry_sends_a_refund_amazon_never_got_without_asking(sandbox, amazon_store, staff_user):
    message = refund_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"createFeed": {"500": 1.0}, "getFeeds": {"500": 1.0}})
    message = exhaust(message)
    assert message.state == OutboxState.DEAD and message.outcome_unknown
    sandbox.set_faults()

    message = services.outbox_retry(message=message, actor=staff_user)
    assert message.state == OutboxState.QUEUED and not message.outcome_unknown
    assert "not applied" in message.amazon_order.events.filter(kind="outbox_check").latest("pk").message
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert len(refund_feeds(sandbox)) == 1 and refunded_on_amazon(sandbox, message) == Decimal("5.00")


def test_a_retry_while_amazon_cannot_be_asked_needs_a_confirmation(sandbox, amazon_store, staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"getFeeds": {"500": 1.0}})
    with pytest.raises(services.RetryNeedsConfirmation):
        services.outbox_retry(message=message, actor=staff_user)
    message.refresh_from_db()
    assert message.feed_lookup["verdict"] == "unreachable"


def test_the_retry_button_shows_the_risk_and_a_confirmation_step(sandbox, amazon_store, staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    operator = client_for(make_role_user(OPERATOR))
    page = operator.get(f"/amazon/orders/{message.amazon_order_id}/?tab=log").content.decode()
    assert "data-needs-confirmation" in page and "Check Amazon and retry" in page

    response = operator.post(f"/amazon/outbox/{message.pk}/retry/")
    body = response.content.decode()
    assert response.status_code == 409 and "may refund the buyer twice" in body and "may-duplicate" in body
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD

    ChannelSettings.objects.update_or_create(pk=1, defaults={"read_only": True})  # keep it queued to look at it
    response = operator.post(f"/amazon/outbox/{message.pk}/retry/", {"confirm": "may-duplicate"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED


def test_the_command_line_retry_needs_confirm_may_duplicate(sandbox, amazon_store, staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    out = StringIO()
    with pytest.raises(CommandError, match="--confirm-may-duplicate"):
        call_command("amazon", "outbox", "retry", str(message.pk), stdout=out, stderr=out)
    assert "may refund the buyer twice" in out.getvalue()
    message.refresh_from_db()
    assert message.state == OutboxState.DEAD

    ChannelSettings.objects.update_or_create(pk=1, defaults={"read_only": True})
    call_command("amazon", "outbox", "retry", str(message.pk), "--confirm-may-duplicate", stdout=out, stderr=out)
    message.refresh_from_db()
    assert message.state == OutboxState.QUEUED


def test_a_cancellation_with_an_unknown_outcome_is_retried_without_confirmation(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    sandbox.set_faults({"createFeed": {"malformed": 1.0}})
    delivery.deliver_message(message.pk)
    sandbox.set_faults()
    feed_behind_our_back(amazon_store, "POST_ORDER_ACKNOWLEDGEMENT_DATA")
    assert delivery.deliver_message(message.pk, force=True) == OutboxState.DEAD
    message.refresh_from_db()
    assert message.last_error.startswith("Amazon may have canceled this order already")
    assert "Retry is safe" in message.last_error
    assert rules.outbox_retry_verdict(message).safe
    message = services.outbox_retry(message=message, actor=staff_user)
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Canceled"


def test_a_refund_amazon_may_have_applied_counts_against_what_can_still_be_refunded(sandbox, amazon_store,
                                                                                    staff_user):
    message = ambiguous_refund(sandbox, amazon_store, staff_user)
    charged = refundable_total(message.amazon_order, without=message)
    assert refundable_total(message.amazon_order) == charged - Decimal("5.00")  # it may have been paid
    OutboxMessage.objects.filter(pk=message.pk).update(outcome_unknown=False)  # Amazon refused it: it was not
    assert refundable_total(message.amazon_order) == charged


def refundable_total(amazon: AmazonOrder, *, without: OutboxMessage | None = None) -> Decimal:
    if without is not None:
        OutboxMessage.objects.filter(pk=without.pk).update(kind=OutboxKind.SHIPMENT)  # out of the count for now
    total = sum((v for item in refundable(amazon).values() for v in item.values()), Decimal("0"))
    if without is not None:
        OutboxMessage.objects.filter(pk=without.pk).update(kind=OutboxKind.REFUND)
    return total
