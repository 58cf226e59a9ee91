"""Feed documents we send and processing reports we read (no network)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from saleschannel.amazon import delivery, feeds, outbox, refunds


def test_cancellation_feed_has_failure_and_the_reason_on_every_item():
    xml = feeds.cancellation_feed(merchant_id="A1SELLER", amazon_order_id="111-1234567-7654321",
                                  item_codes=["11", "22"], reason="NoInventory")
    root = ET.fromstring(xml)
    assert root.tag == "AmazonEnvelope"
    assert root.findtext("Header/DocumentVersion") == "1.01"
    assert root.findtext("Header/MerchantIdentifier") == "A1SELLER"
    assert root.findtext("MessageType") == "OrderAcknowledgement"
    body = root.find("Message/OrderAcknowledgement")
    assert root.findtext("Message/MessageID") == "1"
    assert body.findtext("AmazonOrderID") == "111-1234567-7654321"
    assert body.findtext("StatusCode") == "Failure"
    assert [(i.findtext("AmazonOrderItemCode"), i.findtext("CancelReason")) for i in body.findall("Item")] == [
        ("11", "NoInventory"), ("22", "NoInventory")]
    with pytest.raises(ValueError):
        feeds.cancellation_feed(merchant_id="A", amazon_order_id="1", item_codes=["1"], reason="Whatever")


def test_adjustment_feed_lists_components_in_the_order_currency():
    xml = feeds.adjustment_feed(merchant_id="A1<&>", amazon_order_id="503-1-2", currency="JPY", lines=[
        feeds.AdjustedLine("11", "CustomerReturn", {"Principal": Decimal("1500"), "Tax": Decimal("150"),
                                                    "Shipping": Decimal("0")}),
        feeds.AdjustedLine("22", "CustomerReturn", {}),  # nothing to refund: left out
    ])
    root = ET.fromstring(xml)
    assert root.findtext("Header/MerchantIdentifier") == "A1<&>"  # escaped, not injected
    (item,) = root.findall("Message/OrderAdjustment/AdjustedItem")
    assert item.findtext("AdjustmentReason") == "CustomerReturn"
    components = [(c.findtext("Type"), c.find("Amount").text, c.find("Amount").get("currency"))
                  for c in item.findall("ItemPriceAdjustments/Component")]
    assert components == [("Principal", "1500", "JPY"), ("Tax", "150", "JPY")]
    with pytest.raises(ValueError):
        feeds.adjustment_feed(merchant_id="A", amazon_order_id="1", currency="USD",
                              lines=[feeds.AdjustedLine("1", "CustomerReturn", {"Principal": Decimal("0")})])


REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1</MerchantIdentifier></Header>
<MessageType>ProcessingReport</MessageType>
<Message><MessageID>1</MessageID><ProcessingReport>
<DocumentTransactionID>123</DocumentTransactionID><StatusCode>Complete</StatusCode>
<ProcessingSummary><MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>0</MessagesSuccessful>
<MessagesWithError>1</MessagesWithError><MessagesWithWarning>1</MessagesWithWarning></ProcessingSummary>
<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18019</ResultMessageCode>
<ResultDescription>Order has shipped items and cannot be canceled.</ResultDescription>
<AdditionalInfo><AmazonOrderID>111-1-2</AmazonOrderID></AdditionalInfo></Result>
<Result><MessageID>2</MessageID><ResultCode>Warning</ResultCode><ResultMessageCode>5000</ResultMessageCode>
<ResultDescription>Other message</ResultDescription></Result>
</ProcessingReport></Message></AmazonEnvelope>"""


def test_processing_report_is_read_with_results_per_message():
    report = feeds.parse_processing_report(REPORT)
    assert (report.status_code, report.processed, report.successful, report.with_error, report.with_warning) == (
        "Complete", 1, 0, 1, 1)
    (error,) = report.for_message(1)
    assert error.is_error and error.message_code == "18019" and error.amazon_order_id == "111-1-2"
    assert "cannot be canceled" in error.description
    assert report.as_dict()["results"][1]["result_code"] == "Warning"


