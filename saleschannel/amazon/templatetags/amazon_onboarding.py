"""``{% unknown_skus order as skus %}``: the seller SKUs of an Amazon order that no product sells (no SKU mapping,
no product with that SKU), for the fix offered next to its Error note (create the product, or map the SKU)."""

from __future__ import annotations

from django import template

from saleschannel.amazon.sku_mapping import products_for_skus

register = template.Library()


@register.simple_tag
def unknown_skus(order) -> list[str]:
    skus = list(dict.fromkeys(item.seller_sku for item in order.items.all() if item.seller_sku))
    products, mapped = products_for_skus(order.store, set(skus))
    return [sku for sku in skus if sku not in products and (order.marketplace_id, sku) not in mapped
            and ("", sku) not in mapped]
