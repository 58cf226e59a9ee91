"""The XML of the Orders feeds we send (cancellation, payment adjustment) and of the ProcessingReport we read back.

DESIGN.md §5: ``AmazonEnvelope / Header (DocumentVersion, MerchantIdentifier) / MessageType / Message (MessageID,
body)``. Documents are built with ``xml.etree`` (so every value is escaped) and Amazon's reports are parsed with
``defusedxml`` (they come from the network: no entity expansion, no external entities).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - only used to BUILD documents; parsing goes through defusedxml
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from saleschannel.core.money import quantum

ORDER_ACKNOWLEDGEMENT = "POST_ORDER_ACKNOWLEDGEMENT_DATA"
PAYMENT_ADJUSTMENT = "POST_PAYMENT_ADJUSTMENT_DATA"

# Amazon's reasons for a seller cancellation (OrderAcknowledgement/Item/CancelReason).
CANCEL_REASONS = (
    "NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled", "GeneralAdjustment",
    "CarrierCreditDecision", "RiskAssessmentInformationNotValid", "CarrierCoverageFailure", "CustomerReturn",
    "MerchandiseNotReceived",
)
# Amazon's reasons for a refund (OrderAdjustment/AdjustedItem/AdjustmentReason).
ADJUSTMENT_REASONS = (
    "NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem", "Abandoned",
    "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect", "Exchange", "Other",
    "CarrierCreditDecision", "RiskAssessmentInformationNotValid", "CarrierCoverageFailure", "TransactionRecord",
    "Undeliverable", "RefusedDelivery",
)
# Refund components, in the order Amazon's schema lists them.
COMPONENTS = ("Principal", "Shipping", "Tax", "ShippingTax")


class ReportError(Exception):
    """The processing report could not be read."""


def _envelope(merchant_id: str, message_type: str) -> ET.Element:
    root = ET.Element("AmazonEnvelope", {
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd",
    })
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.01"
    ET.SubElement(header, "MerchantIdentifier").text = merchant_id
    ET.SubElement(root, "MessageType").text = message_type
    return root


def _bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def format_amount(amount: Decimal, currency: str) -> str:
    """An amount with the currency's decimals (JPY has none), as Amazon expects it in a feed."""
    return str(Decimal(amount).quantize(quantum(currency)))


def cancellation_feed(*, merchant_id: str, amazon_order_id: str, item_codes: Iterable[str], reason: str,
                      message_id: int = 1) -> bytes:
    """OrderAcknowledgement with StatusCode Failure: cancel an unshipped order, the reason on every item."""
    if reason not in CANCEL_REASONS:
        raise ValueError(f"unknown cancel reason {reason!r}")
    root = _envelope(merchant_id, "OrderAcknowledgement")
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = str(message_id)
    body = ET.SubElement(message, "OrderAcknowledgement")
    ET.SubElement(body, "AmazonOrderID").text = amazon_order_id
    ET.SubElement(body, "StatusCode").text = "Failure"
    for code in item_codes:
        item = ET.SubElement(body, "Item")
        ET.SubElement(item, "AmazonOrderItemCode").text = code
        ET.SubElement(item, "CancelReason").text = reason
    return _bytes(root)


@dataclass
class AdjustedLine:
    item_code: str
    reason: str
    amounts: dict[str, Decimal] = field(default_factory=dict)  # component → amount (positive = refunded)


def adjustment_feed(*, merchant_id: str, amazon_order_id: str, currency: str, lines: Iterable[AdjustedLine],
                    message_id: int = 1) -> bytes:
    """OrderAdjustment: one AdjustedItem per refunded line, its components in the order currency."""
    root = _envelope(merchant_id, "OrderAdjustment")
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = str(message_id)
    body = ET.SubElement(message, "OrderAdjustment")
    ET.SubElement(body, "AmazonOrderID").text = amazon_order_id
    count = 0
    for line in lines:
        if line.reason not in ADJUSTMENT_REASONS:
            raise ValueError(f"unknown adjustment reason {line.reason!r}")
        components = [(name, line.amounts[name]) for name in COMPONENTS if line.amounts.get(name)]
        if not components:
            continue
        adjusted = ET.SubElement(body, "AdjustedItem")
        ET.SubElement(adjusted, "AmazonOrderItemCode").text = line.item_code
        ET.SubElement(adjusted, "AdjustmentReason").text = line.reason
        prices = ET.SubElement(adjusted, "ItemPriceAdjustments")
        for name, amount in components:
            component = ET.SubElement(prices, "Component")
            ET.SubElement(component, "Type").text = name
            ET.SubElement(component, "Amount", {"currency": currency}).text = format_amount(amount, currency)
        count += 1
    if not count:
        raise ValueError("an adjustment feed needs at least one line with an amount")
    return _bytes(root)


# --- Processing report ---------------------------------------------------------------------------------------


@dataclass
class ReportResult:
    message_id: int
    result_code: str  # Error or Warning
    message_code: str
    description: str
    amazon_order_id: str = ""

    @property
    def is_error(self) -> bool:
        return self.result_code.lower() == "error"


@dataclass
class ProcessingReport:
    status_code: str = ""
    processed: int = 0
    successful: int = 0
    with_error: int = 0
    with_warning: int = 0
    results: list[ReportResult] = field(default_factory=list)

    def for_message(self, message_id: int) -> list[ReportResult]:
        """Results about one message; a result with MessageID 0 concerns the whole feed."""
        return [r for r in self.results if r.message_id in (message_id, 0)]

    def as_dict(self) -> dict:
        return {
            "status_code": self.status_code, "processed": self.processed, "successful": self.successful,
            "with_error": self.with_error, "with_warning": self.with_warning,
            "results": [{"message_id": r.message_id, "result_code": r.result_code, "message_code": r.message_code,
                         "description": r.description, "amazon_order_id": r.amazon_order_id}
                        for r in self.results],
        }


def _local(tag) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else tag


def _child_text(element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _int(text: str) -> int:
    return int(text) if text.strip().lstrip("-").isdigit() else 0


def parse_processing_report(content: bytes) -> ProcessingReport:
    """Read Amazon's ProcessingReport (namespaces ignored). Raises ReportError when it is not one."""
    try:
        root = SafeET.fromstring(content)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as error:
        raise ReportError(f"The processing report is not readable XML ({type(error).__name__}).") from None
    report_element = next((e for e in root.iter() if _local(e.tag) == "ProcessingReport"), None)
    if report_element is None:
        raise ReportError("The document is not a processing report.")
    report = ProcessingReport(status_code=_child_text(report_element, "StatusCode"))
    summary = next((e for e in report_element if _local(e.tag) == "ProcessingSummary"), None)
    if summary is not None:
        report.processed = _int(_child_text(summary, "MessagesProcessed"))
        report.successful = _int(_child_text(summary, "MessagesSuccessful"))
        report.with_error = _int(_child_text(summary, "MessagesWithError"))
        report.with_warning = _int(_child_text(summary, "MessagesWithWarning"))
    for result in (e for e in report_element if _local(e.tag) == "Result"):
        info = next((e for e in result if _local(e.tag) == "AdditionalInfo"), None)
        report.results.append(ReportResult(
            message_id=_int(_child_text(result, "MessageID")),
            result_code=_child_text(result, "ResultCode"),
            message_code=_child_text(result, "ResultMessageCode"),
            description=_child_text(result, "ResultDescription"),
            amazon_order_id=_child_text(info, "AmazonOrderID") if info is not None else "",
        ))
    return report
