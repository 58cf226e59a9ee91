"""Reads of the API that no app's selectors offer yet: the relations of a page of orders, Amazon orders, stores
with their sync health, products.

Each list read is a fixed number of queries whatever the number of rows (the tests pin them). The outbox list is
``amazon.selectors.outbox_messages``'. The encrypted credentials of Amazon stores are never read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from saleschannel.amazon import selectors as amazon_selectors
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderStatus,
    AmazonStore,
    EventLevel,
    OutboxMessage,
    OutboxState,
    SyncRun,
    SyncRunState,
)
from saleschannel.catalog.models import Product, Store
from saleschannel.sales.models import Order, OrderAddress, OrderItem

# The outbox states still on their way to Amazon (``amazon.delivery.PENDING_STATES``).
PENDING_OUTBOX_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT, OutboxState.FAILED)
HEALTH_WINDOW = timedelta(hours=24)
# Never read by the API: the encrypted credentials of an Amazon store.
STORE_SECRETS = ("lwa_client_id_encrypted", "lwa_client_secret_encrypted", "refresh_token_encrypted")


# --- A page of orders ---------------------------------------------------------------------------------------

ORDER_ADDRESS_KEYS = ("address_type", "first_name", "last_name", "company", "street1", "street2", "street3", "city",
                      "region", "postcode", "country_code", "phone", "email")
ORDER_AMAZON_KEYS = ("amazon_order_id", "status", "amazon_status", "fulfillment_channel", "marketplace_id",
                     "buyer_cancel_requested", "latest_ship_date")


@dataclass(frozen=True)
class OrderPageRelations:
    """What a page of orders shows beside the orders, by order id: items (``OrderItem`` rows, by id), addresses
    (dicts of ``ORDER_ADDRESS_KEYS`` by type) and the Amazon order (a dict of ``ORDER_AMAZON_KEYS``) when there is
    one."""

    items: dict[int, list[OrderItem]]
    addresses: dict[int, dict[str, dict]]
    amazon: dict[int, dict]


def order_page_relations(orders: list[Order]) -> OrderPageRelations:
    """Three queries whatever the page's size, grouped here.

    Not ``prefetch_related``: it builds a related manager (a queryset clone) per order and relation, a fifth of the
    CPU time of a page of 100 orders (bench/api_list.py). Addresses and Amazon orders are read as values: the page
    shows a few of their columns, and an Amazon order's raw copy is large.
    """
    ids = [order.pk for order in orders]
    items: dict[int, list[OrderItem]] = defaultdict(list)
    for item in OrderItem.objects.filter(order_id__in=ids).order_by("id"):
        items[item.order_id].append(item)
    addresses: dict[int, dict[str, dict]] = defaultdict(dict)
    for address in OrderAddress.objects.filter(order_id__in=ids).values("order_id", *ORDER_ADDRESS_KEYS):
        addresses[address.pop("order_id")][address["address_type"]] = address  # one per type (a constraint)
    amazon_ids = [order.pk for order in orders if amazon_selectors.is_amazon_order(order)]
    amazon = {row.pop("commerce_order_id"): row for row in AmazonOrder.objects.filter(
        commerce_order_id__in=amazon_ids).values("commerce_order_id", *ORDER_AMAZON_KEYS)} if amazon_ids else {}
    return OrderPageRelations(items=items, addresses=addresses, amazon=amazon)


# --- Amazon orders -------------------------------------------------------------------------------------------


def _amazon_orders() -> QuerySet[AmazonOrder]:
    """Amazon orders with their store, the number of their Commerce order and their items; never the raw copy of
    Amazon's data (large, and personal)."""
    return (AmazonOrder.objects.select_related("store").defer("raw", *(f"store__{name}" for name in STORE_SECRETS))
            .annotate(commerce_order_number=F("commerce_order__number"))
            .prefetch_related("items"))


