"""Generation of realistic Amazon orders, reproducible from a seed.

An order is kept as one internal JSON document (see ``new_order``); :mod:`.render` turns it into the
Orders 2026-01-01 and v0 shapes. Money is kept as strings in the marketplace's currency (JPY without decimals).

Totals, the same in both API versions (the product rebuilds them to the cent)::

    OrderTotal = Σ ItemPrice + Σ ItemTax + Σ ShippingPrice + Σ ShippingTax − Σ PromotionDiscount − Σ ShippingDiscount

where every amount is a line (row) amount, ItemPrice = unit price × quantity, and the discounts carry no tax of
their own (PromotionDiscountTax and ShippingDiscountTax are always 0).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from . import catalog
from .catalog import Marketplace

DAY_MS = 86_400_000

V0_STATUSES = ["Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
               "InvoiceUnconfirmed", "PendingAvailability"]
STATUS_2026 = {"Pending": "PENDING", "Unshipped": "UNSHIPPED", "PartiallyShipped": "PARTIALLY_SHIPPED",
               "Shipped": "SHIPPED", "Canceled": "CANCELLED", "Unfulfillable": "UNFULFILLABLE",
               "PendingAvailability": "PENDING_AVAILABILITY",
               # 2026-01-01 has no InvoiceUnconfirmed: the order is paid and waits for shipment.
               "InvoiceUnconfirmed": "UNSHIPPED"}
STATUS_FROM_2026 = {v: k for k, v in STATUS_2026.items() if k != "InvoiceUnconfirmed"}


class SpecError(ValueError):
    """An order spec that cannot be built (message says which field)."""


def normalize_status(value: str) -> str:
    if value in V0_STATUSES:
        return value
    if value in STATUS_FROM_2026:
        return STATUS_FROM_2026[value]
    lowered = {s.lower(): s for s in V0_STATUSES}
    if value.lower() in lowered:
        return lowered[value.lower()]
    raise SpecError(f"unknown status {value!r} (one of {', '.join(V0_STATUSES)})")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def order_id(rng: random.Random, mp: Marketplace) -> str:
    return f"{mp.order_prefix}-{_digits(rng, 7)}-{_digits(rng, 7)}"


def _dec(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception:
        raise SpecError(f"{field}: not a number: {value!r}")


def _pick_marketplace(rng: random.Random, value: str | None) -> Marketplace:
    if value in (None, "", "*", "random"):
        codes = list(catalog.MARKETPLACE_WEIGHTS)
        return catalog.MARKETPLACES[rng.choices(codes, weights=list(catalog.MARKETPLACE_WEIGHTS.values()))[0]]
    try:
        return catalog.marketplace(value)
    except ValueError as exc:
        raise SpecError(str(exc))


def _flag(rng: random.Random, value: Any, probability: float) -> bool:
    if value is None:
        return rng.random() < probability
    return bool(value)


def new_order(
    rng: random.Random,
    spec: dict[str, Any],
    *,
    seller_id: str,
    created_ms: int,
    skus: list[catalog.Sku] | None = None,
) -> dict[str, Any]:
    """Build one order document from a spec; every value the spec leaves out is drawn from ``rng``.

    Spec keys (all optional): marketplace (code or id), fulfillment (MFN/AFN), lines, items
    [{sku, qty, price (unit), tax (row item tax), shipping (row), shipping_tax, discount (row promotion
    discount)}], prime, business, promotion, gift, replacement, buyer_name, buyer_email, seller_order_id.
    The status is applied by the caller (the store knows the clock and the pending delay).
    """
    mp = _pick_marketplace(rng, spec.get("marketplace"))
    channel = spec.get("fulfillment") or ("AFN" if rng.random() < 0.2 else "MFN")
    channel = str(channel).upper()
    if channel in ("FBA", "AMAZON"):
        channel = "AFN"
    if channel in ("FBM", "MERCHANT"):
        channel = "MFN"
    if channel not in ("MFN", "AFN"):
        raise SpecError(f"fulfillment: {channel!r} is not MFN or AFN")
    catalog_skus = skus or catalog.DEFAULT_SKUS
    prime = _flag(rng, spec.get("prime"), 0.6 if channel == "AFN" else 0.15)
    business = _flag(rng, spec.get("business"), 0.1)
    replacement = _flag(rng, spec.get("replacement"), 0.03)
    promotion = _flag(rng, spec.get("promotion"), 0.2)
    gift = _flag(rng, spec.get("gift"), 0.08)
    service_level, service_category = rng.choice(catalog.SHIP_SERVICE_LEVELS[channel])
    premium = service_category == "NextDay"

    item_specs = spec.get("items")
    if item_specs:
        if not isinstance(item_specs, list):
            raise SpecError("items: must be a list")
        lines = []
        for index, item in enumerate(item_specs):
            if not isinstance(item, dict) or not item.get("sku"):
                raise SpecError(f"items[{index}].sku is required")
            lines.append((catalog.sku(str(item["sku"])), item))
    else:
        count = spec.get("lines")
        count = int(count) if count else rng.choice([1, 1, 1, 2, 2, 3, 4])
        if not 1 <= count <= len(catalog_skus):
            raise SpecError(f"lines: must be between 1 and {len(catalog_skus)}")
        lines = [(s, {}) for s in rng.sample(catalog_skus, count)]

    items = []
    promoted_line = 0 if promotion else None
    free_shipping_promo = promotion and rng.random() < 0.3
    for index, (sku, item) in enumerate(lines):
        qty = int(item.get("qty") or rng.choice([1, 1, 1, 1, 2, 2, 3, 5]))
        if qty < 1:
            raise SpecError(f"items[{index}].qty must be at least 1")
        unit = mp.quantize(_dec(item["price"], f"items[{index}].price")) if "price" in item else sku.price_in(mp)
        if replacement:
            unit = mp.quantize(Decimal(0))
        row_price = unit * qty
        shipping = Decimal(0) if (prime or channel == "AFN" or replacement) else mp.shipping
        if "shipping" in item:
            shipping = mp.quantize(_dec(item["shipping"], f"items[{index}].shipping"))
        item_tax = (mp.quantize(_dec(item["tax"], f"items[{index}].tax")) if "tax" in item
                    else mp.quantize(row_price * mp.tax_rate))
        shipping_tax = (mp.quantize(_dec(item["shipping_tax"], f"items[{index}].shipping_tax"))
                        if "shipping_tax" in item else mp.quantize(shipping * mp.tax_rate))
        discount = Decimal(0)
        promotion_ids: list[str] = []
        shipping_discount = Decimal(0)
        if "discount" in item:
            discount = mp.quantize(_dec(item["discount"], f"items[{index}].discount"))
            if discount:
                promotion_ids.append(f"SANDBOX-PROMO-{index + 1}")
        elif promoted_line == index and row_price > 0:
            discount = mp.quantize(row_price * Decimal("0.10"))
            promotion_ids.append(rng.choice(["SANDBOX-PROMO-10OFF", "Spring Sale 10%", "Coupon-Q7K2"]))
            if free_shipping_promo and shipping:
                shipping_discount = shipping
                promotion_ids.append("FREE-SHIPPING")
        if discount > row_price:
            raise SpecError(f"items[{index}].discount exceeds the line price")
        items.append({
            "orderItemId": _digits(rng, 14),
            "sku": sku.sku,
            "asin": sku.asin,
            "title": str(item.get("title") or sku.title),
            "qty": qty,
            "shipped": 0,
            "itemPrice": mp.fmt(row_price),
            "itemTax": mp.fmt(item_tax),
            "shippingPrice": mp.fmt(shipping),
            "shippingTax": mp.fmt(shipping_tax),
            "promotionDiscount": mp.fmt(discount),
            "shippingDiscount": mp.fmt(shipping_discount),
            "promotionIds": promotion_ids,
            "gift": None,
            "buyerCancel": None,
            "refunded": {},
        })
    if gift:
        rng.choice(items)["gift"] = {"message": rng.choice(catalog.GIFT_MESSAGES),
                                     "wrapLevel": rng.choice(["Classic", "Premium"])}

    country = mp.country
    name = spec.get("buyer_name") or rng.choice(catalog.PEOPLE[country])
    line1, line2, city, region, postal, county = rng.choice(catalog.ADDRESSES[country])
    tld = {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "JP": "co.jp"}[country]
    email = spec.get("buyer_email") or f"{_hex(rng, 16)}@marketplace.amazon.{tld}"
    company = rng.choice(["Contoso Ltd", "Müller & Söhne GmbH", "Société Générale de Tests"]) if business else None
    if channel == "AFN":
        # Amazon gives FBA orders no street lines, recipient name or phone.
        address = {"city": city, "stateOrRegion": region, "postalCode": postal, "countryCode": country}
        buyer_name = None
    else:
        address = {"name": name, "addressLine1": line1, "city": city, "stateOrRegion": region,
                   "postalCode": postal, "countryCode": country, "phone": catalog.PHONES[country],
                   "addressType": "Commercial" if business else "Residential"}
        if line2:
            address["addressLine2"] = line2
        if county:
            address["county"] = county
        if company:
            address["companyName"] = company
        buyer_name = name
    return {
        "orderId": order_id(rng, mp),
        "sellerId": seller_id,
        "marketplaceId": mp.marketplace_id,
        "currency": mp.currency,
        "channel": channel,
        "status": "Pending",
        "createdMs": created_ms,
        "lastUpdatedMs": created_ms,
        "pendingUntilMs": None,
        "serviceLevel": service_level,
        "serviceCategory": service_category,
        "prime": prime,
        "business": business,
        "premium": premium,
        "replacedOrderId": order_id(rng, mp) if replacement else None,
        "sellerOrderId": spec.get("seller_order_id"),
        "buyer": {"name": buyer_name, "email": email, "company": company,
                  "po": f"PO-{_digits(rng, 6)}" if business else None},
        "address": address,
        "earliestShipMs": created_ms,
        "latestShipMs": created_ms + 2 * DAY_MS,
        "earliestDeliveryMs": created_ms + 3 * DAY_MS,
        "latestDeliveryMs": created_ms + 7 * DAY_MS,
        "items": items,
        "packages": [],
        "cancellation": None,
        "adjustments": [],
    }


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def order_total(doc: dict[str, Any]) -> Decimal:
    """The formula of the module docstring."""
    total = Decimal(0)
    for item in doc["items"]:
        total += (Decimal(item["itemPrice"]) + Decimal(item["itemTax"]) + Decimal(item["shippingPrice"])
                  + Decimal(item["shippingTax"]) - Decimal(item["promotionDiscount"])
                  - Decimal(item["shippingDiscount"]))
    return total


def tracking_number(rng: random.Random) -> str:
    return "1Z" + _hex(rng, 16).upper()
