"""The SP-API gateway over real HTTP against the sandbox: retries, back-off, pacing, errors, API versions, feeds."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleschannel.amazon.models import ApiVersion, LwaCredentials
from saleschannel.amazon.spapi.gateway import AmazonError, Gateway, RetryPolicy
from tests.amazon.conftest import TIME_SCALE, US, advance, settle

pytestmark = pytest.mark.django_db
FAST = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05)


def make_gateway(sandbox, **kwargs) -> Gateway:
    creds = sandbox.credentials
    options = {"retry": FAST, "pacing_factor": TIME_SCALE, "sleep": lambda s: __import__("time").sleep(min(s, 1))}
    options.update(kwargs)
    return Gateway(
        seller_id=creds["seller_id"], region="NA", endpoint=sandbox.url, token_url=sandbox.token_url,
        credentials=LwaCredentials(creds["client_id"], creds["client_secret"], creds["refresh_token"]),
        marketplace_ids=[US], **options,
    )


def window():
    now = timezone.now()  # the test's clock, which settle() moves with the sandbox's
    return {"last_updated_after": now - timedelta(days=1), "last_updated_before": now - timedelta(seconds=0.25)}


def statuses(sandbox, operation):
    return [r["status"] for r in sandbox.requests(operation=operation)]


def test_retries_429_500_and_malformed_until_success(sandbox):
    sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sandbox.set_faults({"searchOrders": {"429": 0.2, "500": 0.1, "malformed": 0.1}}, seed=7)
    gateway = make_gateway(sandbox)
    for _ in range(6):
        page = gateway.search_orders(**window())
        assert len(page.orders) == 3
    seen = statuses(sandbox, "searchOrders")
    assert len(seen) == gateway.calls > 6  # every failed attempt was retried, each one a real request
    assert any(status != 200 for status in seen)
    assert seen.count(200) >= 6


def test_client_errors_are_not_retried_and_say_what_happened(sandbox):
    gateway = make_gateway(sandbox)
    now = datetime.now(UTC)
    with pytest.raises(AmazonError) as caught:
        # The window ends now: Amazon's 2-minute rule refuses it.
        gateway.search_orders(last_updated_after=now - timedelta(days=1), last_updated_before=now + timedelta(hours=1))
    error = caught.value
    assert error.status == 400 and not error.retryable and error.code
    assert str(error).startswith("Amazon refused the request:")
    assert len(sandbox.requests(operation="searchOrders")) == 1


def test_retryable_errors_give_up_after_the_attempt_budget(sandbox):
    sandbox.set_faults({"searchOrders": {"503": 1.0}})
    gateway = make_gateway(sandbox, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    with pytest.raises(AmazonError) as caught:
        gateway.search_orders(**window())
    assert caught.value.retryable and caught.value.status == 503
    assert "gave up after 3 attempts" in caught.value.message
    assert len(sandbox.requests(operation="searchOrders")) == 3


def test_timeouts_are_retried(sandbox):
    sandbox.set_faults({"searchOrders": {"timeout": 1.0}}, timeout_seconds=0.8)
    gateway = make_gateway(sandbox, timeout=0.3, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    with pytest.raises(AmazonError) as caught:
        gateway.search_orders(**window())
    assert caught.value.code == "Timeout" and caught.value.retryable
    assert gateway.calls == 2
    __import__("time").sleep(0.8)  # let the sandbox finish the abandoned requests before the next test


def test_backoff_grows_exponentially_with_jitter():
    policy = RetryPolicy(base_delay=1, max_delay=100)
    for attempt in range(1, 6):
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= 2 ** attempt for d in delays)
        assert max(delays) > 2 ** attempt * 0.7  # spread over the whole range, not a constant
    assert max(RetryPolicy(base_delay=1, max_delay=5).delay(20) for _ in range(50)) <= 5


def test_pacing_shared_between_gateways_never_causes_a_429(sandbox):
    """searchOrders has a burst of 20: 30 calls from two workers must wait for refills instead of being throttled."""
    first, second = make_gateway(sandbox), make_gateway(sandbox)
    # Fetch the LWA access token first: at 600× time, its 40 ms would count as 24 s of Amazon's refill.
    [order_id] = sandbox.create_orders(marketplace="US", status="Unshipped")
    first.get_order(order_id)
    second.get_order(order_id)
    waits = []
    first.pacer.sleep = second.pacer.sleep = lambda s: (waits.append(s), __import__("time").sleep(s))
    for index in range(30):
        (first if index % 2 else second).search_orders(**window(), max_results=1)
    seen = statuses(sandbox, "searchOrders")
    assert len(seen) == 30 and set(seen) == {200}
    assert waits  # the pacer, not Amazon, slowed the calls down (the bucket is shared through the database)
    assert first.calls + second.calls == 32  # and the two getOrder calls


def test_bad_credentials_are_a_plain_error_without_secrets(sandbox):
    creds = sandbox.credentials
    gateway = Gateway(seller_id=creds["seller_id"], region="NA", endpoint=sandbox.url, token_url=sandbox.token_url,
                      credentials=LwaCredentials(creds["client_id"], "wrong-secret-XYZ", "wrong-refresh-ABC"),
                      marketplace_ids=[US], retry=FAST)
    with pytest.raises(AmazonError) as caught:
        gateway.search_orders(**window())
    text = f"{caught.value} {caught.value!r} {gateway!r}"
    assert "refused the credentials" in str(caught.value)
    assert "wrong-secret-XYZ" not in text and "wrong-refresh-ABC" not in text


def test_secrets_never_logged(sandbox, caplog, amazon_store):
    from saleschannel.amazon.sync import sync_store

    creds = sandbox.credentials
    caplog.set_level(logging.DEBUG)
    sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    sync_store(store=amazon_store)
    for secret in (creds["client_secret"], creds["refresh_token"]):
        assert secret not in caplog.text
    assert creds["client_secret"] not in repr(amazon_store) and creds["client_secret"] not in repr(
        amazon_store.credentials())


def test_both_api_versions_normalise_to_the_same_order(sandbox):
    ids = sandbox.create_orders(count=4, marketplace="US", fulfillment="MFN", status="Unshipped", promotion=True,
                                lines=2)
    ids += sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
    sandbox.buyer_cancel(ids[-1], reason="Too late")
    settle()
    new = make_gateway(sandbox)
    old = make_gateway(sandbox, api_version=ApiVersion.V0)
    page_new = {o.amazon_order_id: o for o in new.search_orders(**window()).orders}
    page_old = {o.amazon_order_id: o for o in old.search_orders(**window()).orders}
    assert set(page_new) == set(page_old) == set(ids)
    for order_id in ids:
        a, b = page_new[order_id], page_old[order_id]
        for field in ("status", "fulfillment_channel", "currency", "order_total", "buyer_email", "buyer_name",
                      "is_prime", "is_business", "items_unshipped", "purchase_date", "buyer_requested_cancel"):
            assert getattr(a, field) == getattr(b, field), field
        assert a.address.line1 == b.address.line1 and a.address.postal_code == b.address.postal_code
        items_a = {i.order_item_id: i for i in a.items}
        items_b = {i.order_item_id: i for i in b.items}
        for item_id, item in items_a.items():
            other = items_b[item_id]
            for field in ("seller_sku", "qty_ordered", "item_price", "item_tax", "shipping_price", "shipping_tax",
                          "promotion_discount", "shipping_discount"):
                assert getattr(item, field) == getattr(other, field), field
            assert isinstance(item.item_price, Decimal)
    single = old.get_order(ids[0])
    assert single.order_total == page_new[ids[0]].order_total
    assert new.get_order(ids[0]).order_total == single.order_total
    assert sandbox.requests(operation="createRestrictedDataToken")  # v0 PII goes through an RDT


def test_confirm_shipment_and_feed_round_trip(sandbox):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-001", "qty": 2}, {"sku": "SANDBOX-SKU-002",
                                                                                      "qty": 1}])
    gateway = make_gateway(sandbox)
    order = gateway.get_order(order_id)
    first, second = order.items
    gateway.confirm_shipment(amazon_order_id=order_id, marketplace_id=US, package_reference_id=1, carrier_code="UPS",
                             tracking_number="1Z999", ship_date=datetime.now(UTC), items=[(first.order_item_id, 2)])
    assert sandbox.order(order_id)["status"] == "PartiallyShipped"
    assert [r["status"] for r in sandbox.requests(operation="confirmShipment")] == [204]

    [other_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    other = gateway.get_order(other_id)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
        f'<MerchantIdentifier>{sandbox.credentials["seller_id"]}</MerchantIdentifier></Header>'
        "<MessageType>OrderAcknowledgement</MessageType><Message><MessageID>1</MessageID><OrderAcknowledgement>"
        f"<AmazonOrderID>{other_id}</AmazonOrderID><StatusCode>Failure</StatusCode><Item>"
        f"<AmazonOrderItemCode>{other.items[0].order_item_id}</AmazonOrderItemCode>"
        "<CancelReason>NoInventory</CancelReason></Item></OrderAcknowledgement></Message></AmazonEnvelope>"
    )
    feed_id = gateway.submit_feed(feed_type="POST_ORDER_ACKNOWLEDGEMENT_DATA", content=xml)
    for _ in range(100):
        feed = gateway.get_feed(feed_id)
        if feed.status in ("DONE", "FATAL", "CANCELLED"):
            break
        advance(20)  # the sandbox processes the feed (20 sandbox seconds) before this returns
    assert feed.status == "DONE" and feed.result_document_id
    report = gateway.get_feed_document(feed.result_document_id).decode()
    assert "ProcessingReport" in report and "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert sandbox.order(other_id)["status"] == "Canceled"


def test_test_connection_reports_success_and_failure(sandbox, amazon_store):
    from saleschannel.amazon.services import amazon_store_test_connection

    ok, message = amazon_store_test_connection(amazon_store=amazon_store)
    assert ok and "Connected to Amazon" in message
    amazon_store.set_credentials(client_secret="not-the-secret")
    ok, message = amazon_store_test_connection(amazon_store=amazon_store)
    assert not ok and "refused the credentials" in message and "not-the-secret" not in message
