"""The one rule behind every retry by hand (``rules.outbox_retry_verdict``), both ways for each case."""

from __future__ import annotations

import pytest

from saleschannel.amazon.models import AmazonOrder, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.rules import outbox_retry_verdict

ORDER = "111-1234567-1234567"


def message(kind=OutboxKind.REFUND, state=OutboxState.DEAD, **fields) -> OutboxMessage:
    payload = {"creditmemo_number": "100000042", "total": "16.69", "currency": "USD"}
    return OutboxMessage(amazon_order=AmazonOrder(amazon_order_id=ORDER), kind=kind, state=state, payload=payload,
                         **fields)


@pytest.mark.parametrize("state", [OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.ACCEPTED])
def test_only_a_failed_or_dead_message_can_be_retried(state):
    verdict = outbox_retry_verdict(message(state=state))
    assert not verdict.allowed and "Only a failed message can be retried" in verdict.reason


@pytest.mark.parametrize("state", [OutboxState.FAILED, OutboxState.DEAD])
def test_a_refund_amazon_may_have_applied_needs_a_confirmation(state):
    verdict = outbox_retry_verdict(message(state=state, outcome_unknown=True))
    assert verdict.allowed and verdict.needs_confirmation and not verdict.safe
    assert ORDER in verdict.reason and "Payments › Refunds" in verdict.reason
    assert "16.69 USD" in verdict.reason and "refund the buyer twice" in verdict.reason


def test_a_refund_whose_outcome_is_known_is_safe_to_retry():
    assert outbox_retry_verdict(message(outcome_unknown=False)).safe  # Amazon refused it or never got it


def test_a_refund_whose_feed_amazon_has_is_followed_not_sent_so_it_is_safe():
    assert outbox_retry_verdict(message(outcome_unknown=True, feed_id="50001")).safe


@pytest.mark.parametrize("kind", [OutboxKind.CANCEL, OutboxKind.SHIPMENT])
def test_a_cancellation_or_shipment_with_an_unknown_outcome_is_safe(kind):
    # A cancellation sent twice changes nothing; a shipment looks at the order before it is sent.
    assert outbox_retry_verdict(message(kind=kind, outcome_unknown=True)).safe
