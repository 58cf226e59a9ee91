"""Order documents rendered as Amazon returns them: Orders 2026-01-01 and Orders v0."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, has_request_context

from . import catalog
from .generator import STATUS_2026, order_total
from .orders import unshipped
from .timeutil import iso

INCLUDED_DATA = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                 "TAX", "PAYMENT", "FULFILLMENT_ORDERS"]


def _fmt(amount: Decimal | str | int, mp: catalog.Marketplace) -> str:
    value = Decimal(amount)
    return mp.fmt(value if value else abs(value))  # never "-0.00"


def _money(amount: Decimal | str | int, currency: str, mp: catalog.Marketplace) -> dict[str, str]:
    return {"amount": _fmt(amount, mp), "currencyCode": currency}


def _money_v0(amount: Decimal | str | int, currency: str, mp: catalog.Marketplace) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": _fmt(amount, mp)}


def malformed(out: Any, doc: dict[str, Any], version: str) -> Any:
    """Apply the order's injected malformations (``orders.malform``) to a rendering; ``None`` removes a field."""
    changes = (doc.get("malformed") or {}).get(version, {})
    if changes and has_request_context():
        g.sandbox_fault = "malformed"  # broken on purpose: contract mode does not hold this answer to the model
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        key = int(last) if isinstance(node, list) else last
        if value is None:
            if isinstance(node, dict):
                node.pop(key, None)
        else:
            node[key] = value
    return out


def _priced(doc: dict[str, Any]) -> bool:
    # Amazon gives no prices and no address until payment is verified.
    return doc["status"] not in ("Pending", "PendingAvailability")


# ---- 2026-01-01 ------------------------------------------------------------------------------------------------

def order_2026(doc: dict[str, Any], included: set[str]) -> dict[str, Any]:
    mp = catalog.BY_ID[doc["marketplaceId"]]
    cur = doc["currency"]
    priced = _priced(doc)
    programs = []
    if doc["prime"]:
        programs.append("PRIME")
    if doc["business"]:
        programs.append("AMAZON_BUSINESS")
    if doc["premium"]:
        programs.append("PREMIUM")
    out: dict[str, Any] = {
        "orderId": doc["orderId"],
        "createdTime": iso(doc["createdMs"]),
        "lastUpdatedTime": iso(doc["lastUpdatedMs"]),
        "programs": programs,
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": mp.marketplace_id, "marketplaceName": mp.name},
    }
    if doc.get("sellerOrderId"):
        out["orderAliases"] = [{"aliasId": doc["sellerOrderId"], "aliasType": "SELLER_ORDER_ID"}]
    if doc.get("replacedOrderId"):
        out["associatedOrders"] = [{"orderId": doc["replacedOrderId"], "associationType": "REPLACEMENT_ORIGINAL_ID"}]
    if "BUYER" in included:
        buyer = {"buyerEmail": doc["buyer"]["email"]}
        if doc["buyer"]["name"]:
            buyer["buyerName"] = doc["buyer"]["name"]
        if doc["buyer"]["company"]:
            buyer["buyerCompanyName"] = doc["buyer"]["company"]
        if doc["buyer"]["po"]:
            buyer["buyerPurchaseOrderNumber"] = doc["buyer"]["po"]
        out["buyer"] = buyer
    if "RECIPIENT" in included and priced:
        a = doc["address"]
        address = {key: a[src] for key, src in (
            ("name", "name"), ("companyName", "companyName"), ("addressLine1", "addressLine1"),
            ("addressLine2", "addressLine2"), ("city", "city"), ("districtOrCounty", "county"),
            ("stateOrRegion", "stateOrRegion"), ("postalCode", "postalCode"), ("countryCode", "countryCode"),
            ("phone", "phone")) if a.get(src)}
        if a.get("addressType"):
            address["addressType"] = a["addressType"].upper()
        out["recipient"] = {"deliveryAddress": address}
    if "PROCEEDS" in included and priced:
        sums = {"ITEM": Decimal(0), "SHIPPING": Decimal(0), "TAX": Decimal(0), "DISCOUNT": Decimal(0)}
        for item in doc["items"]:
            sums["ITEM"] += Decimal(item["itemPrice"])
            sums["SHIPPING"] += Decimal(item["shippingPrice"])
            sums["TAX"] += Decimal(item["itemTax"]) + Decimal(item["shippingTax"])
            sums["DISCOUNT"] -= Decimal(item["promotionDiscount"]) + Decimal(item["shippingDiscount"])
        breakdowns = [{"type": kind, "subtotal": _money(value, cur, mp)} for kind, value in sums.items()
                      if value or kind in ("ITEM", "TAX")]
        out["proceeds"] = {"grandTotal": _money(order_total(doc), cur, mp), "breakdowns": breakdowns}
    if "FULFILLMENT" in included:
        out["fulfillment"] = {
            "fulfillmentStatus": STATUS_2026[doc["status"]],
            "fulfilledBy": "AMAZON" if doc["channel"] == "AFN" else "MERCHANT",
            "fulfillmentServiceLevel": catalog.SERVICE_LEVEL_2026.get(doc["serviceCategory"], "STANDARD"),
            "shipByWindow": {"earliestDateTime": iso(doc["earliestShipMs"]),
                             "latestDateTime": iso(doc["latestShipMs"])},
            "deliverByWindow": {"earliestDateTime": iso(doc["earliestDeliveryMs"]),
                                "latestDateTime": iso(doc["latestDeliveryMs"])},
        }
    out["orderItems"] = [_item_2026(doc, item, included, mp, priced) for item in doc["items"]]
    if "PACKAGES" in included and doc["channel"] == "MFN":
        out["packages"] = [{
            "packageReferenceId": p["packageReferenceId"],
            "createdTime": iso(p["createdMs"]),
            "packageStatus": {"status": "SHIPPED"},
            "carrier": p["carrierName"] or p["carrierCode"],
            "shipTime": iso(p["shipDateMs"]),
            "shippingService": p["shippingMethod"],
            "trackingNumber": p["trackingNumber"],
            "packageItems": [{"orderItemId": i["orderItemId"], "quantity": i["quantity"]} for i in p["items"]],
        } for p in doc["packages"]]
    return malformed(out, doc, "2026")


