"""Feed processing: the XML feeds of the Orders family act on the sandbox's orders and yield a ProcessingReport."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET  # noqa: S405 - the feeds come from the local product; expat limits entity expansion
from collections.abc import Callable
from typing import Any

from . import orders
from .orders import OrderError
from .timeutil import parse_iso

FEED_MESSAGE_TYPES = {
    "POST_ORDER_ACKNOWLEDGEMENT_DATA": "OrderAcknowledgement",
    "POST_PAYMENT_ADJUSTMENT_DATA": "OrderAdjustment",
    "POST_ORDER_FULFILLMENT_DATA": "OrderFulfillment",
}
# Result message codes used by the sandbox (Amazon's own numbers for the same situations are not published).
CODE_INVALID = 18028  # the message's data is incomplete or invalid
CODE_UNKNOWN_ORDER = 18006
CODE_REFUSED = 18019  # the order cannot take this change in its current state
CODE_FATAL = 5001  # XML parsing fatal error


class FeedFatal(Exception):
    """The whole feed is rejected (processing status FATAL)."""


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    return found.text.strip() if found is not None and found.text else None


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]


def process(
    content: bytes,
    *,
    feed_type: str,
    merchant_id: str,
    load_order: Callable[[str], dict[str, Any] | None],
    save_order: Callable[[dict[str, Any]], None],
    now: int,
    rng: random.Random,
) -> tuple[str, bytes]:
    """Process a feed. Returns (processing status DONE or FATAL, the ProcessingReport XML)."""
    expected = FEED_MESSAGE_TYPES.get(feed_type)
    try:
        if expected is None:
            raise FeedFatal(f"Feed type {feed_type} is not supported by the sandbox.")
        try:
            root = ET.fromstring(content)  # noqa: S314 - see the import
        except ET.ParseError as exc:
            raise FeedFatal(f"XML Parsing Fatal Error: {exc}")
        _strip_namespaces(root)
        if root.tag != "AmazonEnvelope":
            raise FeedFatal(f"The root element must be AmazonEnvelope, not {root.tag}.")
        message_type = _text(root, "MessageType")
        if message_type != expected:
            raise FeedFatal(f"MessageType {message_type!r} does not match feed type {feed_type} "
                            f"(expected {expected}).")
    except FeedFatal as exc:
        return "FATAL", report(merchant_id, processed=0, successful=0,
                               results=[(0, "Error", CODE_FATAL, str(exc), None)], status_code="Complete")

    results = []
    messages = root.findall("Message")
    successful = 0
    seen_ids: set[int] = set()
    for message in messages:
        message_id_text = _text(message, "MessageID") or ""
        message_id = int(message_id_text) if message_id_text.isascii() and message_id_text.isdigit() else 0
        body = message.find(expected)
        order_id = _text(body, "AmazonOrderID")
        try:
            if message_id <= 0:
                raise OrderError(f"MessageID {message_id_text!r} is not a positive integer.", code=str(CODE_INVALID))
            if message_id in seen_ids:
                raise OrderError(f"MessageID {message_id} is used by another message of this feed.",
                                 code=str(CODE_INVALID))
            seen_ids.add(message_id)
            if body is None:
                raise OrderError(f"Message {message_id} has no {expected} element.", code=str(CODE_INVALID))
            if not order_id:
                raise OrderError("AmazonOrderID is required.", code=str(CODE_INVALID))
            doc = load_order(order_id)
            if doc is None:
                raise OrderError(f"Order {order_id} was not found for this merchant.", code=str(CODE_UNKNOWN_ORDER))
            _apply(expected, body, doc, now, rng)
            save_order(doc)
            successful += 1
        except OrderError as exc:
            code = int(exc.code) if exc.code.isdigit() else CODE_REFUSED
            results.append((message_id, "Error", code, exc.message, order_id))
    return "DONE", report(merchant_id, processed=len(messages), successful=successful, results=results)


def _apply(message_type: str, body: ET.Element, doc: dict[str, Any], now: int, rng: random.Random) -> None:
    if message_type == "OrderAcknowledgement":
        status_code = _text(body, "StatusCode")
        if not status_code:
            raise OrderError("StatusCode is required.", code=str(CODE_INVALID))
        items = [{"AmazonOrderItemCode": _text(i, "AmazonOrderItemCode"), "CancelReason": _text(i, "CancelReason")}
                 for i in body.findall("Item")]
        orders.acknowledge(doc, status_code=status_code, items=items, merchant_order_id=_text(body, "MerchantOrderID"),
                           now=now)
    elif message_type == "OrderAdjustment":
        adjusted = []
        for element in body.findall("AdjustedItem"):
            components = []
            for component in element.findall("ItemPriceAdjustments/Component"):
                amount = component.find("Amount")
                components.append((_text(component, "Type"), amount.text.strip() if amount is not None and amount.text
                                   else "", amount.get("currency") if amount is not None else None))
            adjusted.append({"AmazonOrderItemCode": _text(element, "AmazonOrderItemCode"),
                             "AdjustmentReason": _text(element, "AdjustmentReason"), "components": components})
        if not adjusted:
            raise OrderError("At least one AdjustedItem is required.", code=str(CODE_INVALID))
        orders.adjust(doc, adjusted_items=adjusted, now=now)
    else:  # OrderFulfillment
        date_text = _text(body, "FulfillmentDate")
        if not date_text:
            raise OrderError("FulfillmentDate is required.", code=str(CODE_INVALID))
        try:
            ship_ms = parse_iso(date_text)
        except ValueError:
            raise OrderError(f"FulfillmentDate {date_text!r} is not an ISO 8601 date-time.", code=str(CODE_INVALID))
        data = body.find("FulfillmentData")
        carrier = _text(data, "CarrierName") or _text(data, "CarrierCode")
        tracking = _text(data, "ShipperTrackingNumber")
        if not carrier or not tracking:
            raise OrderError("FulfillmentData needs CarrierCode or CarrierName and ShipperTrackingNumber.",
                             code=str(CODE_INVALID))
        lines = []
        for element in body.findall("Item"):
            quantity = _text(element, "Quantity")
            if quantity is not None and not quantity.isdigit():
                raise OrderError(f"Quantity {quantity!r} is not a positive integer.", code=str(CODE_INVALID))
            lines.append((_text(element, "AmazonOrderItemCode"), int(quantity) if quantity else None))
        orders.fulfill(doc, lines=lines, carrier=carrier, method=_text(data, "ShippingMethod") or "",
                       tracking=tracking, ship_ms=ship_ms, reference=_text(body, "MerchantFulfillmentID"), now=now,
                       rng=rng)


def report(merchant_id: str, *, processed: int, successful: int, results: list[tuple], status_code: str = "Complete",
           ) -> bytes:
    """Amazon's ProcessingReport envelope: a summary and one Result per failed message (built as a tree, so every
    text is escaped by the serializer, whatever a feed put in it)."""
    envelope = ET.Element("AmazonEnvelope", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                             "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
    header = ET.SubElement(envelope, "Header")
    _add_text(header, "DocumentVersion", "1.02")
    _add_text(header, "MerchantIdentifier", merchant_id)
    _add_text(envelope, "MessageType", "ProcessingReport")
    message = ET.SubElement(envelope, "Message")
    _add_text(message, "MessageID", 1)
    processing = ET.SubElement(message, "ProcessingReport")
    _add_text(processing, "DocumentTransactionID", rng_id())
    _add_text(processing, "StatusCode", status_code)
    summary = ET.SubElement(processing, "ProcessingSummary")
    _add_text(summary, "MessagesProcessed", processed)
    _add_text(summary, "MessagesSuccessful", successful)
    _add_text(summary, "MessagesWithError", sum(1 for r in results if r[1] == "Error"))
    _add_text(summary, "MessagesWithWarning", sum(1 for r in results if r[1] == "Warning"))
    for message_id, result_code, message_code, description, order_id in results:
        result = ET.SubElement(processing, "Result")
        _add_text(result, "MessageID", message_id)
        _add_text(result, "ResultCode", result_code)
        _add_text(result, "ResultMessageCode", message_code)
        _add_text(result, "ResultDescription", description)
        if order_id:
            _add_text(ET.SubElement(result, "AdditionalInfo"), "AmazonOrderID", order_id)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _add_text(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = str(value)
    return element


def rng_id() -> str:
    return str(random.SystemRandom().randrange(10**10, 10**11))
