"""Reads for the back office: the order grid, the order view, the document grids and the dashboard.

Every function here returns data for one screen in a fixed number of SQL queries, whatever the page size or the
number of items (``tests/sales/test_selectors.py`` and the query-count tests hold us to it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext

from saleschannel.sales.models import (
    AddressType,
    CreditMemo,
    CreditMemoItem,
    Invoice,
    InvoiceItem,
    Order,
    OrderAddress,
    OrderHistory,
    OrderItem,
    OrderState,
    OrderStatus,
    Shipment,
    ShipmentItem,
)
from saleschannel.sales.search import contains_condition

AMAZON_ORIGIN = "amazon"

# --- Order grid --------------------------------------------------------------------------------------------------

@dataclass
class OrderFilters:
    """What the order grid is filtered by. Empty values mean "no filter"."""

    keyword: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    statuses: list[str] = field(default_factory=list)
    store_ids: list[int] = field(default_factory=list)
    total_min: Decimal | None = None
    total_max: Decimal | None = None
    bill_to_name: str = ""
    ship_to_name: str = ""
    origin: str = ""  # "amazon", "other" (anything but Amazon) or an origin code

def _address_name(address_type: str):
    return Subquery(
        OrderAddress.objects.filter(order=OuterRef("pk"), address_type=address_type)
        .annotate(full=Concat("first_name", Value(" "), "last_name"))
        .values("full")[:1]
    )

def _name_matches(address_type: str, text: str):
    condition = Q(order=OuterRef("pk"), address_type=address_type)
    for word in text.split():
        condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return Exists(OrderAddress.objects.filter(condition))

def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the current (user's) time zone, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())

MAX_LISTED_IDS = 5000


def _exact_keyword_condition(word: str) -> Q | None:
    """The orders ``word`` names exactly, found through indexes, or None when it names none.

    First a whole order number, external (Amazon) order number or customer email, then a SKU. Asked separately
    because PostgreSQL cannot combine an index lookup with a subquery in one OR.
    """
    by_order = Q(number=word) | Q(external_order_number=word) | Q(customer_email__in={word, word.lower()})
    if Order.objects.filter(by_order).exists():
        return by_order
    # The ids themselves when there are not too many: planners then fetch those orders by primary key instead of
    # walking the purchase-date index and probing the items of every order.
    with_sku = OrderItem.objects.filter(sku=word).values_list("order_id", flat=True)
    order_ids = list(with_sku.order_by().distinct()[:MAX_LISTED_IDS + 1])
    if not order_ids:
        return None
    if len(order_ids) <= MAX_LISTED_IDS:
        if connection.vendor == "postgresql":
            # One array parameter, not thousands: binding 4,000 parameters (twice: the count and the page) cost
            # about 90 ms of the request in the driver, the query itself about 20 ms (bench/backoffice.py).
            return Q(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [order_ids]))  # noqa: S611 - ids as a parameter
        return Q(pk__in=order_ids)
    return Q(pk__in=with_sku)


def _keyword_condition(keyword: str) -> Q:
    """Orders matching ``keyword``.

    A single word that is exactly an order number, an external order number, a customer email or a SKU finds those
    orders through indexes (what staff paste most of the time, and fast on a million orders). Anything else is a
    "contains" search: every word must be part of the order number, external order number, customer first or last
    name or email, ignoring case (``search.contains_condition``: trigram GIN indexes on PostgreSQL, an FTS5 trigram
    table on SQLite for words of three characters or more).
    """
    words = keyword.split()
    if len(words) == 1:
        exact = _exact_keyword_condition(words[0])
        if exact is not None:
            return exact
    condition = Q()
    for word in words:
        condition &= contains_condition(word)
    return condition

NAME_ANNOTATIONS = ("bill_to_name", "ship_to_name")


def order_grid_queryset(filters: OrderFilters, *, ordering: tuple[str, ...] = ("-created_at", "-id"),
                        annotate_names: bool = False) -> QuerySet:
    """Orders matching ``filters`` in ``ordering``, with their store.

    The bill-to / ship-to names are annotated (correlated subqueries) only when sorting by them or when asked
    (``annotate_names``, for the CSV export): the database would otherwise compute them for every matching row
    before sorting. Pages get them from ``attach_address_names`` instead, in one query for the page.
    """
    orders = Order.objects.select_related("store")
    if annotate_names or any(field.lstrip("-") in NAME_ANNOTATIONS for field in ordering):
        orders = orders.annotate(
            bill_to_name=_address_name(AddressType.BILLING),
            ship_to_name=_address_name(AddressType.SHIPPING),
        )
    if filters.keyword.strip():
        orders = orders.filter(_keyword_condition(filters.keyword))
    if filters.created_from:
        orders = orders.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        orders = orders.filter(created_at__lt=_day_start(filters.created_to + dt.timedelta(days=1)))
    if filters.statuses:
        orders = orders.filter(status__in=filters.statuses)
    if filters.store_ids:
        orders = orders.filter(store_id__in=filters.store_ids)
    if filters.total_min is not None:
        orders = orders.filter(grand_total__gte=filters.total_min)
    if filters.total_max is not None:
        orders = orders.filter(grand_total__lte=filters.total_max)
    if filters.bill_to_name.strip():
        orders = orders.filter(_name_matches(AddressType.BILLING, filters.bill_to_name))
    if filters.ship_to_name.strip():
        orders = orders.filter(_name_matches(AddressType.SHIPPING, filters.ship_to_name))
    if filters.origin == "other":
        orders = orders.exclude(origin=AMAZON_ORIGIN)
    elif filters.origin:
        orders = orders.filter(origin=filters.origin)
    return orders.order_by(*ordering)

def attach_address_names(orders: list[Order]) -> list[Order]:
    """Set ``bill_to_name`` / ``ship_to_name`` on ``orders`` that lack them, in one query whatever their number."""
    missing = [order for order in orders if not hasattr(order, "bill_to_name")]
    if missing:
        names: dict[tuple[int, str], str] = {}
        rows = OrderAddress.objects.filter(order_id__in=[order.pk for order in missing]).values_list(
            "order_id", "address_type", "first_name", "last_name")
        for order_id, address_type, first_name, last_name in rows:
            names[(order_id, address_type)] = f"{first_name} {last_name}".strip()
        for order in missing:
            order.bill_to_name = names.get((order.pk, AddressType.BILLING), "")
            order.ship_to_name = names.get((order.pk, AddressType.SHIPPING), "")
    return orders


def order_status_labels() -> dict[str, str]:
    """{status code: label in the user's language}; the default statuses' labels have translations, custom ones
    are shown as the merchant wrote them."""
    return {code: gettext(label) for code, label in OrderStatus.objects.values_list("code", "label")}

# --- Order view --------------------------------------------------------------------------------------------------

def order_for_view(order_id: int) -> Order:
    """One order with everything the order view shows, in a fixed number of queries.

    Raises ``Order.DoesNotExist`` when there is no such order.
    """
    items = OrderItem.objects.select_related("product")
    return (
        Order.objects.select_related("store", "customer", "payment", "reordered_from")
        .prefetch_related(
            Prefetch("items", queryset=items),
            "addresses",
            Prefetch("invoices", queryset=Invoice.objects.annotate(total_qty=Sum("items__qty"))),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related("tracks"),
            ),
            Prefetch("creditmemos", queryset=CreditMemo.objects.annotate(total_qty=Sum("items__qty"))),
            Prefetch("history", queryset=OrderHistory.objects.select_related("author")),
        )
        .get(pk=order_id)
    )

def order_for_document(order_id: int) -> Order:
    """An order with its items and addresses, for the new invoice / shipment / credit memo pages (not the items'
    products: the pages do not show them, and 10,000 lines would be 10,000 more objects to build)."""
    return (
        Order.objects.select_related("store", "payment")
        .prefetch_related("items", "addresses")
        .get(pk=order_id)
    )

def addresses_by_type(order: Order) -> dict[str, OrderAddress]:
    return {address.address_type: address for address in order.addresses.all()}

# --- Document grids ----------------------------------------------------------------------------------------------

@dataclass
class DocumentFilters:
    keyword: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None

def _document_queryset(model, filters: DocumentFilters) -> QuerySet:
    documents = model.objects.select_related("order", "order__store").annotate(
        bill_to_name=Subquery(
            OrderAddress.objects.filter(order=OuterRef("order_id"), address_type=AddressType.BILLING)
            .annotate(full=Concat("first_name", Value(" "), "last_name"))
            .values("full")[:1]
        ),
    )
    for word in filters.keyword.split():
        documents = documents.filter(
            Q(number__icontains=word)
            | Q(order__number__icontains=word)
            | Q(order__external_order_number__icontains=word)
            | Q(order__customer_email__icontains=word)
            | Q(order__customer_first_name__icontains=word)
            | Q(order__customer_last_name__icontains=word)
        )
    if filters.created_from:
        documents = documents.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to:
        documents = documents.filter(created_at__lt=_day_start(filters.created_to + dt.timedelta(days=1)))
    return documents.order_by("-created_at", "-id")

def invoice_grid_queryset(filters: DocumentFilters) -> QuerySet:
    return _document_queryset(Invoice, filters)

def shipment_grid_queryset(filters: DocumentFilters) -> QuerySet:
    return _document_queryset(Shipment, filters).annotate(
        ship_to_name=Subquery(
            OrderAddress.objects.filter(order=OuterRef("order_id"), address_type=AddressType.SHIPPING)
            .annotate(full=Concat("first_name", Value(" "), "last_name"))
            .values("full")[:1]
        )
    )

def creditmemo_grid_queryset(filters: DocumentFilters) -> QuerySet:
    return _document_queryset(CreditMemo, filters)

def invoices_for_orders(order_ids) -> list[Invoice]:
    return list(
        Invoice.objects.filter(order_id__in=order_ids)
        .select_related("order", "order__store", "order__payment")
        .prefetch_related(
            Prefetch("items", queryset=InvoiceItem.objects.select_related("order_item")),
            "order__addresses",
        )
        .order_by("order_id", "id")
    )

def shipments_for_orders(order_ids) -> list[Shipment]:
    return list(
        Shipment.objects.filter(order_id__in=order_ids)
        .select_related("order", "order__store", "order__payment")
        .prefetch_related(
            Prefetch("items", queryset=ShipmentItem.objects.select_related("order_item")),
            "tracks",
            "order__addresses",
        )
        .order_by("order_id", "id")
    )

def creditmemos_for_orders(order_ids) -> list[CreditMemo]:
    return list(
        CreditMemo.objects.filter(order_id__in=order_ids)
        .select_related("order", "order__store", "order__payment")
        .prefetch_related(
            Prefetch("items", queryset=CreditMemoItem.objects.select_related("order_item")),
            "order__addresses",
        )
        .order_by("order_id", "id")
    )

def document_for_view(model, document_id: int):
    """An invoice, shipment or credit memo with its lines, its order and the order's addresses (fixed queries).

    Raises ``model.DoesNotExist`` when there is none.
    """
    # The lines' order items come in the lines' query (a join): prefetching them would name every id in one
    # condition, which SQLite refuses for a 10,000-line document ("Expression tree is too large").
    item_model = model._meta.get_field("items").related_model
    documents = model.objects.select_related("order", "order__store", "order__payment").prefetch_related(
        Prefetch("items", queryset=item_model.objects.select_related("order_item")), "order__addresses")
    if model is Shipment:
        documents = documents.prefetch_related("tracks")
    return documents.get(pk=document_id)


# --- Dashboard ---------------------------------------------------------------------------------------------------

@dataclass
class PeriodFigures:
    days: int
    order_count: int
    revenue: list[tuple[str, Decimal]]  # (currency, amount), biggest first

def dashboard_summary(*, now: dt.datetime | None = None, chart_days: int = 30) -> dict:
    """Latest orders, order counts and revenue for today / 7 / 30 days, and orders per day for the chart.

    Canceled orders are left out of the counts, the revenue and the chart. Days are the user's local days. The
    figures come from one grouped query over the last ``chart_days`` days: each order is put in its local day by
    comparing its UTC time with the days' UTC starts (exact across daylight-saving changes, and cheap: no time
    zone conversion per row).
    """
    now = timezone.localtime(now or timezone.now())
    today = now.date()
    first_day = today - dt.timedelta(days=chart_days - 1)
    starts = [_day_start(first_day + dt.timedelta(days=i)) for i in range(chart_days)]
    day_index = Case(
        *[When(created_at__gte=start, then=Value(i)) for i, start in reversed(list(enumerate(starts)))],
        default=Value(-1), output_field=IntegerField(),
    )
    rows = list(
        Order.objects.exclude(state=OrderState.CANCELED)
        .filter(created_at__gte=starts[0])
        .annotate(day_index=day_index)
        .values("day_index", "currency")
        .annotate(orders=Count("id"), revenue=Sum("grand_total"))
        .order_by()
    )

    periods = []
    for days in (1, 7, 30):
        since = chart_days - days
        counts: dict[str, int] = {}
        revenue: dict[str, Decimal] = {}
        for row in rows:
            if row["day_index"] >= since:
                counts[row["currency"]] = counts.get(row["currency"], 0) + row["orders"]
                revenue[row["currency"]] = revenue.get(row["currency"], Decimal("0")) + (row["revenue"] or 0)
        periods.append(PeriodFigures(
            days=days, order_count=sum(counts.values()),
            revenue=sorted(revenue.items(), key=lambda pair: pair[1], reverse=True),
        ))

    per_day = [0] * chart_days
    for row in rows:
        if row["day_index"] >= 0:
            per_day[row["day_index"]] += row["orders"]
    chart = [(first_day + dt.timedelta(days=i), per_day[i]) for i in range(chart_days)]

    latest = list(
        Order.objects.select_related("store")
        .annotate(bill_to_name=_address_name(AddressType.BILLING))
        .order_by("-created_at", "-id")[:10]
    )
    return {"periods": periods, "chart": chart, "latest_orders": latest}