def _item_2026(doc, item, included, mp, priced) -> dict[str, Any]:
    cur = doc["currency"]
    product: dict[str, Any] = {"asin": item["asin"], "title": item["title"], "sellerSku": item["sku"],
                               "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"}}
    if priced:
        product["price"] = {"unitPrice": _money(Decimal(item["itemPrice"]) / item["qty"], cur, mp)}
        if doc["business"]:
            product["price"]["priceDesignation"] = "BUSINESS_PRICE"
    out: dict[str, Any] = {"orderItemId": item["orderItemId"], "quantityOrdered": item["qty"], "programs": [],
                           "product": product}
    if "PROCEEDS" in included and priced:
        price, tax, ship, ship_tax = (Decimal(item[k]) for k in ("itemPrice", "itemTax", "shippingPrice",
                                                                  "shippingTax"))
        promo, ship_discount = Decimal(item["promotionDiscount"]), Decimal(item["shippingDiscount"])
        breakdowns = [{"type": "ITEM", "subtotal": _money(price, cur, mp)}]
        if ship:
            breakdowns.append({"type": "SHIPPING", "subtotal": _money(ship, cur, mp)})
        breakdowns.append({"type": "TAX", "subtotal": _money(tax + ship_tax, cur, mp), "detailedBreakdowns": [
            {"subtype": "ITEM", "value": _money(tax, cur, mp)},
            {"subtype": "SHIPPING", "value": _money(ship_tax, cur, mp)}]})
        if promo or ship_discount:
            details = [{"subtype": "ITEM", "value": _money(-promo, cur, mp)},
                       {"subtype": "SHIPPING", "value": _money(-ship_discount, cur, mp)}]
            breakdowns.append({"type": "DISCOUNT", "subtotal": _money(-(promo + ship_discount), cur, mp),
                               "detailedBreakdowns": details})
        total = price + tax + ship + ship_tax - promo - ship_discount
        out["proceeds"] = {"proceedsTotal": _money(total, cur, mp), "breakdowns": breakdowns}
    if "PROMOTION" in included and item["promotionIds"]:
        out["promotion"] = {"breakdowns": [{"promotionId": p} for p in item["promotionIds"]]}
    if "CANCELLATION" in included:
        cancellation = {}
        if item.get("buyerCancel"):
            cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": item["buyerCancel"]["reason"]}
        if doc.get("cancellation"):
            cancellation["cancellationExecution"] = {"cancelledBy": doc["cancellation"]["by"],
                                                     "cancelReason": doc["cancellation"]["reason"]}
        if cancellation:
            out["cancellation"] = cancellation
    if "FULFILLMENT" in included:
        fulfillment: dict[str, Any] = {"quantityFulfilled": item["shipped"], "quantityUnfulfilled": unshipped(item)}
        if item.get("gift"):
            fulfillment["packing"] = {"giftOption": {"giftMessage": item["gift"]["message"],
                                                     "giftWrapLevel": item["gift"]["wrapLevel"]}}
        out["fulfillment"] = fulfillment
    return out


# ---- v0 --------------------------------------------------------------------------------------------------------

def _address_v0(doc: dict[str, Any], full: bool) -> dict[str, Any]:
    a = doc["address"]
    keys = (("Name", "name"), ("CompanyName", "companyName"), ("AddressLine1", "addressLine1"),
            ("AddressLine2", "addressLine2"), ("City", "city"), ("County", "county"),
            ("StateOrRegion", "stateOrRegion"), ("PostalCode", "postalCode"), ("CountryCode", "countryCode"),
            ("Phone", "phone"))
    public = {"City", "StateOrRegion", "PostalCode", "CountryCode"}
    out = {key: a[src] for key, src in keys if a.get(src) and (full or key in public)}
    if full and a.get("addressType"):
        out["AddressType"] = a["addressType"]
    return out


