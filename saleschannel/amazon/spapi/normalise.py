"""Orders as both API versions describe them, read strictly into one shape (``AmazonOrderData``), and pages of them
(``OrdersQuery``, ``OrdersPage``).

Strict means: a field that Amazon's model requires (``orders_2026-01-01.json``, ``ordersV0.json``) and that is
missing, or a value of the wrong type (a quantity of "1.5", an amount of "abc", a date that is not ISO 8601, a
status the model does not list), raises ``UnreadableOrder`` naming the field. Nothing unreadable becomes 0, "now" or
"Pending": the importer keeps such an order, as sent, in Error, and the rest of the page goes on. An absent optional
block (no ``proceeds`` while Pending, no shipping tax) is simply "none", which is what Amazon means by leaving it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from saleschannel.amazon.spapi.errors import MISSING, UnreadableOrder


@dataclass
class AmazonAddressData:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    line3: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str = ""


@dataclass
class AmazonItemData:
    order_item_id: str
    seller_sku: str
    qty_ordered: int
    asin: str = ""
    title: str = ""
    condition: str = ""
    qty_shipped: int = 0
    item_price: Decimal = Decimal("0")
    item_tax: Decimal = Decimal("0")
    shipping_price: Decimal = Decimal("0")
    shipping_tax: Decimal = Decimal("0")
    shipping_discount: Decimal = Decimal("0")
    shipping_discount_tax: Decimal = Decimal("0")
    promotion_discount: Decimal = Decimal("0")
    promotion_discount_tax: Decimal = Decimal("0")
    buyer_requested_cancel: bool = False
    buyer_cancel_reason: str = ""


@dataclass
class AmazonPackageData:
    package_reference_id: str = ""
    carrier: str = ""
    tracking_number: str = ""
    shipping_method: str = ""
    ship_date: datetime | None = None
    items: list[tuple[str, int]] = field(default_factory=list)  # (order item id, qty)


@dataclass
class AmazonOrderData:
    """One Amazon order as both API versions describe it, in the shape of ``models.AmazonOrder``."""

    amazon_order_id: str
    status: str  # AmazonOrderStatus value: Pending, Unshipped, ...
    purchase_date: datetime
    last_update_date: datetime | None = None
    marketplace_id: str = ""
    sales_channel: str = ""
    fulfillment_channel: str = "MFN"
    ship_service_level: str = ""
    shipment_service_level_category: str = ""
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_company: str = ""
    currency: str = ""
    order_total: Decimal | None = None
    is_prime: bool = False
    is_premium: bool = False
    is_business: bool = False
    is_replacement: bool = False
    items_shipped: int = 0
    items_unshipped: int = 0
    earliest_ship_date: datetime | None = None
    latest_ship_date: datetime | None = None
    earliest_delivery_date: datetime | None = None
    latest_delivery_date: datetime | None = None
    address: AmazonAddressData | None = None
    payment_method: str = ""
    items: list[AmazonItemData] = field(default_factory=list)
    packages: list[AmazonPackageData] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def buyer_requested_cancel(self) -> bool:
        return any(item.buyer_requested_cancel for item in self.items)


# --- Readers: each names the field it reads -----------------------------------------------------------------


# --- Pages of orders ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersQuery:
    """What the first page of an order search asked for. Every later page repeats it exactly, plus the token.

    Amazon's rule (orders 2026-01-01, definition ``Pagination``): "All other parameters must be provided with the
    same values that were provided with the request that generated this token". A token alone, or a token with
    other values, is refused. Building every page's parameters from this one frozen object makes that structural.
    """

    after: datetime
    before: datetime | None = None
    created: bool = False  # the window is on creation time, not on last-update time
    max_results: int = 100


@dataclass
class OrdersPage:
    orders: list[AmazonOrderData]
    next_token: str | None
    last_updated_before: datetime | None
    query: OrdersQuery | None = None
    # Orders of the page that cannot be read (each with the field named and the order as sent): kept in Error by
    # the importer, while the rest of the page is imported.
    unreadable: list[UnreadableOrder] = field(default_factory=list)


def orders_page_2026(body: dict, query: OrdersQuery) -> OrdersPage:
    """A page of searchOrders (2026-01-01) as sent: its readable orders, its unreadable ones, its token."""
    watermark = body.get("lastUpdatedBefore") or body.get("createdBefore")
    orders, unreadable = [], []
    for order in body.get("orders") or []:  # one by one: an unreadable order never sinks the page
        try:
            orders.append(normalise_order_2026(order))
        except UnreadableOrder as error:
            unreadable.append(error)
    return OrdersPage(
        orders=orders,
        next_token=((body.get("pagination") or {}).get("nextToken")) or None,
        last_updated_before=parse_datetime(watermark),
        query=query,
        unreadable=unreadable,
    )


def parse_datetime(value) -> datetime | None:
    """An ISO 8601 date-time in UTC, or None when absent or unreadable (for lenient reads of our own records)."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object(value, name: str, *, required: bool = False) -> dict:
    if value is None:
        if required:
            raise UnreadableOrder(name)
        return {}
    if not isinstance(value, dict):
        raise UnreadableOrder(name, type(value).__name__)
    return value


