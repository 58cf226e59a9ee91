"""The order grid: columns (with a registry other channels extend), filters from the query string, filter chips,
sorting, column chooser, page size and the streamed CSV export.

Extension points for channels: ``register_column(key, label, value=..., ...)`` adds a column every user can pick in
the column chooser. A column may also adjust the grid's queryset (``queryset=``), e.g. to annotate what it shows, so
the grid stays one query per page. ``register_channel(origin, label, ...)`` says how the default "Channel" column
shows a channel's orders: its name and the channel's own order number (the Amazon channel: "Amazon" and the Amazon
order number, linked to Amazon Order Details).
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.core.i18n import iso_datetime, short_datetime
from saleschannel.core.money import format_money
from saleschannel.core.querystring import query_string_with
from saleschannel.sales import selectors
from saleschannel.sales.forms import PAGE_SIZES, OrderGridFilterForm
from saleschannel.sales.models import Order

DEFAULT_PAGE_SIZE = 20
DEFAULT_SORT = "-created_at"


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # str or lazy translation
    text: Callable[[Order], str]  # plain text: CSV and, unless ``html`` is given, the cell
    html: Callable[[Order], str] | None = None  # cell markup (must escape what it shows: use format_html)
    sort: str | tuple[str, ...] | None = None  # field(s) or annotation(s) to order by; None = not sortable
    default: bool = False  # shown when the user has not chosen columns
    queryset: Callable | None = None  # qs -> qs, to add what the column shows
    numeric: bool = False
    csv: Callable[[Order], str] | None = None  # CSV cell when it differs from ``text`` (dates: ISO 8601)

    def cell(self, order: Order) -> str:
        return self.html(order) if self.html else self.text(order)

    def csv_cell(self, order: Order) -> str:
        return self.csv(order) if self.csv else self.text(order)


_columns: dict[str, Column] = {}


def register_column(
    key: str, label, *, text: Callable[[Order], str], html: Callable[[Order], str] | None = None,
    sort: str | tuple[str, ...] | None = None, default: bool = False, queryset: Callable | None = None,
    numeric: bool = False, after: str | None = None, csv: Callable[[Order], str] | None = None,
) -> Column:
    """Add (or replace) an order grid column. ``after`` places it after another column's key; ``csv`` writes its
    CSV cell when that differs from ``text`` (a date in ISO 8601)."""
    column = Column(key, label, text, html, sort, default, queryset, numeric, csv)
    items = [(k, c) for k, c in _columns.items() if k != key]
    position = len(items)
    if after is not None:
        position = next((i + 1 for i, (k, _c) in enumerate(items) if k == after), position)
    items.insert(position, (key, column))
    _columns.clear()
    _columns.update(items)
    return column


def columns() -> dict[str, Column]:
    return dict(_columns)


_aliases: dict[str, str] = {}


def register_column_alias(old_key: str, key: str) -> None:
    """Read ``old_key`` (a column that was renamed or merged into another) as ``key`` in ``cols=`` and ``sort=``, so
    saved views and bookmarks that name it keep working."""
    _aliases[old_key] = key


@dataclass(frozen=True)
class ChannelDisplay:
    label: object  # the channel's name ("Amazon")
    text: Callable[[Order], str] | None = None  # the channel's own order number, "" when none (plain text: CSV)
    html: Callable[[Order], str] | None = None  # the same as markup (must escape what it shows)
    queryset: Callable | None = None  # qs -> qs, to add what ``text``/``html`` read


_channels: dict[str, ChannelDisplay] = {}


def register_channel(origin: str, label, *, text: Callable[[Order], str] | None = None,
                     html: Callable[[Order], str] | None = None, queryset: Callable | None = None) -> ChannelDisplay:
    """How the grid's "Channel" column (shown by default) shows the orders whose ``origin`` is ``origin``: ``label``,
    then the channel's own order number (``text`` for CSV, ``html`` for the cell). ``queryset`` adds what they read
    to the grid's query (applied to every page that shows the column)."""
    channel = ChannelDisplay(label, text, html, queryset)
    _channels[origin] = channel
    return channel


def _channel_label(order: Order) -> str:
    channel = _channels.get(order.origin)
    return str(channel.label) if channel else order.origin.capitalize()


