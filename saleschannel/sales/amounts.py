"""The money of sales documents: pure arithmetic on an order and its items, with no database access.

Money is ``Decimal`` in the order's currency, rounded half-up to its minor unit. Partial documents take their share
of an item's row total, tax and discount *cumulatively* — the amount for the first ``n`` units is
``round(total × n / ordered)`` and a document gets the difference between "after" and "before" — so invoicing or
refunding every unit returns exactly the item's totals, whatever the split, with no rounding drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import format_money, quantum
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderItem

ZERO = Decimal("0")


def cumulative(total: Decimal, whole, done, q: Decimal) -> Decimal:
    """The share of ``total`` that ``done`` out of ``whole`` units carry, rounded half-up (exact at the ends)."""
    if done == whole:
        return total
    if not whole or not done:
        return ZERO
    return (total * Decimal(done) / Decimal(whole)).quantize(q, rounding=ROUND_HALF_UP)


def share(total: Decimal, whole, before, after, q: Decimal) -> Decimal:
    """The part of ``total`` going from ``before`` to ``after`` units out of ``whole`` (see the module docstring)."""
    return cumulative(total, whole, after, q) - cumulative(total, whole, before, q)


@dataclass
class DocumentAmounts:
    """What a document will hold: its lines ``(order item, qty, row total, tax, discount)`` and its totals."""

    lines: list[tuple[OrderItem, int, Decimal, Decimal, Decimal]]
    subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    adjustment_refund: Decimal = ZERO
    adjustment_fee: Decimal = ZERO
    grand_total: Decimal = ZERO

    def as_dict(self) -> dict[str, Decimal]:
        return {"subtotal": self.subtotal, "shipping": self.shipping, "shipping_tax": self.shipping_tax,
                "discount": self.discount, "tax": self.tax, "adjustment_refund": self.adjustment_refund,
                "adjustment_fee": self.adjustment_fee, "grand_total": self.grand_total}


def item_shares(items: list[OrderItem], wanted: dict, done: str, q: Decimal, key=lambda item: item.pk):
    """Lines with each item's cumulative share of row total, tax and discount for ``wanted`` more units
    (``wanted`` is keyed by ``key(item)``: the item id, or ``id`` for items not saved yet)."""
    lines = []
    for item in items:
        qty = wanted.get(key(item))
        if not qty:
            continue
        before = getattr(item, done)
        after = before + qty
        lines.append((
            item, qty,
            share(item.row_total, item.qty_ordered, before, after, q),
            share(item.tax_amount, item.qty_ordered, before, after, q),
            share(item.discount_amount, item.qty_ordered, before, after, q),
        ))
    return lines


def order_level_discount(order: Order, items: list[OrderItem]) -> Decimal:
    """The part of the order's discount not carried by an item (e.g. a shipping discount)."""
    return order.discount_amount - sum((i.discount_amount for i in items), ZERO)


def invoice_amounts(order: Order, items: list[OrderItem], wanted: dict, key=lambda item: item.pk) -> DocumentAmounts:
    """The first invoice also carries the shipping, its tax and the order-level discount."""
    q = quantum(order.currency)
    first = all(item.qty_invoiced == 0 for item in items)
    amounts = DocumentAmounts(lines=item_shares(items, wanted, "qty_invoiced", q, key=key))
    if first:
        amounts.shipping, amounts.shipping_tax = order.shipping_amount, order.shipping_tax_amount
    order_discount = order_level_discount(order, items) if first else ZERO
    amounts.subtotal = sum((line[2] for line in amounts.lines), ZERO)
    amounts.tax = sum((line[3] for line in amounts.lines), ZERO) + amounts.shipping_tax
    amounts.discount = sum((line[4] for line in amounts.lines), ZERO) + order_discount
    amounts.grand_total = amounts.subtotal + amounts.shipping - amounts.discount + amounts.tax
    return amounts


def creditmemo_amounts(order: Order, items: list[OrderItem], wanted: dict[int, int], shipping: Decimal,
                        adj_refund: Decimal, adj_fee: Decimal) -> DocumentAmounts:
    """The credit memo's lines and totals; refuses an empty, negative or excessive refund."""
    currency = order.currency
    q = quantum(currency)
    amounts = DocumentAmounts(lines=item_shares(items, wanted, "qty_refunded", q), shipping=shipping,
                              adjustment_refund=adj_refund, adjustment_fee=adj_fee)
    # Order-level amounts (shipping tax, a discount not tied to an item) follow the shipping refunded; an order
    # without shipping gives them back with the credit memo that refunds its last invoiced unit.
    order_discount = order_level_discount(order, items)
    if order.shipping_amount > 0:
        before, after = order.shipping_refunded, order.shipping_refunded + shipping
        amounts.shipping_tax = share(order.shipping_tax_amount, order.shipping_amount, before, after, q)
        extra_discount = share(order_discount, order.shipping_amount, before, after, q)
    else:
        was_done = all(i.qty_refunded >= i.qty_invoiced for i in items)
        now_done = all(i.qty_to_invoice == 0 and i.qty_refunded + wanted.get(i.pk, 0) >= i.qty_invoiced
                       for i in items)
        last = now_done and not was_done
        amounts.shipping_tax = order.shipping_tax_amount if last else ZERO
        extra_discount = order_discount if last else ZERO
    amounts.subtotal = sum((line[2] for line in amounts.lines), ZERO)
    amounts.tax = sum((line[3] for line in amounts.lines), ZERO) + amounts.shipping_tax
    amounts.discount = sum((line[4] for line in amounts.lines), ZERO) + extra_discount
    amounts.grand_total = (amounts.subtotal + shipping - amounts.discount + amounts.tax + adj_refund - adj_fee)
    refundable = order.total_paid - order.total_refunded
    if not amounts.lines and not shipping and not adj_refund:
        raise OrderActionError(
            _("Nothing to refund: enter a quantity, a shipping refund or an adjustment refund."),
            code="invalid", field="quantities",
        )
    if amounts.grand_total < 0:
        if adj_fee:
            raise OrderActionError(_("The adjustment fee is more than the refund."), code="invalid",
                                   field="adjustment_fee")
        raise OrderActionError(_("The credit memo total cannot be negative."), code="invalid", field="quantities")
    if amounts.grand_total > refundable:
        raise OrderActionError(
            _("The refund of %(total)s is more than what is left to refund (%(max)s).")
            % {"total": format_money(amounts.grand_total, currency), "max": format_money(refundable, currency)},
            code="invalid", field="adjustment_refund" if adj_refund else "quantities",
        )
    return amounts