def _list(value, name: str, *, required: bool = False) -> list:
    if value is None:
        if required:
            raise UnreadableOrder(name)
        return []
    if not isinstance(value, list):
        raise UnreadableOrder(name, type(value).__name__)
    return value


def _text(mapping: dict, key: str, name: str, *, required: bool = False) -> str:
    value = mapping.get(key)
    if value is None or value == "":
        if required:
            raise UnreadableOrder(name)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnreadableOrder(name, type(value).__name__)
    return str(value)


def _timestamp(value, name: str, *, required: bool = False) -> datetime | None:
    if value is None or value == "":
        if required:
            raise UnreadableOrder(name)
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise UnreadableOrder(name, value)
    return parsed


def _count(value, name: str, *, required: bool = False) -> int:
    """A quantity: a whole number ≥ 0, as a JSON integer or its text ("2"); never "1.5", True or -1."""
    if value is None or value == "":
        if required:
            raise UnreadableOrder(name)
        return 0
    if isinstance(value, bool):
        raise UnreadableOrder(name, value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0:
        raise UnreadableOrder(name, value)
    return value


def _amount(value, name: str) -> Decimal:
    """An amount as Amazon writes it (a decimal string, or a JSON number read through its shortest text)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnreadableOrder(name, MISSING if value is None else type(value).__name__)
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise UnreadableOrder(name, value)
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise UnreadableOrder(name, value)
    return amount


def _money_2026(money, name: str) -> Decimal:
    """Money ``{amount, currencyCode}`` (both required by the model); an absent Money is no charge."""
    if money is None:
        return Decimal("0")
    money = _object(money, name)
    _text(money, "currencyCode", f"{name}.currencyCode", required=True)
    return _amount(money.get("amount"), f"{name}.amount")


def _money_v0(money, name: str) -> Decimal:
    """Money ``{CurrencyCode, Amount}``; an absent Money is no charge, a Money without a readable Amount is not."""
    if money is None:
        return Decimal("0")
    money = _object(money, name)
    return _amount(money.get("Amount"), f"{name}.Amount")


def _truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


STATUS_2026 = {
    "PENDING": "Pending",
    "PENDING_AVAILABILITY": "PendingAvailability",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "CANCELED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
    "INVOICE_UNCONFIRMED": "InvoiceUnconfirmed",
}
STATUS_V0 = {
    value: value
    for value in (
        "Pending", "PendingAvailability", "Unshipped", "PartiallyShipped", "Shipped", "Canceled",
        "Unfulfillable", "InvoiceUnconfirmed",
    )
}
STATUS_V0["Cancelled"] = "Canceled"


def _status(value, table: dict[str, str], name: str, *, default: str | None = None) -> str:
    if value is None or value == "":
        if default is not None:
            return default
        raise UnreadableOrder(name)
    status = table.get(str(value).upper() if table is STATUS_2026 else str(value))
    if status is None:
        raise UnreadableOrder(name, value)
    return status


# --- Orders API 2026-01-01 ------------------------------------------------------------------------------------


def normalise_order_2026(data: dict) -> AmazonOrderData:
    """One order of searchOrders / getOrder (2026-01-01); raises ``UnreadableOrder`` (with ``raw``) if it cannot."""
    order_id = data.get("orderId") if isinstance(data, dict) else None
    try:
        return _order_2026(_object(data, "order", required=True))
    except UnreadableOrder as error:
        error.amazon_order_id = str(order_id or "")
        error.raw = data if isinstance(data, dict) else {}
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as error:  # a shape no rule above foresaw
        unreadable = UnreadableOrder("order", type(error).__name__, amazon_order_id=str(order_id or ""))
        unreadable.raw = data if isinstance(data, dict) else {}
        raise unreadable


def _order_2026(data: dict) -> AmazonOrderData:
    order_id = _text(data, "orderId", "orderId", required=True)
    fulfillment = _object(data.get("fulfillment"), "fulfillment")
    programs = set(_list(data.get("programs"), "programs"))
    proceeds = _object(data.get("proceeds"), "proceeds")
    grand_total = proceeds.get("grandTotal")
    buyer = _object(data.get("buyer"), "buyer")
    address = _object(_object(data.get("recipient"), "recipient").get("deliveryAddress"), "recipient.deliveryAddress")
    payments = _list(_object(data.get("payment"), "payment").get("paymentExecutions"), "payment.paymentExecutions")
    associated = _list(data.get("associatedOrders"), "associatedOrders")
    items = [_item_2026(_object(item, f"orderItems[{n}]"), f"orderItems[{n}]")
             for n, item in enumerate(_list(data.get("orderItems"), "orderItems", required=True))]
    packages = [_package_2026(_object(package, f"packages[{n}]"), f"packages[{n}]")
                for n, package in enumerate(_list(data.get("packages"), "packages"))]
    sales_channel = _object(data.get("salesChannel"), "salesChannel", required=True)
    level = _text(fulfillment, "fulfillmentServiceLevel", "fulfillment.fulfillmentServiceLevel")
    currency = ""
    if grand_total is not None:
        currency = _text(_object(grand_total, "proceeds.grandTotal"), "currencyCode",
                         "proceeds.grandTotal.currencyCode", required=True)
    return AmazonOrderData(
        amazon_order_id=order_id,
        # Without FULFILLMENT data Amazon gives no status: only then is the order taken as Pending.
        status=_status(fulfillment.get("fulfillmentStatus"), STATUS_2026, "fulfillment.fulfillmentStatus",
                       default=None if fulfillment else "Pending"),
        purchase_date=_timestamp(data.get("createdTime"), "createdTime", required=True),
        last_update_date=_timestamp(data.get("lastUpdatedTime"), "lastUpdatedTime", required=True),
        marketplace_id=_text(sales_channel, "marketplaceId", "salesChannel.marketplaceId", required=True),
        sales_channel=(_text(sales_channel, "marketplaceName", "salesChannel.marketplaceName")
                       or _text(sales_channel, "channelName", "salesChannel.channelName")),
        fulfillment_channel="AFN" if fulfillment.get("fulfilledBy") == "AMAZON" else "MFN",
        ship_service_level=level,
        shipment_service_level_category=level.replace("_", " ").title() if level else "",
        buyer_name=buyer.get("buyerName") or "",
        buyer_email=buyer.get("buyerEmail") or "",
        buyer_company=buyer.get("buyerCompanyName") or "",
        currency=currency,
        order_total=_money_2026(grand_total, "proceeds.grandTotal") if grand_total is not None else None,
        is_prime="PRIME" in programs,
        is_premium="PREMIUM" in programs,
        is_business="AMAZON_BUSINESS" in programs,
        is_replacement=any(isinstance(a, dict) and a.get("associationType") == "REPLACEMENT_ORIGINAL_ID"
                           for a in associated),
        items_shipped=sum(i.qty_shipped for i in items),
        items_unshipped=sum(max(i.qty_ordered - i.qty_shipped, 0) for i in items),
        earliest_ship_date=_timestamp(_object(fulfillment.get("shipByWindow"), "fulfillment.shipByWindow")
                                      .get("earliestDateTime"), "fulfillment.shipByWindow.earliestDateTime"),
        latest_ship_date=_timestamp(_object(fulfillment.get("shipByWindow"), "fulfillment.shipByWindow")
                                    .get("latestDateTime"), "fulfillment.shipByWindow.latestDateTime"),
        earliest_delivery_date=_timestamp(_object(fulfillment.get("deliverByWindow"), "fulfillment.deliverByWindow")
                                          .get("earliestDateTime"), "fulfillment.deliverByWindow.earliestDateTime"),
        latest_delivery_date=_timestamp(_object(fulfillment.get("deliverByWindow"), "fulfillment.deliverByWindow")
                                        .get("latestDateTime"), "fulfillment.deliverByWindow.latestDateTime"),
        address=_address_2026(address) if address else None,
        payment_method=(_object(payments[0], "payment.paymentExecutions[0]").get("paymentMethod") or "")
        if payments else "",
        items=items,
        packages=packages,
        raw=data,
    )


def _package_2026(package: dict, name: str) -> AmazonPackageData:
    return AmazonPackageData(
        package_reference_id=_text(package, "packageReferenceId", f"{name}.packageReferenceId"),
        carrier=_text(package, "carrier", f"{name}.carrier"),
        tracking_number=_text(package, "trackingNumber", f"{name}.trackingNumber"),
        shipping_method=_text(package, "shippingService", f"{name}.shippingService"),
        ship_date=_timestamp(package.get("shipTime"), f"{name}.shipTime"),
        items=[(_text(_object(i, f"{name}.packageItems[{n}]"), "orderItemId",
                      f"{name}.packageItems[{n}].orderItemId", required=True),
                _count(i.get("quantity"), f"{name}.packageItems[{n}].quantity"))
               for n, i in enumerate(_list(package.get("packageItems"), f"{name}.packageItems"))],
    )


def _address_2026(address: dict) -> AmazonAddressData:
    return AmazonAddressData(
        name=address.get("name") or "",
        company=address.get("companyName") or "",
        line1=address.get("addressLine1") or "",
        line2=address.get("addressLine2") or "",
        line3=address.get("addressLine3") or "",
        city=address.get("city") or "",
        region=address.get("stateOrRegion") or "",
        postal_code=address.get("postalCode") or "",
        country_code=address.get("countryCode") or "",
        phone=address.get("phone") or "",
    )


def _item_2026(item: dict, name: str) -> AmazonItemData:
    product = _object(item.get("product"), f"{name}.product", required=True)
    condition = _object(product.get("condition"), f"{name}.product.condition")
    fulfillment = _object(item.get("fulfillment"), f"{name}.fulfillment")
    request = _object(_object(item.get("cancellation"), f"{name}.cancellation").get("cancellationRequest"),
                      f"{name}.cancellation.cancellationRequest")
    result = AmazonItemData(
        order_item_id=_text(item, "orderItemId", f"{name}.orderItemId", required=True),
        seller_sku=_text(product, "sellerSku", f"{name}.product.sellerSku"),
        qty_ordered=_count(item.get("quantityOrdered"), f"{name}.quantityOrdered", required=True),
        asin=_text(product, "asin", f"{name}.product.asin"),
        title=product.get("title") or "",
        condition=" ".join(filter(None, [condition.get("conditionType"), condition.get("conditionSubtype")])).title(),
        qty_shipped=_count(fulfillment.get("quantityFulfilled"), f"{name}.fulfillment.quantityFulfilled"),
        buyer_requested_cancel=request.get("requester") == "BUYER",
        buyer_cancel_reason=request.get("cancelReason") or "",
    )
    # Proceeds breakdowns: ITEM and SHIPPING are prices; TAX and DISCOUNT split into ITEM / SHIPPING subtypes.
    breakdowns = _list(_object(item.get("proceeds"), f"{name}.proceeds").get("breakdowns"),
                       f"{name}.proceeds.breakdowns")
    for n, breakdown in enumerate(breakdowns):
        where = f"{name}.proceeds.breakdowns[{n}]"
        breakdown = _object(breakdown, where)
        kind = _text(breakdown, "type", f"{where}.type", required=True)
        if breakdown.get("subtotal") is None:
            raise UnreadableOrder(f"{where}.subtotal")
        amount = _money_2026(breakdown["subtotal"], f"{where}.subtotal")
        details = {}
        for m, detail in enumerate(_list(breakdown.get("detailedBreakdowns"), f"{where}.detailedBreakdowns")):
            detail = _object(detail, f"{where}.detailedBreakdowns[{m}]")
            details[detail.get("subtype")] = _money_2026(detail.get("value"), f"{where}.detailedBreakdowns[{m}].value")
        if kind == "ITEM":
            result.item_price = amount
        elif kind == "SHIPPING":
            result.shipping_price = amount
        elif kind == "TAX":
            if details:
                result.item_tax = details.get("ITEM", Decimal("0"))
                result.shipping_tax = details.get("SHIPPING", Decimal("0"))
            else:
                result.item_tax = amount
        elif kind == "DISCOUNT":
            if details:
                result.promotion_discount = abs(details.get("ITEM", Decimal("0")))
                result.shipping_discount = abs(details.get("SHIPPING", Decimal("0")))
            else:
                result.promotion_discount = abs(amount)
    return result


# --- Orders API v0 --------------------------------------------------------------------------------------------


def normalise_order_v0(order: dict, items: list[dict], address: dict | None = None,
                       buyer: dict | None = None) -> AmazonOrderData:
    """One v0 order with its items; raises ``UnreadableOrder`` (with ``raw``) if it cannot."""
    order_id = order.get("AmazonOrderId") if isinstance(order, dict) else None
    try:
        return _order_v0(_object(order, "Order", required=True), items, address, buyer)
    except UnreadableOrder as error:
        error.amazon_order_id = str(order_id or "")
        error.raw = {"order": order, "items": items}
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as error:
        unreadable = UnreadableOrder("Order", type(error).__name__, amazon_order_id=str(order_id or ""))
        unreadable.raw = {"order": order, "items": items}
        raise unreadable


def _order_v0(order: dict, items: list[dict], address: dict | None, buyer: dict | None) -> AmazonOrderData:
    total = order.get("OrderTotal")
    buyer = _object(buyer or order.get("BuyerInfo"), "BuyerInfo")
    address = _object(address or order.get("ShippingAddress"), "ShippingAddress")
    normal_items = [_item_v0(_object(item, f"OrderItems[{n}]"), f"OrderItems[{n}]")
                    for n, item in enumerate(_list(items, "OrderItems", required=True))]
    currency = _text(_object(total, "OrderTotal"), "CurrencyCode", "OrderTotal.CurrencyCode") if total else ""
    return AmazonOrderData(
        amazon_order_id=_text(order, "AmazonOrderId", "AmazonOrderId", required=True),
        status=_status(order.get("OrderStatus"), STATUS_V0, "OrderStatus"),
        purchase_date=_timestamp(order.get("PurchaseDate"), "PurchaseDate", required=True),
        last_update_date=_timestamp(order.get("LastUpdateDate"), "LastUpdateDate", required=True),
        marketplace_id=_text(order, "MarketplaceId", "MarketplaceId"),
        sales_channel=_text(order, "SalesChannel", "SalesChannel"),
        fulfillment_channel="AFN" if order.get("FulfillmentChannel") == "AFN" else "MFN",
        ship_service_level=_text(order, "ShipServiceLevel", "ShipServiceLevel"),
        shipment_service_level_category=_text(order, "ShipmentServiceLevelCategory", "ShipmentServiceLevelCategory"),
        buyer_name=buyer.get("BuyerName") or "",
        buyer_email=buyer.get("BuyerEmail") or "",
        buyer_company=buyer.get("BuyerCompanyName") or "",
        currency=currency,
        order_total=_money_v0(total, "OrderTotal") if total else None,
        is_prime=_truthy(order.get("IsPrime")),
        is_premium=_truthy(order.get("IsPremiumOrder")),
        is_business=_truthy(order.get("IsBusinessOrder")),
        is_replacement=_truthy(order.get("IsReplacementOrder")),
        items_shipped=_count(order.get("NumberOfItemsShipped"), "NumberOfItemsShipped"),
        items_unshipped=_count(order.get("NumberOfItemsUnshipped"), "NumberOfItemsUnshipped"),
        earliest_ship_date=_timestamp(order.get("EarliestShipDate"), "EarliestShipDate"),
        latest_ship_date=_timestamp(order.get("LatestShipDate"), "LatestShipDate"),
        earliest_delivery_date=_timestamp(order.get("EarliestDeliveryDate"), "EarliestDeliveryDate"),
        latest_delivery_date=_timestamp(order.get("LatestDeliveryDate"), "LatestDeliveryDate"),
        address=AmazonAddressData(
            name=address.get("Name") or "",
            company=address.get("CompanyName") or "",
            line1=address.get("AddressLine1") or "",
            line2=address.get("AddressLine2") or "",
            line3=address.get("AddressLine3") or "",
            city=address.get("City") or "",
            region=address.get("StateOrRegion") or "",
            postal_code=address.get("PostalCode") or "",
            country_code=address.get("CountryCode") or "",
            phone=address.get("Phone") or "",
        ) if address else None,
        payment_method=_text(order, "PaymentMethod", "PaymentMethod"),
        items=normal_items,
        raw={"order": order, "items": items},
    )


def _item_v0(item: dict, name: str) -> AmazonItemData:
    cancel = _object(item.get("BuyerRequestedCancel"), f"{name}.BuyerRequestedCancel")
    return AmazonItemData(
        order_item_id=_text(item, "OrderItemId", f"{name}.OrderItemId", required=True),
        seller_sku=_text(item, "SellerSKU", f"{name}.SellerSKU"),
        qty_ordered=_count(item.get("QuantityOrdered"), f"{name}.QuantityOrdered", required=True),
        asin=_text(item, "ASIN", f"{name}.ASIN"),
        title=item.get("Title") or "",
        condition=" ".join(filter(None, [item.get("ConditionId"), item.get("ConditionSubtypeId")])),
        qty_shipped=_count(item.get("QuantityShipped"), f"{name}.QuantityShipped"),
        item_price=_money_v0(item.get("ItemPrice"), f"{name}.ItemPrice"),
        item_tax=_money_v0(item.get("ItemTax"), f"{name}.ItemTax"),
        shipping_price=_money_v0(item.get("ShippingPrice"), f"{name}.ShippingPrice"),
        shipping_tax=_money_v0(item.get("ShippingTax"), f"{name}.ShippingTax"),
        shipping_discount=abs(_money_v0(item.get("ShippingDiscount"), f"{name}.ShippingDiscount")),
        shipping_discount_tax=abs(_money_v0(item.get("ShippingDiscountTax"), f"{name}.ShippingDiscountTax")),
        promotion_discount=abs(_money_v0(item.get("PromotionDiscount"), f"{name}.PromotionDiscount")),
        promotion_discount_tax=abs(_money_v0(item.get("PromotionDiscountTax"), f"{name}.PromotionDiscountTax")),
        buyer_requested_cancel=_truthy(cancel.get("IsBuyerRequestedCancel")),
        buyer_cancel_reason=cancel.get("BuyerCancelReason") or "",
    )
