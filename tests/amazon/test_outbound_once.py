"""A feed reaches Amazon once: a crash after Amazon accepted it, or a lost answer, never sends it a second time
(a refund sent twice would be paid twice). Real HTTP against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from saleschannel.amazon import delivery, feed_delivery, services
from saleschannel.amazon.models import AmazonOrderEvent, OutboxMessage, OutboxState
from saleschannel.amazon.spapi.gateway import Gateway
from tests.amazon.test_outbound import deliver_until_done, two_line_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _skus(catalog):
    assert "SANDBOX-SKU-001" in catalog


def create_feed_requests(sandbox) -> list[int]:
    return [r["status"] for r in sandbox.requests(limit=1000)
            if r["method"] == "POST" and r["path"] == "/feeds/2021-06-30/feeds"]


def sent_behind_our_back(store, message: OutboxMessage) -> str:
    """What a worker killed right after createFeed leaves: Amazon has the feed, the message has no feed id."""
    feed_type, content = feed_delivery.feed_content(message)
    with Gateway.for_store(store) as gateway:
        feed_id = gateway.submit_feed(feed_type=feed_type, content=content)
    OutboxMessage.objects.filter(pk=message.pk).update(feed_submitted_at=timezone.now() - timedelta(seconds=1))
    return feed_id


def test_a_feed_amazon_got_before_the_worker_died_is_followed_not_sent_again(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    feed_id = sent_behind_our_back(amazon_store, message)

    message = deliver_until_done(message)

    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert message.feed_id == feed_id
    assert len(sandbox.feeds()) == 1  # not sent a second time
    assert create_feed_requests(sandbox) == [202]
    assert AmazonOrderEvent.objects.filter(order=amazon, message__contains="before its answer was lost").exists()
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Canceled"


def test_a_lost_answer_to_create_feed_is_checked_before_sending_again(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    sandbox.set_faults({"createFeed": {"500": 1.0}})

    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    message.refresh_from_db()
    assert create_feed_requests(sandbox) == [500]  # not retried blindly within the attempt
    assert message.feed_submitted_at is not None and not message.feed_id  # to be checked next time

    sandbox.set_faults()
    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert create_feed_requests(sandbox) == [500, 202]  # Amazon had nothing: sent once more, once
    assert len(sandbox.feeds()) == 1


def test_an_unreadable_answer_to_create_feed_is_not_repeated_and_the_feed_is_followed(sandbox, amazon_store,
                                                                                      staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    sandbox.set_faults({"createFeed": {"malformed": 1.0}})  # Amazon created the feed; its answer is cut

    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    assert create_feed_requests(sandbox) == [202]  # a 2xx that cannot be read is not sent again
    sandbox.set_faults()
    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert create_feed_requests(sandbox) == [202] and len(sandbox.feeds()) == 1
    assert sandbox.order(amazon.amazon_order_id)["status"] == "Canceled"


def test_a_refused_feed_is_not_looked_for_again(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    message = services.amazon_order_cancel(amazon_order=amazon, reason="NoInventory", actor=staff_user)
    sandbox.set_faults({"createFeed": {"429": 1.0}})
    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    message.refresh_from_db()
    assert message.feed_submitted_at is None  # a 429 is a refusal: Amazon did not take it
    assert set(create_feed_requests(sandbox)) == {429}


def test_feeds_that_cannot_be_told_apart_stop_for_a_person(sandbox, amazon_store, staff_user):
    first, second = (two_line_order(sandbox, amazon_store) for _ in range(2))
    message = services.amazon_order_cancel(amazon_order=first, reason="NoInventory", actor=staff_user)
    sent_behind_our_back(amazon_store, message)
    # Another cancellation feed that none of our messages sent (Seller Central's upload page, another tool).
    stranger = feed_delivery.feed_content(
        OutboxMessage(amazon_order=second, kind="cancel", payload={"reason": "NoInventory", "items": ["1"]}))[1]
    with Gateway.for_store(amazon_store) as gateway:
        gateway.submit_feed(feed_type="POST_ORDER_ACKNOWLEDGEMENT_DATA", content=stranger)

    assert delivery.deliver_message(message.pk) == OutboxState.DEAD
    stopped = OutboxMessage.objects.get(pk=message.pk)
    assert "cannot be told which one" in stopped.last_error and "Seller Central" in stopped.last_error
    assert stopped.outcome_unknown and not stopped.feed_id and stopped.feed_lookup["verdict"] == "ambiguous"
    assert len(sandbox.feeds()) == 2  # nothing sent

    # A cancellation sent twice changes nothing: a retry by hand sends it without asking.
    services.outbox_retry(message=stopped, actor=staff_user)
    stopped = deliver_until_done(stopped)
    assert stopped.state == OutboxState.ACCEPTED, stopped.last_error
    assert len(sandbox.feeds()) == 3