def test_namespaced_report_is_read_too():
    namespaced = REPORT.replace(b"<AmazonEnvelope ", b'<AmazonEnvelope xmlns="urn:x" ')
    assert feeds.parse_processing_report(namespaced).with_error == 1


@pytest.mark.parametrize("content", [
    b"not xml at all",
    b"<AmazonEnvelope><MessageType>Other</MessageType></AmazonEnvelope>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    b"<r><ProcessingReport>&b;</ProcessingReport></r>",
])
def test_unreadable_or_hostile_reports_are_refused(content):
    with pytest.raises(feeds.ReportError):
        feeds.parse_processing_report(content)


def test_allocation_keeps_every_cent():
    shares = refunds.allocate(Decimal("10.00"), [Decimal("1"), Decimal("1"), Decimal("1")], Decimal("0.01"))
    assert sum(shares) == Decimal("10.00") and sorted(shares) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    assert refunds.allocate(Decimal("5"), [Decimal("0"), Decimal("0")], Decimal("1")) == [Decimal("5"), Decimal("0")]


def test_backoff_grows_with_jitter_and_is_capped():
    for attempt in range(1, 12):
        delay = delivery.backoff_seconds(attempt)
        ceiling = min(delivery.BACKOFF_CAP_SECONDS, delivery.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(delivery.backoff_seconds(5), 6) for _ in range(20)}) > 1


def test_carrier_mapping_covers_every_named_carrier():
    from saleschannel.sales.models import Carrier

    named = {code for code, _label in Carrier.choices if code != Carrier.CUSTOM}
    assert named == set(outbox.AMAZON_CARRIERS)


def test_goodwill_refund_alone_goes_to_the_first_item(db, store):
    from saleschannel.amazon.models import AmazonOrderStatus, OutboxKind, OutboxMessage, OutboxState
    from saleschannel.amazon.services import amazon_store_create
    from saleschannel.sales.services import creditmemo_create
    from tests.amazon.test_views import make_amazon_order

    amazon_store = amazon_store_create(name="S", seller_id="A1", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                                       client_id="c", client_secret="s", refresh_token="r")
    order = make_amazon_order(amazon_store, status=AmazonOrderStatus.SHIPPED)
    creditmemo_create(order=order.commerce_order, quantities={}, shipping_refund="0", adjustment_refund="5.00",
                      actor="tests")
    message = OutboxMessage.objects.get(amazon_order=order, kind=OutboxKind.REFUND)
    assert message.state == OutboxState.QUEUED
    assert message.payload["lines"] == [{"item_code": order.items.get().order_item_id, "reason": "CustomerReturn",
                                         "amounts": {"Principal": "5.00"}}]


def test_amounts_beyond_an_items_proceeds_move_where_there_is_room():
    D = Decimal
    room = {"A": {"Principal": D("10"), "Shipping": D("2"), "Tax": D("1"), "ShippingTax": D("0")},
            "B": {"Principal": D("5"), "Shipping": D("0"), "Tax": D("0"), "ShippingTax": D("0")}}
    amounts = {"A": {"Principal": D("14"), "Tax": D("1")}}
    refunds._fit_to_refundable(amounts, room)
    assert amounts == {"A": {"Principal": D("10"), "Tax": D("1")}, "B": {"Principal": D("4")}}  # Principal first
    # What fits nowhere stays on the first line, so the total still equals the credit memo (Amazon will refuse it).
    amounts = {"A": {"Principal": D("30")}}
    refunds._fit_to_refundable(amounts, room)
    assert sum(amounts["A"].values()) + sum(amounts["B"].values()) == D("30")
    assert amounts["A"]["Principal"] == D("10") + D("30") - D("10") - D("2") - D("1") - D("5")