def _reference(order: Order) -> str:
    """The channel's own number of the order: what the channel says, else the external order number."""
    channel = _channels.get(order.origin)
    return (channel.text(order) if channel and channel.text else "") or order.external_order_number or ""


def _channel_text(order: Order) -> str:
    return f"{_channel_label(order)} {_reference(order)}".strip()


def _channel_html(order: Order) -> str:
    channel = _channels.get(order.origin)
    reference = (channel.html(order) if channel and channel.html else "") or _reference(order)
    return format_html('<span class="muted channel-name">{}</span> {}', _channel_label(order), reference)


def _channel_queryset(orders):
    for channel in _channels.values():
        if channel.queryset:
            orders = channel.queryset(orders)
    return orders


def _date(value) -> str:
    """The grid's date: short date and time in the reader's time zone (named under the grid)."""
    return short_datetime(value) if value else ""


def _status_label(order: Order) -> str:
    labels = getattr(order, "_status_labels", None) or {}
    return str(labels.get(order.status, order.status))


register_column(
    "number", gettext_lazy("Order Number"), text=lambda o: o.number, sort="number", default=True,
    html=lambda o: format_html('<a href="{}">{}</a>', reverse("sales:order_view", args=[o.pk]), o.number),
)
register_column("created_at", gettext_lazy("Purchase Date"), text=lambda o: _date(o.created_at),
                sort="created_at", default=True, csv=lambda o: iso_datetime(o.created_at))
register_column("bill_to_name", gettext_lazy("Bill-to Name"), text=lambda o: o.bill_to_name or "",
                sort="bill_to_name", default=True)
register_column("status", gettext_lazy("Status"), text=_status_label, sort="status", default=True)
# The channel and its own order number in one column (for Amazon orders the external number is the Amazon number).
register_column("channel", gettext_lazy("Channel"), text=_channel_text, html=_channel_html,
                sort=("origin", "external_order_number"), default=True, queryset=_channel_queryset)
register_column("grand_total", gettext_lazy("Grand Total"), text=lambda o: format_money(o.grand_total, o.currency),
                sort="grand_total", default=True, numeric=True)
register_column("store", gettext_lazy("Purchase Point"), text=lambda o: o.store.name, sort="store__name")
register_column("ship_to_name", gettext_lazy("Ship-to Name"), text=lambda o: o.ship_to_name or "",
                sort="ship_to_name")
register_column("total_paid", gettext_lazy("Total Paid"), text=lambda o: format_money(o.total_paid, o.currency),
                sort="total_paid", numeric=True)
register_column("external_order_number", gettext_lazy("External Order Number"),
                text=lambda o: o.external_order_number, sort="external_order_number")
register_column("origin", gettext_lazy("Origin"), text=_channel_label, sort="origin")  # "Amazon", "Back office"
register_column("customer_email", gettext_lazy("Customer Email"), text=lambda o: o.customer_email,
                sort="customer_email")
register_column("customer_name", gettext_lazy("Customer Name"), text=lambda o: o.customer_name,
                sort="customer_last_name")
register_channel("backoffice", gettext_lazy("Back office"))


@dataclass(frozen=True)
class ExtraFilter:
    key: str
    field: object  # a django.forms.Field (its label is the chip's label)
    apply: Callable  # (orders queryset, cleaned value) -> queryset
    describe: Callable | None = None  # cleaned value -> text of the chip


_filters: dict[str, ExtraFilter] = {}


def register_filter(key: str, field, *, apply: Callable, describe: Callable | None = None) -> ExtraFilter:
    """Add a filter to the order grid's filter panel (e.g. the Amazon channel's "Buyer requested cancel").

    ``field`` is a form field read from the query string under ``key``; when it has a value, ``apply(orders,
    value)`` narrows the orders; its chip shows ``describe(value)`` (or the value).
    """
    extra = ExtraFilter(key, field, apply, describe)
    _filters[key] = extra
    return extra


def extra_filters() -> dict[str, ExtraFilter]:
    return dict(_filters)


@dataclass
class Chip:
    label: str
    value: str
    remove_url: str


# Query-string keys of the filters (each may be cleared by its chip) and of the grid's presentation.
FILTER_KEYS = ("q", "created_from", "created_to", "status", "store", "total_min", "total_max", "bill_to",
               "ship_to", "origin")
VIEW_KEYS = ("sort", "cols", "per_page")


