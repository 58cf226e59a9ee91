"""python-amazon-sp-api itself, pointed at the sandbox: token, searchOrders over pages, getOrder, confirmShipment,
and a cancellation feed from upload to processing report."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sp_api.api import Feeds, Orders, OrdersV0
from sp_api.auth import access_token_client
from sp_api.base import Marketplaces, SellingApiBadRequestException

from saleschannel.sandbox.spapi import sp_api_client

from .helpers import ago, wait_for

# python-amazon-sp-api used bare, with its own defaults (it adds MarketplaceId/MarketplaceIds/marketplace_ids to GETs
# and the request path to POST bodies): not our gateway, so not held to the request contract (tests/sandbox/fixtures).
SANDBOX_CONTRACT_EXEMPT = "python-amazon-sp-api used directly, not through saleschannel.amazon.spapi.gateway"


@pytest.fixture(autouse=True)
def fresh_token_cache():
    # sp_api keeps tokens in a process-wide cache for 3200 s; sandbox tokens (time scale 60) live 60 s.
    access_token_client.cache.clear()


def client(sandbox, api_class, **kwargs):
    return sp_api_client(api_class, endpoint=sandbox.url, token_url=sandbox.token_url,
                         credentials=sandbox.credentials, **kwargs)


def test_search_orders_over_several_pages_then_get_order(sandbox):
    created = set(sandbox.create_orders(count=23, seed=3, marketplace="US", status="Unshipped", lines=2,
                                        created_at=ago(hours=2)))
    orders = client(sandbox, Orders, version="2026-01-01")
    seen, pages = [], 0
    first_page = {"createdAfter": ago(hours=3), "maxResultsPerPage": 10,
                  "includedData": ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT"]}
    response = orders.search_orders(**first_page)
    while True:
        pages += 1
        seen.extend(o["orderId"] for o in response.payload["orders"])
        token = response.next_token  # sp_api lifts "pagination" out of the payload
        if not token:
            break
        # Amazon's Pagination rule: the same parameters as the first page, plus the token.
        response = orders.search_orders(**first_page, paginationToken=token)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == created

    order_id = seen[0]
    order = orders.get_order(order_id, includedData=["PROCEEDS", "FULFILLMENT"]).payload["order"]
    assert order["orderId"] == order_id
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert order["proceeds"]["grandTotal"]["currencyCode"] == "USD"

    sent = sandbox.requests(operation="searchOrders")
    assert len(sent) == 3
    assert "paginationToken=" in sent[-1]["query"]
    assert sandbox.requests(operation="lwaToken")[0]["status"] == 200


def test_confirm_shipment_with_the_library(sandbox):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-001", "qty": 2},
                                              {"sku": "SANDBOX-SKU-002", "qty": 1}])
    v0 = client(sandbox, OrdersV0)
    items = v0.get_order_items(order_id).payload["OrderItems"]
    first = items[0]["OrderItemId"]
    v0.confirm_shipment(order_id, marketplaceId=Marketplaces.US.marketplace_id, packageDetail={
        "packageReferenceId": "1", "carrierCode": "UPS", "shippingMethod": "Ground", "trackingNumber": "1Z999",
        "shipDate": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "orderItems": [{"orderItemId": first, "quantity": 2}]})
    assert v0.get_order(order_id).payload["OrderStatus"] == "PartiallyShipped"

    with pytest.raises(SellingApiBadRequestException) as refused:
        v0.confirm_shipment(order_id, marketplaceId=Marketplaces.US.marketplace_id, packageDetail={
            "packageReferenceId": "2", "carrierCode": "UPS", "trackingNumber": "1Z998", "shipDate": ago(minutes=1),
            "orderItems": [{"orderItemId": first, "quantity": 1}]})
    assert "exceeds the unshipped quantity" in refused.value.error[0]["message"]
    [recorded] = [r for r in sandbox.requests(operation="confirmShipment") if r["status"] == 204]
    assert '"packageReferenceId": "1"' in recorded["body"]


def test_cancellation_feed_from_upload_to_processing_report(sandbox):
    sandbox.configure(feed_processing_seconds=60)  # 1 real second at time scale 60
    unshipped, shipped = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped")
    sandbox.set_status(shipped, "Shipped")
    items = {o: sandbox.order(o)["items"][0]["orderItemId"] for o in (unshipped, shipped)}
    messages = "".join(
        f"<Message><MessageID>{n}</MessageID><OrderAcknowledgement><AmazonOrderID>{o}</AmazonOrderID>"
        f"<StatusCode>Failure</StatusCode><Item><AmazonOrderItemCode>{items[o]}</AmazonOrderItemCode>"
        f"<CancelReason>NoInventory</CancelReason></Item></OrderAcknowledgement></Message>"
        for n, o in enumerate((unshipped, shipped), start=1))
    xml = ('<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
           f"<MerchantIdentifier>{sandbox.credentials['seller_id']}</MerchantIdentifier></Header>"
           f"<MessageType>OrderAcknowledgement</MessageType>{messages}</AmazonEnvelope>")
    feeds = client(sandbox, Feeds)
    _document, created = feeds.submit_feed("POST_ORDER_ACKNOWLEDGEMENT_DATA", io.BytesIO(xml.encode()),
                                           content_type="text/xml; charset=UTF-8")
    feed_id = created.payload["feedId"]
    assert feeds.get_feed(feed_id).payload["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
    sandbox.advance_clock(sandbox.config()["feed_processing_seconds"])
    feed = wait_for(lambda: (f := feeds.get_feed(feed_id).payload)["processingStatus"] == "DONE" and f)
    report = feeds.get_feed_result_document(feed["resultFeedDocumentId"])
    assert "<MessagesProcessed>2</MessagesProcessed>" in report
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert "<MessagesWithError>1</MessagesWithError>" in report
    assert f"<AmazonOrderID>{shipped}</AmazonOrderID>" in report
    assert sandbox.order(unshipped)["status"] == "Canceled"
    assert sandbox.order(shipped)["status"] == "Shipped"
    uploads = sandbox.requests(operation="s3Put")
    assert uploads and "<OrderAcknowledgement>" in uploads[0]["body"]


def test_bad_parameters_surface_as_library_errors(sandbox):
    orders = client(sandbox, Orders, version="2026-01-01")
    with pytest.raises(SellingApiBadRequestException) as refused:
        orders.search_orders(createdAfter=ago(hours=1), lastUpdatedAfter=ago(hours=1))
    assert refused.value.error[0]["code"] == "InvalidInput"
