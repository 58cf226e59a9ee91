"""What can happen to a sandbox order: Amazon's lifecycle, the seller's actions (SP-API and feeds), control actions.

Every function takes the order document, validates first and raises :class:`OrderError` without changing
anything, then changes the document in place and stamps ``lastUpdatedMs``.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

from . import catalog
from .generator import tracking_number
from .timeutil import iso, parse_iso

CANCEL_REASONS = ["NoInventory", "ShippingAddressUndeliverable", "CustomerExchange", "BuyerCanceled",
                  "GeneralAdjustment", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                  "CarrierCoverageFailure", "CustomerReturn", "MerchandiseNotReceived"]
ADJUSTMENT_REASONS = ["NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem",
                      "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect",
                      "Exchange", "Other", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
                      "CarrierCoverageFailure", "TransactionRecord", "Undeliverable", "RefusedDelivery"]
# Refundable components and the order amount each one is capped by.
ADJUSTMENT_COMPONENTS = {"Principal": "itemPrice", "Shipping": "shippingPrice", "Tax": "itemTax",
                         "ShippingTax": "shippingTax"}

ADJUSTMENT_DISCOUNTS = {"Principal": "promotionDiscount", "Shipping": "shippingDiscount"}
AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")  # xsd:decimal as Amazon's feeds write it (no exponent, no spaces)


class OrderError(Exception):
    """A refusal in Amazon's error format: HTTP status, error code, message."""

    def __init__(self, message: str, *, code: str = "InvalidInput", status: int = 400, details: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details


def unshipped(item: dict[str, Any]) -> int:
    return 0 if item.get("canceled") else item["qty"] - item["shipped"]


def _recompute_status(doc: dict[str, Any]) -> None:
    shipped = sum(i["shipped"] for i in doc["items"])
    remaining = sum(unshipped(i) for i in doc["items"])
    if remaining == 0 and shipped > 0:
        doc["status"] = "Shipped"
    elif shipped > 0:
        doc["status"] = "PartiallyShipped"


def _touch(doc: dict[str, Any], now: int) -> None:
    # lastUpdated only moves forward, even if a clock step or a backdated order says otherwise.
    doc["lastUpdatedMs"] = max(now, doc["lastUpdatedMs"] + 1)


MALFORMABLE = ("2026", "v0", "v0items")


def malform(doc: dict[str, Any], now: int, payload: dict[str, Any]) -> None:
    """Fault injection for one order: from now on the answers show ``value`` at ``path`` (dotted, list indexes as
    numbers: ``orderItems.0.quantityOrdered``; ``value`` null removes the field) in the rendering named by
    ``version`` (2026, v0 for getOrders/getOrder, v0items for getOrderItems). The order counts as updated.
    An empty ``path`` removes every malformation of that version."""
    version = str(payload.get("version") or "2026")
    if version not in MALFORMABLE:
        raise OrderError(f"version must be one of {', '.join(MALFORMABLE)}")
    path = str(payload.get("path") or "")
    changes = doc.setdefault("malformed", {}).setdefault(version, {})
    if path:
        changes[path] = payload.get("value")
    else:
        changes.clear()
    _touch(doc, now)


def become_paid(doc: dict[str, Any], now: int) -> None:
    """Payment verified: Pending → Unshipped (FBA: Amazon ships it, → Shipped)."""
    if doc["status"] != "Pending":
        return
    doc["pendingUntilMs"] = None
    if doc["channel"] == "AFN":
        for item in doc["items"]:
            item["shipped"] = item["qty"]
        doc["status"] = "Shipped"
    else:
        doc["status"] = "Unshipped"
    _touch(doc, now)


def set_status(doc: dict[str, Any], status: str, now: int, rng: random.Random) -> None:
    """Control action: force a status, keeping quantities and packages consistent with it."""
    doc["pendingUntilMs"] = None
    if status == "Shipped":
        if doc["status"] != "Shipped":
            _ship_remaining(doc, now, rng, carrier="UPS", method="Ground", tracking=None)
    elif status == "PartiallyShipped":
        if not any(i["shipped"] for i in doc["items"]):
            first = doc["items"][0]
            if first["qty"] == 1 and len(doc["items"]) == 1:
                raise OrderError("A single-unit order cannot be partially shipped.")
            quantity = first["qty"] if len(doc["items"]) > 1 else first["qty"] - 1
            _add_package(doc, now, rng, [(first, quantity)], carrier="UPS", method="Ground", tracking=None)
    elif status == "Canceled":
        _cancel(doc, by="AMAZON", reason="Canceled by Amazon")
    elif status in ("Pending", "Unshipped", "PendingAvailability", "InvoiceUnconfirmed", "Unfulfillable"):
        if any(i["shipped"] for i in doc["items"]):
            raise OrderError(f"The order has shipped items; it cannot go back to {status}.")
    doc["status"] = status
    _touch(doc, now)


def buyer_cancel(doc: dict[str, Any], now: int, reason: str = "Changed mind about purchase") -> None:
    """The buyer asks for a cancellation: a request on every unshipped item, the seller decides."""
    if doc["status"] in ("Shipped", "Canceled"):
        raise OrderError(f"An order in status {doc['status']} cannot receive a cancellation request.")
    for item in doc["items"]:
        if unshipped(item):
            item["buyerCancel"] = {"reason": reason}
    _touch(doc, now)


def amazon_cancel(doc: dict[str, Any], now: int, reason: str = "Canceled by Amazon") -> None:
    if doc["status"] in ("Shipped", "PartiallyShipped"):
        raise OrderError(f"An order in status {doc['status']} cannot be canceled.")
    if doc["status"] == "Canceled":
        return
    _cancel(doc, by="AMAZON", reason=reason)
    _touch(doc, now)


def _cancel(doc: dict[str, Any], *, by: str, reason: str) -> None:
    if any(i["shipped"] for i in doc["items"]):
        raise OrderError(f"An order in status {doc['status']} cannot be canceled.")
    doc["status"] = "Canceled"
    doc["pendingUntilMs"] = None
    doc["cancellation"] = {"by": by, "reason": reason}


def seller_central_ship(doc: dict[str, Any], now: int, rng: random.Random, *, carrier: str = "UPS",
                        method: str = "Ground", tracking: str | None = None) -> None:
    """Shipped from Seller Central (not through the API): everything that is left, in one package."""
    if doc["channel"] == "AFN":
        raise OrderError("Amazon ships FBA orders.")
    if doc["status"] not in ("Unshipped", "PartiallyShipped"):
        raise OrderError(f"An order in status {doc['status']} cannot be shipped.")
    _ship_remaining(doc, now, rng, carrier=carrier, method=method, tracking=tracking)
    _touch(doc, now)


def _ship_remaining(doc, now, rng, *, carrier, method, tracking):
    lines = [(i, unshipped(i)) for i in doc["items"] if unshipped(i)]
    if doc["channel"] == "AFN":
        for item, quantity in lines:
            item["shipped"] += quantity
        _recompute_status(doc)
        return
    if lines:
        _add_package(doc, now, rng, lines, carrier=carrier, method=method, tracking=tracking)


def _add_package(doc, now, rng, lines, *, carrier, method, tracking, reference=None):
    existing = {p["packageReferenceId"] for p in doc["packages"]}
    if reference is None:
        reference = str(max([int(r) for r in existing if r.isdigit()] + [0]) + 1)
    for item, quantity in lines:
        item["shipped"] += quantity
    doc["packages"].append({
        "packageReferenceId": reference,
        "carrierCode": carrier,
        "carrierName": carrier,
        "shippingMethod": method,
        "trackingNumber": tracking or tracking_number(rng),
        "shipDateMs": now,
        "createdMs": now,
        "items": [{"orderItemId": item["orderItemId"], "quantity": quantity} for item, quantity in lines],
    })
    _recompute_status(doc)


# ---- confirmShipment (Orders v0): every rule ordersV0.json states, then the order's own rules -------------------

PACKAGE_REQUIRED = ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
PACKAGE_STRINGS = ("packageReferenceId", "carrierCode", "carrierName", "shippingMethod", "trackingNumber", "shipDate",
                   "shipFromSupplySourceId")
COD_COLLECTION_METHODS = ("DirectPayment",)
JP_MARKETPLACE = "A1VC38T7YXB528"  # codCollectionMethod: "only supported in the JP marketplace"


def _is_date_time(text: str) -> bool:
    """RFC 3339 date-time, as ``format: date-time`` means: a date AND a time (a bare date is refused)."""
    if "T" not in text.upper():
        return False
    try:
        parse_iso(text)
    except ValueError:
        return False
    return True


def _check_shipment_request(body: Any) -> dict[str, Any]:
    """The request's shape (ConfirmShipmentRequest, PackageDetail, ConfirmShipmentOrderItem); returns the detail."""
    if not isinstance(body, dict):
        raise OrderError("The request body must be a JSON object.")
    for field in ("marketplaceId", "packageDetail"):
        if body.get(field) in (None, ""):
            raise OrderError(f"Missing required field: {field}.")
    if not isinstance(body["marketplaceId"], str):
        raise OrderError("marketplaceId must be a string.")
    if "codCollectionMethod" in body:
        if body["codCollectionMethod"] not in COD_COLLECTION_METHODS:
            raise OrderError(f"Invalid codCollectionMethod {body['codCollectionMethod']!r}: expected DirectPayment.")
        if body["marketplaceId"] != JP_MARKETPLACE:
            raise OrderError("codCollectionMethod is only supported in the JP marketplace.")
    detail = body["packageDetail"]
    if not isinstance(detail, dict):
        raise OrderError("packageDetail must be an object.")
    for field in PACKAGE_REQUIRED:
        if detail.get(field) in (None, "", []):
            raise OrderError(f"Missing required field: packageDetail.{field}.")
    for field in PACKAGE_STRINGS:
        if field in detail and not isinstance(detail[field], str):
            raise OrderError(f"packageDetail.{field} must be a string.")
    reference = detail["packageReferenceId"]
    if not (reference.isascii() and reference.isdigit()) or int(reference) <= 0:
        raise OrderError(f"Invalid packageReferenceId {reference!r}: only positive numeric values are supported.")
    if detail["carrierCode"] == "Other" and not detail.get("carrierName", "").strip():
        raise OrderError("packageDetail.carrierName is required when carrierCode is Other.")
    if not _is_date_time(detail["shipDate"]):
        raise OrderError(f"Invalid shipDate {detail['shipDate']!r}: expected an ISO 8601 date-time.")
    if not isinstance(detail["orderItems"], list):
        raise OrderError("packageDetail.orderItems must be an array.")
    for entry in detail["orderItems"]:
        if not isinstance(entry, dict) or entry.get("orderItemId") in (None, "") or entry.get("quantity") is None:
            raise OrderError("Every orderItems entry needs orderItemId and quantity.")
        if not isinstance(entry["orderItemId"], str):
            raise OrderError("orderItems.orderItemId must be a string.")
        quantity = entry["quantity"]
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise OrderError(f"Quantity for order item {entry['orderItemId']} must be a positive integer.")
        codes = entry.get("transparencyCodes", [])
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise OrderError("orderItems.transparencyCodes must be an array of strings.")
    return detail


def confirm_shipment(doc: dict[str, Any], body: Any, now: int, rng: random.Random) -> None:
    """Orders v0 confirmShipment: one new package. A package reference is used once per order: sending the same
    package again is refused like any other duplicate (Amazon does not treat it as a retry)."""
    detail = _check_shipment_request(body)
    reference = detail["packageReferenceId"]
    if body["marketplaceId"] != doc["marketplaceId"]:
        raise OrderError(f"The order was not placed in marketplace {body['marketplaceId']}.")
    if doc["channel"] == "AFN":
        raise OrderError("Shipment confirmation is not allowed for orders fulfilled by Amazon.")
    if any(package["packageReferenceId"].lstrip("0") == reference.lstrip("0") for package in doc["packages"]):
        raise OrderError(f"packageReferenceId {reference} was already used for this order.",
                         details="Every package of an order needs its own packageReferenceId.")
    if doc["status"] not in ("Unshipped", "PartiallyShipped"):
        raise OrderError(f"Shipment cannot be confirmed for an order in status {doc['status']}.")
    items = {i["orderItemId"]: i for i in doc["items"]}
    wanted: dict[str, int] = {}
    for entry in detail["orderItems"]:
        item_id = entry["orderItemId"]
        if item_id not in items:
            raise OrderError(f"Order item {item_id} is not part of order {doc['orderId']}.")
        wanted[item_id] = wanted.get(item_id, 0) + entry["quantity"]
    for item_id, quantity in wanted.items():
        if quantity > unshipped(items[item_id]):
            raise OrderError(f"Quantity {quantity} for order item {item_id} exceeds the unshipped quantity "
                             f"{unshipped(items[item_id])}.")
    _add_package(doc, parse_iso(detail["shipDate"]), rng, [(items[k], v) for k, v in wanted.items()],
                 carrier=detail.get("carrierName") or detail["carrierCode"], method=detail.get("shippingMethod", ""),
                 tracking=detail["trackingNumber"], reference=reference)
    doc["packages"][-1]["carrierCode"] = detail["carrierCode"]
    doc["packages"][-1]["createdMs"] = now
    _touch(doc, now)


# ---- feed messages ---------------------------------------------------------------------------------------------

def acknowledge(doc: dict[str, Any], *, status_code: str, items: list[dict[str, str]], merchant_order_id: str | None,
                now: int) -> None:
    """OrderAcknowledgement: Success records the seller's order id; Failure cancels an unshipped order."""
    if status_code not in ("Success", "Failure"):
        raise OrderError(f"StatusCode must be Success or Failure, not {status_code!r}.")
    known = {i["orderItemId"]: i for i in doc["items"]}
    for entry in items:
        code = entry.get("AmazonOrderItemCode")
        if code and code not in known:
            raise OrderError(f"AmazonOrderItemCode {code} is not part of order {doc['orderId']}.")
        reason = entry.get("CancelReason")
        if reason and reason not in CANCEL_REASONS:
            raise OrderError(f"CancelReason {reason!r} is not valid.")
    if status_code == "Success":
        if merchant_order_id:
            doc["sellerOrderId"] = merchant_order_id
            _touch(doc, now)
        return
    if doc["status"] == "Canceled":
        return  # a repeated cancellation changes nothing
    if doc["status"] in ("Shipped", "PartiallyShipped") or any(i["shipped"] for i in doc["items"]):
        raise OrderError(f"Order {doc['orderId']} has shipped items and cannot be canceled.")
    reason = next((e.get("CancelReason") for e in items if e.get("CancelReason")), None) or "GeneralAdjustment"
    _cancel(doc, by="MERCHANT", reason=reason)
    for item in doc["items"]:
        item["canceled"] = True
    _touch(doc, now)


def _proceeds(item: dict[str, Any], component: str) -> Decimal:
    """What the buyer paid for one component of an item (discounts taken off): the most that can be refunded."""
    paid = Decimal(item[ADJUSTMENT_COMPONENTS[component]])
    discount = ADJUSTMENT_DISCOUNTS.get(component)
    return paid - Decimal(item[discount]) if discount else paid


def adjust(doc: dict[str, Any], *, adjusted_items: list[dict[str, Any]], now: int) -> None:
    """OrderAdjustment: record refunds per item and component, never more than was paid."""
    if doc["status"] not in ("Shipped", "PartiallyShipped"):
        raise OrderError(f"Order {doc['orderId']} is {doc['status']}: only shipped orders can be refunded "
                         "(cancel an unshipped order instead).")
    mp = catalog.BY_ID[doc["marketplaceId"]]
    known = {i["orderItemId"]: i for i in doc["items"]}
    plan: list[tuple[dict[str, Any], str, Decimal]] = []
    for entry in adjusted_items:
        code = entry.get("AmazonOrderItemCode")
        if code not in known:
            raise OrderError(f"AmazonOrderItemCode {code} is not part of order {doc['orderId']}.")
        reason = entry.get("AdjustmentReason")
        if reason not in ADJUSTMENT_REASONS:
            raise OrderError(f"AdjustmentReason {reason!r} is not valid.")
        if not entry["components"]:
            raise OrderError(f"No ItemPriceAdjustments for item {code}.")
        for component, amount_text, currency in entry["components"]:
            if component not in ADJUSTMENT_COMPONENTS:
                raise OrderError(f"Component type {component!r} is not supported.")
            if currency != doc["currency"]:
                raise OrderError(f"Currency {currency} does not match the order currency {doc['currency']}.")
            if not AMOUNT.match(amount_text or ""):
                raise OrderError(f"Amount {amount_text!r} is not a decimal number.")
            amount = abs(Decimal(amount_text))
            if -amount.as_tuple().exponent > mp.minor_units:  # "100.00" has two decimals, even if they are zeros
                raise OrderError(f"Amount {amount_text} has too many decimals for {doc['currency']}.")
            plan.append((known[code], component, amount))
    totals: dict[tuple[str, str], Decimal] = {}
    for item, component, amount in plan:
        key = (item["orderItemId"], component)
        already = totals.get(key, Decimal(item["refunded"].get(component, "0")))
        paid = _proceeds(item, component)
        if already + amount > paid:
            raise OrderError(f"Refund of {component} {already + amount} for item {item['orderItemId']} exceeds the "
                             f"amount paid ({paid}) less what was already refunded.")
        totals[key] = already + amount
    for (item_id, component), total in totals.items():
        known[item_id]["refunded"][component] = mp.fmt(total)
    doc["adjustments"].append({"atMs": now, "items": [
        {"orderItemId": item["orderItemId"], "component": component, "amount": mp.fmt(amount)}
        for item, component, amount in plan]})
    _touch(doc, now)


def fulfill(doc: dict[str, Any], *, lines: list[tuple[str, int | None]], carrier: str, method: str, tracking: str,
            ship_ms: int, reference: str | None, now: int, rng: random.Random) -> None:
    """OrderFulfillment: ship the given items (no Item element: everything left)."""
    if doc["channel"] == "AFN":
        raise OrderError("Amazon ships FBA orders.")
    if doc["status"] not in ("Unshipped", "PartiallyShipped"):
        raise OrderError(f"Order {doc['orderId']} is {doc['status']} and cannot be shipped.")
    known = {i["orderItemId"]: i for i in doc["items"]}
    plan = []
    if not lines:
        plan = [(i, unshipped(i)) for i in doc["items"] if unshipped(i)]
    for code, quantity in lines:
        if code not in known:
            raise OrderError(f"AmazonOrderItemCode {code} is not part of order {doc['orderId']}.")
        quantity = unshipped(known[code]) if quantity is None else quantity
        if quantity <= 0 or quantity > unshipped(known[code]):
            raise OrderError(f"Quantity {quantity} for item {code} exceeds the unshipped quantity "
                             f"{unshipped(known[code])}.")
        plan.append((known[code], quantity))
    if reference and any(p["packageReferenceId"] == reference for p in doc["packages"]):
        raise OrderError(f"MerchantFulfillmentID {reference} was already used for this order.")
    _add_package(doc, ship_ms, rng, plan, carrier=carrier, method=method, tracking=tracking, reference=reference)
    doc["packages"][-1]["createdMs"] = now
    _touch(doc, now)


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The control API's view of an order: the document plus readable times."""
    out = dict(doc)
    out["createdTime"] = iso(doc["createdMs"])
    out["lastUpdatedTime"] = iso(doc["lastUpdatedMs"])
    return out