class OrderGrid:
    """The state of the order grid for one request: filters, sort, visible columns, page size."""

    def __init__(self, params: QueryDict, *, statuses: list[tuple[str, str]], stores: list[tuple[str, str]]):
        self.params = params
        self.form = OrderGridFilterForm(params or None, statuses=statuses, stores=stores)
        self.extra_filters = extra_filters()
        for key, extra in self.extra_filters.items():
            self.form.fields[key] = copy.deepcopy(extra.field)
        self.filter_keys = (*FILTER_KEYS, *self.extra_filters)
        self.status_labels = dict(statuses)
        self.store_labels = dict(stores)
        self.data = self._valid_data()
        data = self.data
        self.filters = selectors.OrderFilters(
            keyword=data.get("q") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            statuses=list(data.get("status") or []),
            store_ids=[int(pk) for pk in data.get("store") or []],
            total_min=data.get("total_min"),
            total_max=data.get("total_max"),
            bill_to_name=data.get("bill_to") or "",
            ship_to_name=data.get("ship_to") or "",
            origin=data.get("origin") or "",
        )
        available = columns()
        chosen = [_aliases.get(key, key) for key in ",".join(params.getlist("cols")).split(",")]
        requested = list(dict.fromkeys(key for key in chosen if key in available))
        self.visible_keys = requested or [key for key, column in available.items() if column.default]
        self.all_columns = available
        self.sort = params.get("sort", DEFAULT_SORT)
        sort_key = self.sort.lstrip("-")
        if sort_key in _aliases:
            sort_key = _aliases[sort_key]
            self.sort = ("-" if self.sort.startswith("-") else "") + sort_key
        if sort_key not in available or not available[sort_key].sort:
            self.sort, sort_key = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
        self.sort_key = sort_key
        self.sort_desc = self.sort.startswith("-")
        try:
            per_page = int(params.get("per_page", DEFAULT_PAGE_SIZE))
        except ValueError:
            per_page = DEFAULT_PAGE_SIZE
        self.per_page = per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE

    def _valid_data(self) -> dict:
        """The filters that are valid; an invalid one shows its error in the panel and is left out."""
        if not self.form.is_bound:
            return {}
        self.form.is_valid()
        return dict(self.form.cleaned_data)

    # -- data --
    @property
    def visible_columns(self) -> list[Column]:
        return [self.all_columns[key] for key in self.visible_keys]

    def ordering(self) -> tuple[str, ...]:
        sort = self.all_columns[self.sort_key].sort
        fields = sort if isinstance(sort, tuple) else (sort,)
        direction = "-" if self.sort_desc else ""
        return (*(f"{direction}{field}" for field in fields), f"{direction}id")

    def _apply_extra_filters(self, orders):
        for key, extra in self.extra_filters.items():
            value = self.data.get(key)
            if value not in (None, "", [], False):
                orders = extra.apply(orders, value)
        return orders

    def queryset(self, *, annotate_names: bool = False):
        orders = selectors.order_grid_queryset(self.filters, ordering=self.ordering(), annotate_names=annotate_names)
        orders = self._apply_extra_filters(orders)
        for column in self.visible_columns:
            if column.queryset:
                orders = column.queryset(orders)
        return orders

    def page(self, number):
        """The requested page: ``(page, orders)``, in two queries plus the count, whatever the page size.

        The database first sorts and slices only the ids (a narrow sort, often answered from an index alone), then
        the page's orders are fetched by primary key with what the visible columns need.
        """
        matching = self._apply_extra_filters(selectors.order_grid_queryset(self.filters, ordering=self.ordering()))
        sort_column = self.all_columns[self.sort_key]
        if sort_column.queryset:  # what the sort needs (before values_list: select_related is fine there)
            matching = sort_column.queryset(matching)
        page = Paginator(matching.values_list("pk", flat=True), self.per_page).get_page(number)
        page_ids = list(page.object_list)
        orders = Order.objects.select_related("store").filter(pk__in=page_ids)
        for column in self.visible_columns:
            if column.queryset:
                orders = column.queryset(orders)
        by_id = {order.pk: order for order in orders}
        return page, [by_id[pk] for pk in page_ids if pk in by_id]

    def rows(self, orders: Iterable[Order]) -> list[tuple[Order, list[tuple[str, bool]]]]:
        rows = []
        for order in selectors.attach_address_names(list(orders)):
            order._status_labels = self.status_labels
            rows.append((order, [(column.cell(order), column.numeric) for column in self.visible_columns]))
        return rows

    # -- URLs --
    def url(self, **changes) -> str:
        """The current query string with ``changes`` applied (a value of None removes the key)."""
        return query_string_with(self.params, **changes)

    def sort_url(self, key: str) -> str:
        if key == self.sort_key:
            return self.url(sort=key if self.sort_desc else f"-{key}")
        return self.url(sort=f"-{key}" if key in ("created_at", "grand_total", "total_paid") else key)

    def header(self) -> list[dict]:
        return [
            {
                "key": column.key, "label": column.label, "numeric": column.numeric,
                "sort_url": self.sort_url(column.key) if column.sort else "",
                "sorted": ("desc" if self.sort_desc else "asc") if column.key == self.sort_key else "",
            }
            for column in self.visible_columns
        ]

    def clear_all_url(self) -> str:
        kept = [(key, value) for key in VIEW_KEYS for value in self.params.getlist(key) if value]
        return "?" + urlencode(kept) if kept else "?"

    def view_query(self) -> str:
        """The query string a saved view keeps (filters and presentation, never the page number)."""
        params = self.params.copy()
        for key in list(params.keys()):
            if key not in self.filter_keys and key not in VIEW_KEYS:
                params.pop(key)
        return params.urlencode()

    def chips(self) -> list[Chip]:
        data, chips = self.data, []
        fields = self.form.fields
        for key in self.filter_keys:
            value = data.get(key)
            if value in (None, "", [], False):
                continue
            if key == "status":
                shown = ", ".join(str(self.status_labels.get(code, code)) for code in value)
            elif key == "store":
                shown = ", ".join(str(self.store_labels.get(pk, pk)) for pk in value)
            elif key == "origin":
                shown = str(dict(fields["origin"].choices).get(value, value))
            elif key in self.extra_filters and self.extra_filters[key].describe:
                shown = str(self.extra_filters[key].describe(value))
            else:
                shown = str(value)
            chips.append(Chip(str(fields[key].label), shown, self.url(**{key: None})))
        return chips

    def column_choices(self) -> list[dict]:
        return [
            {"key": key, "label": column.label, "checked": key in self.visible_keys}
            for key, column in self.all_columns.items()
        ]