def buyer_info_v0(doc: dict[str, Any]) -> dict[str, Any]:
    info = {"BuyerEmail": doc["buyer"]["email"]}
    if doc["buyer"]["name"]:
        info["BuyerName"] = doc["buyer"]["name"]
    if doc["buyer"]["po"]:
        info["PurchaseOrderNumber"] = doc["buyer"]["po"]
    return info


def order_v0(doc: dict[str, Any], *, data_elements: set[str] = frozenset()) -> dict[str, Any]:
    """``data_elements``: what a restricted data token grants (buyerInfo, shippingAddress)."""
    mp = catalog.BY_ID[doc["marketplaceId"]]
    priced = _priced(doc)
    canceled = doc["status"] == "Canceled"
    out: dict[str, Any] = {
        "AmazonOrderId": doc["orderId"],
        "PurchaseDate": iso(doc["createdMs"]),
        "LastUpdateDate": iso(doc["lastUpdatedMs"]),
        "OrderStatus": doc["status"],
        "FulfillmentChannel": doc["channel"],
        "SalesChannel": mp.name,
        "ShipServiceLevel": doc["serviceLevel"],
        "NumberOfItemsShipped": 0 if canceled else sum(i["shipped"] for i in doc["items"]),
        "NumberOfItemsUnshipped": 0 if canceled else sum(unshipped(i) for i in doc["items"]),
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": mp.marketplace_id,
        "ShipmentServiceLevelCategory": doc["serviceCategory"],
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(doc["earliestShipMs"]),
        "LatestShipDate": iso(doc["latestShipMs"]),
        "EarliestDeliveryDate": iso(doc["earliestDeliveryMs"]),
        "LatestDeliveryDate": iso(doc["latestDeliveryMs"]),
        "IsBusinessOrder": doc["business"],
        "IsPrime": doc["prime"],
        "IsPremiumOrder": doc["premium"],
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": bool(doc.get("replacedOrderId")),
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "HasRegulatedItems": False,
    }
    if doc.get("sellerOrderId"):
        out["SellerOrderId"] = doc["sellerOrderId"]
    if doc.get("replacedOrderId"):
        out["ReplacedOrderId"] = doc["replacedOrderId"]
    if priced:
        out["OrderTotal"] = _money_v0(order_total(doc), doc["currency"], mp)
        out["ShippingAddress"] = _address_v0(doc, "shippingAddress" in data_elements)
    if "buyerInfo" in data_elements:
        out["BuyerInfo"] = buyer_info_v0(doc)
    return malformed(out, doc, "v0")


def order_items_v0(doc: dict[str, Any], *, data_elements: set[str] = frozenset()) -> list[dict[str, Any]]:
    mp = catalog.BY_ID[doc["marketplaceId"]]
    cur = doc["currency"]
    priced = _priced(doc)
    items = []
    for item in doc["items"]:
        out: dict[str, Any] = {
            "ASIN": item["asin"],
            "SellerSKU": item["sku"],
            "OrderItemId": item["orderItemId"],
            "Title": item["title"],
            "QuantityOrdered": item["qty"],
            "QuantityShipped": item["shipped"],
            "ProductInfo": {"NumberOfItems": "1"},
            "IsGift": "true" if item.get("gift") else "false",
            "ConditionId": "New",
            "ConditionSubtypeId": "New",
            "IsTransparency": False,
            "SerialNumberRequired": False,
        }
        if priced:
            for key, src in (("ItemPrice", "itemPrice"), ("ItemTax", "itemTax"), ("ShippingPrice", "shippingPrice"),
                             ("ShippingTax", "shippingTax"), ("ShippingDiscount", "shippingDiscount"),
                             ("PromotionDiscount", "promotionDiscount")):
                out[key] = _money_v0(item[src], cur, mp)
            out["ShippingDiscountTax"] = _money_v0(0, cur, mp)
            out["PromotionDiscountTax"] = _money_v0(0, cur, mp)
            out["PromotionIds"] = list(item["promotionIds"])
        if doc["business"]:
            out["PriceDesignation"] = "BusinessPrice"
        if item.get("buyerCancel"):
            out["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true",
                                           "BuyerCancelReason": item["buyerCancel"]["reason"]}
        if item.get("gift") and "buyerInfo" in data_elements:
            out["BuyerInfo"] = {"GiftMessageText": item["gift"]["message"], "GiftWrapLevel": item["gift"]["wrapLevel"]}
        items.append(out)
    return malformed(items, doc, "v0items")


def address_v0(doc: dict[str, Any], *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"AmazonOrderId": doc["orderId"]}
    if _priced(doc):
        out["ShippingAddress"] = _address_v0(doc, full)
        if full and doc["buyer"]["company"]:
            out["BuyerCompanyName"] = doc["buyer"]["company"]
    return out


def buyer_v0(doc: dict[str, Any], *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"AmazonOrderId": doc["orderId"]}
    if full:
        out.update(buyer_info_v0(doc))
    return out
