"""Feeds 2021-06-30: documents with pre-signed URLs, asynchronous processing, effects on orders, reports."""

from __future__ import annotations

import gzip

import httpx
import pytest

from .helpers import api, processed, wait_for

US = "ATVPDKIKX0DER"


@pytest.fixture
def client(sandbox):
    sandbox.configure(rate_limits=False, feed_processing_seconds=30)  # half a real second at time scale 60
    return api(sandbox)


def envelope(sandbox, message_type: str, bodies: list[str]) -> str:
    messages = "".join(f"<Message><MessageID>{n}</MessageID>{body}</Message>" for n, body in enumerate(bodies, 1))
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd"><Header><DocumentVersion>1.01</DocumentVersion>'
            f"<MerchantIdentifier>{sandbox.credentials['seller_id']}</MerchantIdentifier></Header>"
            f"<MessageType>{message_type}</MessageType>{messages}</AmazonEnvelope>")


def submit(client, feed_type: str, content: str | bytes) -> str:
    document = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml; charset=UTF-8"})
    assert document.status_code == 201
    upload = httpx.put(document.json()["url"], content=content if isinstance(content, bytes) else content.encode())
    assert upload.status_code == 200
    feed = client.post("/feeds/2021-06-30/feeds", json={"feedType": feed_type, "marketplaceIds": [US],
                                                        "inputFeedDocumentId": document.json()["feedDocumentId"]})
    assert feed.status_code == 202
    return feed.json()["feedId"]