# --- CSV export --------------------------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (a customer can type "=HYPERLINK(…)" as a name)."""
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


class _Echo:
    def write(self, value):
        return value


def csv_rows(grid: OrderGrid, *, chunk_size: int = 2000) -> Iterator[str]:
    """CSV lines of the grid's rows, in the language and time zone of the request that asked for them (dates in
    ISO 8601 with that zone's offset: "2026-11-29T22:19:00+01:00").

    The response is streamed after the view has returned, so both are captured now (not when the first line is
    asked for) and re-applied while writing.
    """
    return _csv_lines(grid, chunk_size, translation.get_language(), timezone.get_current_timezone())


def _csv_lines(grid: OrderGrid, chunk_size: int, language: str | None, zone) -> Iterator[str]:
    writer = csv.writer(_Echo())
    columns_ = grid.visible_columns
    with translation.override(language):
        header = writer.writerow([str(column.label) for column in columns_])
    yield header
    for order in grid.queryset(annotate_names=True).iterator(chunk_size=chunk_size):
        order._status_labels = grid.status_labels
        with translation.override(language), timezone.override(zone):
            line = writer.writerow([csv_safe(str(column.csv_cell(order))) for column in columns_])
        yield line


def csv_response(grid: OrderGrid) -> StreamingHttpResponse:
    """The filtered, sorted orders as CSV (visible columns), streamed so a large export never sits in memory."""
    response = StreamingHttpResponse(csv_rows(grid), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response


def skipped_message(order: Order, reason: str) -> str:
    return _("Order #%(number)s skipped: %(reason)s") % {"number": order.number, "reason": reason}


# Labels of the default order statuses (stored in the database in English), so that they are translated.
DEFAULT_STATUS_LABELS = (
    gettext_lazy("Pending"), gettext_lazy("Pending Payment"), gettext_lazy("Processing"),
    gettext_lazy("Suspected Fraud"), gettext_lazy("Complete"), gettext_lazy("Closed"), gettext_lazy("Canceled"),
    gettext_lazy("On Hold"), gettext_lazy("Payment Review"),
)
