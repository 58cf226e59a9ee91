"""Orders in Error that waited for a product are retried as soon as it appears, not at the next pass.

A product created or made salable (``core.events.PRODUCTS_AVAILABLE``), or a SKU mapping added
(``listings.py``), enqueues — once the transaction has committed — the retry of the open orders
(``sync.retry_open_orders``) of every Amazon store that has an order in Error with one of those seller SKUs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from saleschannel.amazon.models import AmazonOrderItem, AmazonOrderStatus, SkuMapping
from saleschannel.amazon.tasks import amazon_retry_open_orders
from saleschannel.core import events

logger = logging.getLogger(__name__)

CHUNK = 5_000  # SKUs per query (SQLite's variable limit)


def stores_waiting_for(skus: Iterable[str], *, store_ids: Iterable[int] | None = None) -> set[int]:
    """Amazon stores with an order in Error (no Commerce order) that has an item with one of these seller SKUs, or
    with a seller SKU mapped to a product with one of these SKUs."""
    skus = list(dict.fromkeys(s for s in skus if s))
    waiting: set[int] = set()
    for start in range(0, len(skus), CHUNK):
        chunk = skus[start:start + CHUNK]
        seller_skus = set(chunk) | set(SkuMapping.objects.filter(product__sku__in=chunk)
                                       .values_list("seller_sku", flat=True))
        items = AmazonOrderItem.objects.filter(order__status=AmazonOrderStatus.ERROR,
                                               order__commerce_order__isnull=True, seller_sku__in=seller_skus)
        if store_ids is not None:
            items = items.filter(order__store_id__in=list(store_ids))
        waiting |= set(items.values_list("order__store_id", flat=True).distinct())
    return waiting


def retry_waiting_orders(*, skus: Iterable[str], store_ids: Iterable[int] | None = None) -> None:
    """After the current transaction commits: enqueue the retry of the stores whose Error orders wait for ``skus``
    (seller SKUs or products' SKUs), restricted to ``store_ids`` when given."""
    skus = list(skus)
    store_ids = None if store_ids is None else list(store_ids)

    def enqueue() -> None:
        for store_id in sorted(stores_waiting_for(skus, store_ids=store_ids)):
            amazon_retry_open_orders(store_id)

    transaction.on_commit(enqueue)


def on_events(published: list[events.Event]) -> None:
    """``core.events`` subscriber: products became available, so the orders that waited for them are retried."""
    skus = [sku for event in published if event.kind == events.PRODUCTS_AVAILABLE for sku in event.payload["skus"]]
    if skus:
        retry_waiting_orders(skus=skus)
