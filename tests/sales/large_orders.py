"""A very large order built fast: one line through ``order_create``, the rest bulk-created, totals set to match."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from saleschannel.sales.models import Order, OrderItem
from tests import factories


def make_large_order(*, store, lines: int, qty: int = 2, price: str = "1.50") -> Order:
    """An order of ``lines`` lines of ``qty`` units at ``price`` (no tax, no discount, no shipping).

    The first line goes through ``order_create`` (numbers, history, reservation); the others share an unmanaged
    product and are bulk-created, then the order's totals are recomputed from its lines.
    """
    product = factories.make_product(price=price, qty=0, manage_stock=False)
    order = factories.make_order(store=store, items=[factories.line(product, qty)])
    first = order.items.get()
    unit = Decimal(price)
    OrderItem.objects.bulk_create(
        [
            OrderItem(order=order, product=product, sku=f"{product.sku}-{n}", name=f"{product.name} {n}",
                      qty_ordered=qty, original_price=unit, price=unit, row_total=unit * qty)
            for n in range(1, lines)
        ],
        batch_size=2000,
    )
    assert first.row_total == unit * qty
    subtotal = OrderItem.objects.filter(order=order).aggregate(total=Sum("row_total"))["total"]
    Order.objects.filter(pk=order.pk).update(subtotal=subtotal, grand_total=subtotal + order.shipping_amount
                                             - order.discount_amount + order.tax_amount)
    return Order.objects.get(pk=order.pk)
