"""What a credit memo refunds on Amazon: per Amazon item, the components of an OrderAdjustment (DESIGN §4.5).

Amazon refuses a refund above an item's remaining proceeds (what it charged for each component, less what was
refunded already), so the amounts are kept within them (``refundable``); the total always equals the credit memo.
"""

from __future__ import annotations

from decimal import Decimal

from saleschannel.amazon import feeds
from saleschannel.amazon.models import AmazonOrder, OutboxKind, OutboxMessage, OutboxState
from saleschannel.core.money import quantum


def allocate(total: Decimal, weights: list[Decimal], q: Decimal) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights``, rounded to ``q``, the rounding left on the largest share."""
    if not weights:
        return []
    weight_sum = sum(weights, Decimal("0"))
    if weight_sum <= 0:
        return [total] + [Decimal("0")] * (len(weights) - 1)
    shares = [(total * w / weight_sum).quantize(q) for w in weights]
    largest = max(range(len(weights)), key=lambda i: weights[i])
    shares[largest] += total - sum(shares, Decimal("0"))
    return shares


def refund_lines(*, amazon_order: AmazonOrder, creditmemo, reason: str) -> list[dict]:
    """Per Amazon item, the components a credit memo refunds: Principal, Shipping, Tax, ShippingTax.

    Principal is the refunded row total less its discount; the memo's shipping (less the discount that follows it)
    and shipping tax are spread over the items in proportion to the shipping Amazon charged for each; an
    adjustment refund (less the fee) goes to the Principal of the first refunded line.
    """
    currency = creditmemo.order.currency
    q = quantum(currency)
    amazon_items = list(amazon_order.items.all())
    by_code = {item.order_item_id: item for item in amazon_items}
    amounts: dict[str, dict[str, Decimal]] = {}
    item_discounts = Decimal("0")
    for line in creditmemo.items.select_related("order_item"):
        code = line.order_item.external_item_id
        if code not in by_code:
            continue
        item_discounts += line.discount_amount
        entry = amounts.setdefault(code, {})
        entry["Principal"] = entry.get("Principal", Decimal("0")) + line.row_total - line.discount_amount
        entry["Tax"] = entry.get("Tax", Decimal("0")) + line.tax_amount
    shipping = creditmemo.shipping_amount - max(creditmemo.discount_amount - item_discounts, Decimal("0"))
    shipping_tax = creditmemo.shipping_tax_amount
    if (shipping > 0 or shipping_tax > 0) and amazon_items:
        with_shipping = [i for i in amazon_items if i.shipping_price > 0] or [
            by_code.get(next(iter(amounts), ""), amazon_items[0])]
        for component, total, weight in (("Shipping", shipping, "shipping_price"),
                                         ("ShippingTax", shipping_tax, "shipping_tax")):
            if total <= 0:
                continue
            weights = [getattr(i, weight) for i in with_shipping]
            if sum(weights, Decimal("0")) <= 0:
                weights = [i.shipping_price or Decimal("1") for i in with_shipping]
            for item, share in zip(with_shipping, allocate(total, weights, q), strict=True):
                if share:
                    entry = amounts.setdefault(item.order_item_id, {})
                    entry[component] = entry.get(component, Decimal("0")) + share
    adjustment = creditmemo.adjustment_refund - creditmemo.adjustment_fee
    if adjustment > 0 and not amounts and amazon_items:  # a goodwill refund alone: on the first item
        amounts[amazon_items[0].order_item_id] = {}
    if adjustment and amounts:
        first = next(iter(amounts.values()))
        first["Principal"] = max(first.get("Principal", Decimal("0")) + adjustment, Decimal("0"))
    _fit_to_refundable(amounts, refundable(amazon_order))
    return [
        {"item_code": code, "reason": reason,
         "amounts": {name: str(value.quantize(q)) for name, value in entry.items() if value > 0}}
        for code, entry in amounts.items() if any(value > 0 for value in entry.values())
    ]


# What Amazon charged per item and refund component: (amount field, discount field to take off).
_CHARGED = {"Principal": ("item_price", "promotion_discount"), "Shipping": ("shipping_price", "shipping_discount"),
            "Tax": ("item_tax", ""), "ShippingTax": ("shipping_tax", "")}


def refundable(amazon_order: AmazonOrder) -> dict[str, dict[str, Decimal]]:
    """Per Amazon item and component, what Amazon can still refund: what it charged less our earlier refunds (those
    it did not refuse: a dead letter whose outcome is unknown may have been applied, so it counts). Amazon refuses a
    refund above an item's remaining proceeds."""
    room = {item.order_item_id: {name: getattr(item, paid) - (getattr(item, less) if less else Decimal("0"))
                                 for name, (paid, less) in _CHARGED.items()}
            for item in amazon_order.items.all()}
    earlier = OutboxMessage.objects.filter(amazon_order=amazon_order, kind=OutboxKind.REFUND).exclude(
        state=OutboxState.DEAD, outcome_unknown=False)
    for payload in earlier.values_list("payload", flat=True):
        for line in payload.get("lines", []):
            for name, value in line.get("amounts", {}).items():
                if name in room.get(line["item_code"], {}):
                    room[line["item_code"]][name] -= Decimal(value)
    return room


def _fit_to_refundable(amounts: dict[str, dict[str, Decimal]], room: dict[str, dict[str, Decimal]]) -> None:
    """Keep each item's components within what Amazon can still refund: what a line asks beyond it (a goodwill
    adjustment put on one item's Principal, a shipping share) moves to components and items that have room, so the
    total still equals the credit memo. What fits nowhere stays on the first line: Amazon's report will say why."""
    excess = Decimal("0")
    for code, entry in amounts.items():
        for name, value in entry.items():
            limit = max(room.get(code, {}).get(name, value), Decimal("0"))
            if value > limit:
                excess += value - limit
                entry[name] = limit
    for name in feeds.COMPONENTS:
        for code in [*amounts, *(c for c in room if c not in amounts)]:
            if excess <= 0:
                return
            entry = amounts.get(code, {})
            free = room.get(code, {}).get(name, Decimal("0")) - entry.get(name, Decimal("0"))
            if free > 0:
                take = min(free, excess)
                amounts.setdefault(code, entry)[name] = entry.get(name, Decimal("0")) + take
                excess -= take
    if excess > 0 and amounts:
        first = next(iter(amounts.values()))
        first["Principal"] = first.get("Principal", Decimal("0")) + excess