def amazon_orders(*, store_ids: list[int], statuses: list[str],
                  updated_after: datetime | None) -> QuerySet[AmazonOrder]:
    """Amazon orders, oldest change first (``updated_at``, then ``id``: the cursor's order)."""
    orders = _amazon_orders().order_by("updated_at", "id")
    if store_ids:
        orders = orders.filter(store_id__in=store_ids)
    if statuses:
        orders = orders.filter(status__in=statuses)
    if updated_after is not None:
        orders = orders.filter(updated_at__gte=updated_after)
    return orders


def amazon_order(amazon_order_id: str) -> AmazonOrder | None:
    """One Amazon order by Amazon's number, with its items and outbound messages (newest first), or None."""
    messages = OutboxMessage.objects.order_by("-created_at", "-id")
    return (_amazon_orders().prefetch_related(Prefetch("outbox_messages", queryset=messages))
            .filter(amazon_order_id=amazon_order_id).first())


AMAZON_ORDER_STATUSES = tuple(AmazonOrderStatus.values)


# --- Stores --------------------------------------------------------------------------------------------------


def _count(rows: QuerySet, group: str):
    """The number of ``rows`` (filtered on ``OuterRef``) as a subquery annotation, 0 when there are none."""
    counted = rows.order_by().values(group).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def amazon_stores_with_health(*, now: datetime | None = None) -> QuerySet[AmazonStore]:
    """Amazon stores with the store dashboard's sync health figures, in one query (without the credentials)."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    store = OuterRef("pk")
    return (AmazonStore.objects.order_by("name", "id")
            .defer(*STORE_SECRETS)
            .annotate(
                orders_in_error=_count(AmazonOrder.objects.filter(store=store, status=AmazonOrderStatus.ERROR),
                                       "store"),
                queued_outbound=_count(OutboxMessage.objects.filter(amazon_order__store=store,
                                                                    state__in=PENDING_OUTBOX_STATES),
                                       "amazon_order__store"),
                dead_outbound=_count(OutboxMessage.objects.filter(amazon_order__store=store, state=OutboxState.DEAD),
                                     "amazon_order__store"),
                failed_runs_24h=_count(SyncRun.objects.filter(store=store, started_at__gte=since,
                                                              state=SyncRunState.FAILED), "store"),
                error_events_24h=_count(AmazonOrderEvent.objects.filter(order__store=store, created_at__gte=since,
                                                                        level=EventLevel.ERROR), "order__store"),
            ))


def stores(*, store_id: int | None = None, with_amazon: bool = True) -> QuerySet[Store]:
    """Commerce stores (or the one ``store_id``), each with its Amazon stores and their health when
    ``with_amazon`` (two queries)."""
    rows = Store.objects.order_by("id")
    if with_amazon:
        rows = rows.prefetch_related(Prefetch("amazon_stores", queryset=amazon_stores_with_health()))
    return rows.filter(pk=store_id) if store_id is not None else rows


def amazon_store(store_id: int) -> AmazonStore | None:
    return AmazonStore.objects.filter(pk=store_id).defer(*STORE_SECRETS).first()


def outbox_messages(*, states: list[str], store: AmazonStore | None) -> QuerySet[OutboxMessage]:
    """``amazon.selectors.outbox_messages`` (oldest first), without the large or secret columns of the Amazon
    order and store it loads."""
    return amazon_selectors.outbox_messages(states=states, store=store).defer(
        "amazon_order__raw", *(f"amazon_order__store__{name}" for name in STORE_SECRETS))


# --- Products ------------------------------------------------------------------------------------------------


def products(*, skus: list[str]) -> QuerySet[Product]:
    """Products by id (the cursor's order), only the given SKUs (exact) when there are some."""
    rows = Product.objects.order_by("id")
    return rows.filter(sku__in=skus) if skus else rows


def product_by_sku(sku: str) -> Product | None:
    return Product.objects.filter(sku=sku).first()


def products_by_sku(skus: list[str]) -> dict[str, Product]:
    return {product.sku: product for product in Product.objects.filter(sku__in=skus)}