def finished(client, feed_id: str) -> tuple[dict, str]:
    processed(client, "feed_processing_seconds")
    feed = wait_for(lambda: (f := client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json())["processingStatus"]
                    in ("DONE", "FATAL") and f)
    document = client.get(f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    assert document["compressionAlgorithm"] == "GZIP"
    report = gzip.decompress(httpx.get(document["url"]).content).decode()
    return feed, report


def test_feed_goes_through_queue_and_progress_to_done(sandbox, client):
    sandbox.configure(feed_processing_seconds=120)  # 2 real seconds
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
    feed_id = submit(client, "POST_ORDER_ACKNOWLEDGEMENT_DATA", envelope(sandbox, "OrderAcknowledgement", [
        f"<OrderAcknowledgement><AmazonOrderID>{order_id}</AmazonOrderID><MerchantOrderID>100000042</MerchantOrderID>"
        "<StatusCode>Success</StatusCode></OrderAcknowledgement>"]))
    statuses = [client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"]]
    assert statuses[0] == "IN_QUEUE"
    for _ in range(2):
        sandbox.advance_clock(60)  # half of the processing time: IN_QUEUE → IN_PROGRESS, then → DONE
        statuses.append(client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"])
    assert "IN_PROGRESS" in statuses
    feed, report = finished(client, feed_id)
    assert feed["processingStartTime"] and feed["processingEndTime"]
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    v2026 = client.get(f"/orders/2026-01-01/orders/{order_id}").json()["order"]
    assert v2026["orderAliases"] == [{"aliasId": "100000042", "aliasType": "SELLER_ORDER_ID"}]


def test_adjustment_feed_records_refunds_and_refuses_more_than_paid(sandbox, client):
    shipped, unshipped = sandbox.create_orders(count=2, marketplace="DE", fulfillment="MFN", status="Unshipped",
                                               promotion=False, items=[{"sku": "SANDBOX-SKU-010", "qty": 1,
                                                                        "price": "20.00", "tax": "3.80"}])
    sandbox.set_status(shipped, "Shipped")
    item = {o: sandbox.order(o)["items"][0]["orderItemId"] for o in (shipped, unshipped)}

    def adjustment(order_id, principal, tax="0.00", currency="EUR", reason="CustomerReturn"):
        return (f"<OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID><AdjustedItem>"
                f"<AmazonOrderItemCode>{item[order_id]}</AmazonOrderItemCode><AdjustmentReason>{reason}"
                "</AdjustmentReason><ItemPriceAdjustments>"
                f'<Component><Type>Principal</Type><Amount currency="{currency}">{principal}</Amount></Component>'
                f'<Component><Type>Tax</Type><Amount currency="{currency}">{tax}</Amount></Component>'
                "</ItemPriceAdjustments></AdjustedItem></OrderAdjustment>")

    feed_id = submit(client, "POST_PAYMENT_ADJUSTMENT_DATA", envelope(sandbox, "OrderAdjustment", [
        adjustment(shipped, "15.00", "2.85"),
        adjustment(shipped, "5.01"),  # 15.00 + 5.01 > 20.00
        adjustment(unshipped, "1.00"),
        adjustment(shipped, "1.00", currency="USD"),
        adjustment(shipped, "1.00", reason="BecauseISaidSo"),
    ]))
    feed, report = finished(client, feed_id)
    assert feed["processingStatus"] == "DONE"
    assert "<MessagesProcessed>5</MessagesProcessed>" in report
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert "<MessagesWithError>4</MessagesWithError>" in report
    assert "exceeds the amount paid" in report and "Currency USD" in report and "only shipped orders" in report
    assert sandbox.order(shipped)["items"][0]["refunded"] == {"Principal": "15.00", "Tax": "2.85"}
    assert sandbox.order(unshipped)["items"][0]["refunded"] == {}


def test_fulfillment_feed_ships(sandbox, client):
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                       items=[{"sku": "SANDBOX-SKU-001", "qty": 2}])
    code = sandbox.order(order_id)["items"][0]["orderItemId"]
    feed_id = submit(client, "POST_ORDER_FULFILLMENT_DATA", envelope(sandbox, "OrderFulfillment", [
        f"<OrderFulfillment><AmazonOrderID>{order_id}</AmazonOrderID><FulfillmentDate>2026-11-26T10:00:00Z"
        "</FulfillmentDate><FulfillmentData><CarrierCode>DHL</CarrierCode><ShippingMethod>Paket</ShippingMethod>"
        "<ShipperTrackingNumber>JD0123</ShipperTrackingNumber></FulfillmentData><Item>"
        f"<AmazonOrderItemCode>{code}</AmazonOrderItemCode><Quantity>2</Quantity></Item></OrderFulfillment>"]))
    _feed, report = finished(client, feed_id)
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    order = sandbox.order(order_id)
    assert order["status"] == "Shipped"
    assert order["packages"][0]["trackingNumber"] == "JD0123"


@pytest.mark.parametrize("content, feed_type", [
    ("<AmazonEnvelope><Message>", "POST_ORDER_ACKNOWLEDGEMENT_DATA"),
    ("not xml at all", "POST_ORDER_ACKNOWLEDGEMENT_DATA"),
    ("<AmazonEnvelope><MessageType>OrderAdjustment</MessageType></AmazonEnvelope>", "POST_ORDER_ACKNOWLEDGEMENT_DATA"),
    ("<AmazonEnvelope><MessageType>Whatever</MessageType></AmazonEnvelope>", "POST_PRODUCT_DATA"),
])
def test_malformed_or_mismatched_feeds_are_fatal(sandbox, client, content, feed_type):
    feed, report = finished(client, submit(client, feed_type, content))
    assert feed["processingStatus"] == "FATAL"
    assert "<ResultCode>Error</ResultCode>" in report


def test_cancel_feed_only_while_queued(sandbox, client):
    sandbox.configure(feed_processing_seconds=3600)
    feed_id = submit(client, "POST_ORDER_ACKNOWLEDGEMENT_DATA", envelope(sandbox, "OrderAcknowledgement", []))
    assert client.delete(f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 200
    assert client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "CANCELLED"
    again = client.delete(f"/feeds/2021-06-30/feeds/{feed_id}")
    assert again.status_code == 400
    assert client.delete("/feeds/2021-06-30/feeds/123").status_code == 404


def test_get_feeds_filters_and_pages(sandbox, client):
    sandbox.configure(feed_processing_seconds=3600)
    ids = [submit(client, "POST_ORDER_ACKNOWLEDGEMENT_DATA", envelope(sandbox, "OrderAcknowledgement", []))
           for _ in range(3)]
    other = submit(client, "POST_PAYMENT_ADJUSTMENT_DATA", envelope(sandbox, "OrderAdjustment", []))
    page = client.get("/feeds/2021-06-30/feeds", params={"feedTypes": "POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                                         "pageSize": 2}).json()
    assert len(page["feeds"]) == 2
    rest = client.get("/feeds/2021-06-30/feeds", params={"nextToken": page["nextToken"]}).json()
    assert sorted(f["feedId"] for f in page["feeds"] + rest["feeds"]) == sorted(ids)
    assert "nextToken" not in rest
    both = client.get("/feeds/2021-06-30/feeds", params={
        "feedTypes": "POST_ORDER_ACKNOWLEDGEMENT_DATA,POST_PAYMENT_ADJUSTMENT_DATA", "processingStatuses": "IN_QUEUE",
        "pageSize": 10}).json()
    assert other in {f["feedId"] for f in both["feeds"]} and len(both["feeds"]) == 4
    assert client.get("/feeds/2021-06-30/feeds").status_code == 400


def test_create_feed_validation(sandbox, client):
    document = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()
    assert client.post("/feeds/2021-06-30/documents", json={}).status_code == 400
    for body in ({"marketplaceIds": [US], "inputFeedDocumentId": document["feedDocumentId"]},
                 {"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "inputFeedDocumentId": document["feedDocumentId"]},
                 {"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": [US]},
                 {"feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": [US], "inputFeedDocumentId": "x"}):
        response = client.post("/feeds/2021-06-30/feeds", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "InvalidInput"
    # never uploaded: accepted, then FATAL
    feed_id = client.post("/feeds/2021-06-30/feeds", json={
        "feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"]}).json()["feedId"]
    feed, report = finished(client, feed_id)
    assert feed["processingStatus"] == "FATAL" and "never uploaded" in report


def test_upload_urls_are_signed_and_expire(sandbox, client):
    sandbox.configure(upload_url_ttl_seconds=12)  # 0.2 real second at time scale 60
    url = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()["url"]
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert httpx.put(tampered, content=b"<x/>").status_code == 403
    sandbox.advance_clock(90)  # 1.5 real seconds: the URL's date has whole seconds, so past the next second as well
    expired = httpx.put(url, content=b"<x/>")
    assert expired.status_code == 403 and "expired" in expired.text


# ---- strict rules: each refused when broken, accepted when right ------------------------------------------------

ACK = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
ADJUSTMENT = "POST_PAYMENT_ADJUSTMENT_DATA"
FULFILLMENT = "POST_ORDER_FULFILLMENT_DATA"


def acknowledgement(order_id: str, item: str, reason: str) -> str:
    return (f"<OrderAcknowledgement><AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>Failure</StatusCode>"
            f"<Item><AmazonOrderItemCode>{item}</AmazonOrderItemCode><CancelReason>{reason}</CancelReason></Item>"
            "</OrderAcknowledgement>")


def refund(order_id: str, item: str, components: dict[str, str], currency: str) -> str:
    parts = "".join(f'<Component><Type>{name}</Type><Amount currency="{currency}">{amount}</Amount></Component>'
                    for name, amount in components.items())
    return (f"<OrderAdjustment><AmazonOrderID>{order_id}</AmazonOrderID><AdjustedItem>"
            f"<AmazonOrderItemCode>{item}</AmazonOrderItemCode><AdjustmentReason>CustomerReturn</AdjustmentReason>"
            f"<ItemPriceAdjustments>{parts}</ItemPriceAdjustments></AdjustedItem></OrderAdjustment>")


def shipped_order(sandbox, marketplace="US", status="Shipped", **item) -> tuple[str, str]:
    line = {"sku": "SANDBOX-SKU-010", "qty": 2, **item}
    [order_id] = sandbox.create_orders(count=1, marketplace=marketplace, fulfillment="MFN", status="Unshipped",
                                       promotion=False, replacement=False, items=[line])
    if status != "Unshipped":
        sandbox.set_status(order_id, status)
    return order_id, sandbox.order(order_id)["items"][0]["orderItemId"]


def results(report: str) -> tuple[int, int]:
    """(MessagesSuccessful, MessagesWithError) of a processing report."""
    def number(tag):
        return int(report.split(f"<{tag}>")[1].split("<")[0])
    return number("MessagesSuccessful"), number("MessagesWithError")


@pytest.mark.parametrize("feed_type, right, wrong", [
    (ACK, "OrderAcknowledgement", "OrderAdjustment"),
    (ADJUSTMENT, "OrderAdjustment", "OrderFulfillment"),
    (FULFILLMENT, "OrderFulfillment", "OrderAcknowledgement"),
])
def test_message_type_must_fit_the_feed_type(sandbox, client, feed_type, right, wrong):
    refused, report = finished(client, submit(client, feed_type, envelope(sandbox, wrong, [])))
    assert refused["processingStatus"] == "FATAL"
    assert f"does not match feed type {feed_type}" in report
    accepted, report = finished(client, submit(client, feed_type, envelope(sandbox, right, [])))
    assert accepted["processingStatus"] == "DONE" and results(report) == (0, 0)


def test_a_message_body_of_another_type_is_an_error(sandbox, client):
    order_id, item = shipped_order(sandbox, status="Unshipped")
    body = acknowledgement(order_id, item, "NoInventory")
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", [body])))
    assert results(report) == (0, 1) and "has no OrderAdjustment element" in report
    assert sandbox.order(order_id)["status"] == "Unshipped"


def test_cancel_reason_must_be_one_of_amazons(sandbox, client):
    order_id, item = shipped_order(sandbox, status="Unshipped")
    _feed, report = finished(client, submit(client, ACK, envelope(sandbox, "OrderAcknowledgement", [
        acknowledgement(order_id, item, "OutOfStock")])))
    assert results(report) == (0, 1) and "CancelReason 'OutOfStock' is not valid" in report
    assert sandbox.order(order_id)["status"] == "Unshipped"
    _feed, report = finished(client, submit(client, ACK, envelope(sandbox, "OrderAcknowledgement", [
        acknowledgement(order_id, item, "NoInventory")])))
    assert results(report) == (1, 0)
    assert sandbox.order(order_id)["status"] == "Canceled"


def test_refund_never_above_the_items_remaining_proceeds_across_feeds(sandbox, client):
    order_id, item = shipped_order(sandbox, price="10.00", tax="1.90", shipping="4.00", shipping_tax="0.76")
    first = refund(order_id, item, {"Principal": "15.00", "Tax": "1.90", "Shipping": "4.00"}, "USD")
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", [first])))
    assert results(report) == (1, 0)
    # what was refunded by the first feed counts: 5.00 of Principal is left, no Tax, no Shipping
    over = [refund(order_id, item, {"Principal": "5.01"}, "USD"),
            refund(order_id, item, {"Tax": "0.01"}, "USD"),
            refund(order_id, item, {"Shipping": "0.01"}, "USD"),
            refund(order_id, item, {"ShippingTax": "0.77"}, "USD")]
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", over)))
    assert results(report) == (0, 4) and report.count("less what was already refunded") == 4
    rest = refund(order_id, item, {"Principal": "5.00", "ShippingTax": "0.76"}, "USD")
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", [rest])))
    assert results(report) == (1, 0)
    assert sandbox.order(order_id)["items"][0]["refunded"] == {"Principal": "20.00", "Tax": "1.90",
                                                               "Shipping": "4.00", "ShippingTax": "0.76"}


@pytest.mark.parametrize("status, accepted", [
    ("Unshipped", False), ("Canceled", False), ("PartiallyShipped", True), ("Shipped", True)])
def test_refund_only_on_a_shipped_order(sandbox, client, status, accepted):
    order_id, item = shipped_order(sandbox, status=status, price="10.00")
    body = refund(order_id, item, {"Principal": "1.00"}, "USD")
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", [body])))
    assert results(report) == ((1, 0) if accepted else (0, 1))
    assert sandbox.order(order_id)["items"][0]["refunded"] == ({"Principal": "1.00"} if accepted else {})


@pytest.mark.parametrize("amount, currency, error", [
    ("100.5", "JPY", "too many decimals for JPY"),
    ("100.00", "JPY", "too many decimals for JPY"),
    ("100", "USD", "Currency USD does not match the order currency JPY"),
    ("1e2", "JPY", "is not a decimal number"),
    (" ", "JPY", "is not a decimal number"),
    ("100", "JPY", None),
])
def test_refund_in_the_orders_currency_and_decimals(sandbox, client, amount, currency, error):
    order_id, item = shipped_order(sandbox, marketplace="JP", price="1500")
    body = refund(order_id, item, {"Principal": amount}, currency)
    _feed, report = finished(client, submit(client, ADJUSTMENT, envelope(sandbox, "OrderAdjustment", [body])))
    if error:
        assert results(report) == (0, 1) and error in report
        assert sandbox.order(order_id)["items"][0]["refunded"] == {}
    else:
        assert results(report) == (1, 0), report
        assert sandbox.order(order_id)["items"][0]["refunded"] == {"Principal": "100"}


def test_message_ids_are_positive_and_unique(sandbox, client):
    order_id, item = shipped_order(sandbox, price="10.00")
    body = refund(order_id, item, {"Principal": "1.00"}, "USD")
    messages = "".join(f"<Message><MessageID>{n}</MessageID>{body}</Message>" for n in ("1", "1", "x", "2"))
    content = envelope(sandbox, "OrderAdjustment", []).replace("</AmazonEnvelope>", messages + "</AmazonEnvelope>")
    _feed, report = finished(client, submit(client, ADJUSTMENT, content))
    assert results(report) == (2, 2)
    assert "used by another message" in report and "MessageID 'x' is not a positive integer" in report
    assert sandbox.order(order_id)["items"][0]["refunded"] == {"Principal": "2.00"}


def test_processing_takes_the_configured_sandbox_time(sandbox, client):
    sandbox.configure(feed_processing_seconds=600)  # 10 real seconds at time scale 60
    feed_id = submit(client, ACK, envelope(sandbox, "OrderAcknowledgement", []))
    feed = client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "IN_QUEUE" and "resultFeedDocumentId" not in feed
    sandbox.configure(time_scale=600)  # the same 600 sandbox seconds now last one real second
    feed = wait_for(lambda: (f := client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json())["processingStatus"]
                    == "DONE" and f)
    assert feed["resultFeedDocumentId"]


def test_get_feeds_input_rules(sandbox, client):
    sandbox.configure(feed_processing_seconds=3600)
    for _ in range(2):
        submit(client, ACK, envelope(sandbox, "OrderAcknowledgement", []))
    url = "/feeds/2021-06-30/feeds"
    first = client.get(url, params={"feedTypes": ACK, "pageSize": 1})
    assert first.status_code == 200 and first.json()["nextToken"]
    token = first.json()["nextToken"]
    refused = {
        "token with other parameters": {"nextToken": token, "feedTypes": ACK},
        "token with page size": {"nextToken": token, "pageSize": 1},
        "no feed types": {"pageSize": 10},
        "empty feed types": {"feedTypes": ""},
        "eleven feed types": {"feedTypes": ",".join(f"TYPE_{n}" for n in range(11))},
        "eleven marketplaces": {"feedTypes": ACK, "marketplaceIds": ",".join([US] * 11)},
        "empty statuses": {"feedTypes": ACK, "processingStatuses": ""},
        "unknown status": {"feedTypes": ACK, "processingStatuses": "BAD_VALUE,DONE"},
        "page size 0": {"feedTypes": ACK, "pageSize": 0},
        "page size 101": {"feedTypes": ACK, "pageSize": 101},
        "page size not a number": {"feedTypes": ACK, "pageSize": "ten"},
        "since not a date": {"feedTypes": ACK, "createdSince": "yesterday"},
        "since after until": {"feedTypes": ACK, "createdSince": "2026-11-02T00:00:00Z",
                              "createdUntil": "2026-11-01T00:00:00Z"},
    }
    for name, params in refused.items():
        response = client.get(url, params=params)
        assert response.status_code == 400, name
        assert response.json()["errors"][0]["code"] == "InvalidInput", name
    assert len(client.get(url, params={"nextToken": token}).json()["feeds"]) == 1
    accepted = client.get(url, params={"feedTypes": ACK, "marketplaceIds": US, "processingStatuses": "IN_QUEUE",
                                       "pageSize": 100, "createdSince": "2026-01-01T00:00:00Z"})
    assert accepted.status_code == 200 and len(accepted.json()["feeds"]) == 2


def test_create_feed_and_document_input_rules(sandbox, client):
    document_id = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()["feedDocumentId"]
    for body in ({"contentType": 5}, {"contentType": " "}, []):
        assert client.post("/feeds/2021-06-30/documents", json=body).status_code == 400
    good = {"feedType": ACK, "marketplaceIds": [US], "inputFeedDocumentId": document_id}
    for name, change in {
        "feed type not a string": {"feedType": 1},
        "document id not a string": {"inputFeedDocumentId": 1},
        "marketplaces not a list": {"marketplaceIds": US},
        "marketplace not a string": {"marketplaceIds": [1]},
        "26 marketplaces": {"marketplaceIds": [US] * 26},
        "unknown marketplace": {"marketplaceIds": ["A1VC38T7YXB529"]},
        "options not strings": {"feedOptions": {"x": 1}},
        "options not an object": {"feedOptions": ["x"]},
    }.items():
        response = client.post("/feeds/2021-06-30/feeds", json={**good, **change})
        assert response.status_code == 400, name
        assert response.json()["errors"][0]["code"] == "InvalidInput", name
    created = client.post("/feeds/2021-06-30/feeds", json={**good, "feedOptions": {"any": "thing"}})
    assert created.status_code == 202 and created.json()["feedId"]


def test_get_feed_document_flag_is_a_boolean(sandbox, client):
    document_id = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()["feedDocumentId"]
    url = f"/feeds/2021-06-30/documents/{document_id}"
    assert client.get(url, params={"enableContentEncodingUrlHeader": "yes"}).status_code == 400
    assert client.get(url, params={"enableContentEncodingUrlHeader": "true"}).status_code == 200
    assert client.get(url).status_code == 200
