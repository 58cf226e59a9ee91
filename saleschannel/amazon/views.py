"""Amazon screens (DESIGN.md §4.6): stores, store dashboard, Order Settings, All Amazon orders, Amazon Order Details.

Thin views: changes go through ``services`` (stores, settings, sync, cancel, address, retry), verdicts come from
``rules``; a
refused change (``AmazonChannelError``) becomes a message or a form error and changes nothing. Permissions: every
role reads (Viewer: view permissions); an Operator (``sales.process_order``) cancels, corrects addresses, syncs
and retries; an Administrator (``amazon.change_amazonstore``) connects stores and edits their settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, Sum, prefetch_related_objects
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from saleschannel.amazon import channel, deadlines, delivery, destinations, rules, selectors, services
from saleschannel.amazon.forms import (
    AmazonOrderFilterForm,
    AmazonStoreForm,
    CancelOrderForm,
    OrderSettingsForm,
    OutboxFilterForm,
    ShippingAddressForm,
)
from saleschannel.amazon.health import failing_text
from saleschannel.amazon.metrics_views import metrics_panel
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderStatus,
    AmazonStore,
    ChannelSettings,
    EventLevel,
    OutboxMessage,
    OutboxState,
    SyncRun,
    SyncRunState,
)
from saleschannel.amazon.services import AmazonChannelError
from saleschannel.core.access import require
from saleschannel.core.money import format_money
from saleschannel.core.querystring import query_string_with
from saleschannel.sales.models import Order, OrderItem, ShipmentTrack

S = AmazonOrderStatus
VIEW_STORE = "amazon.view_amazonstore"
VIEW_ORDER = "amazon.view_amazonorder"
PROCESS = "sales.process_order"
VIEW_OUTBOX = "amazon.view_outboxmessage"
ADMIN = "amazon.change_amazonstore"
RECENT_ORDERS = 60
PAGE_SIZE = 50
REVENUE_EXCLUDED = (S.CANCELED, S.ERROR)
CONNECTION_CHANGES_SHOWN = 50
SYNC_WARNING_MINUTES = 3  # searchOrders refills one call per 3 minutes (DESIGN.md §4.2)


# --- Reads ---------------------------------------------------------------------------------------------------


def revenue_by_currency(orders) -> list[str]:
    """Revenue of Amazon orders, excluding Canceled and Error, one formatted amount per currency."""
    rows = (orders.exclude(status__in=REVENUE_EXCLUDED).exclude(order_total__isnull=True)
            .values("currency").annotate(total=Sum("order_total")).order_by("currency"))
    return [format_money(row["total"] or Decimal("0"), row["currency"] or "USD") for row in rows]


def sync_health(store: AmazonStore) -> dict:
    now = timezone.now()
    since = now - timedelta(hours=24)
    failed_runs = SyncRun.objects.filter(store=store, started_at__gte=since, state=SyncRunState.FAILED).count()
    error_events = AmazonOrderEvent.objects.filter(order__store=store, created_at__gte=since,
                                                   level=EventLevel.ERROR).count()
    watermark = store.last_updated_before or store.last_successful_sync_at
    outbox_counts = dict(OutboxMessage.objects.filter(amazon_order__store=store).values_list("state")
                  .annotate(n=Count("id")).order_by())
    return {
        "last_successful_sync": store.last_successful_sync_at,
        "lag": (now - watermark) if watermark else None,
        "watermark": watermark,
        "errors_24h": failed_runs + error_events,
        "queued_outbound": sum(outbox_counts.get(state, 0) for state in delivery.PENDING_STATES),
        "dead_outbound": outbox_counts.get(OutboxState.DEAD, 0),
        "orders_in_error": store.orders.filter(status=S.ERROR).count(),
        "last_error": store.last_error,
        "last_error_at": store.last_error_at,
        # The current streak of failed passes (health.py): empty while the store syncs fine.
        "failing_since": store.sync_failing_since if store.sync_failures_in_row else None,
        "failures_in_row": store.sync_failures_in_row,
        "alerted_at": store.sync_alerted_at,
        "failing_text": failing_text(store),
    }


@dataclass
class Chip:
    label: str
    value: str
    remove_url: str


SORTS = {"purchase_date": "purchase_date", "number": "amazon_order_id", "status": "status",
         "buyer": "buyer_name", "total": "order_total", "ship_by": "latest_ship_date"}
DEFAULT_SORT = "-purchase_date"
FILTER_KEYS = ("purchased_from", "purchased_to", "number", "buyer", "total_min", "total_max", "status",
               "buyer_cancel", "ship_by", "store")


class AmazonOrderGrid:
    """All Amazon orders: filters from the query string, chips, sort, one query per page."""

    def __init__(self, params: QueryDict):
        self.params = params
        self.stores = list(AmazonStore.objects.values_list("pk", "name"))
        self.form = AmazonOrderFilterForm(params or None, stores=self.stores)
        self.valid = self.form.is_valid() if params else True
        self.data = self.form.cleaned_data if params and self.valid else {}
        sort = params.get("sort", DEFAULT_SORT)
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        self.sort = sort
        self.sort_key = sort.lstrip("-")
        self.sort_desc = sort.startswith("-")

    def queryset(self):
        data = self.data
        orders = AmazonOrder.objects.select_related("store", "commerce_order")
        if data.get("purchased_from"):
            orders = orders.filter(purchase_date__gte=_start_of(data["purchased_from"]))
        if data.get("purchased_to"):
            orders = orders.filter(purchase_date__lt=_start_of(data["purchased_to"] + timedelta(days=1)))
        if data.get("number"):
            number = data["number"].strip()
            orders = orders.filter(Q(amazon_order_id__icontains=number) | Q(commerce_order__number__icontains=number))
        if data.get("buyer"):
            orders = orders.filter(buyer_name__icontains=data["buyer"].strip())
        if data.get("total_min") is not None:
            orders = orders.filter(order_total__gte=data["total_min"])
        if data.get("total_max") is not None:
            orders = orders.filter(order_total__lte=data["total_max"])
        if data.get("status"):
            orders = orders.filter(status__in=data["status"])
        if data.get("buyer_cancel"):
            orders = orders.filter(buyer_cancel_requested=True)
        if data.get("ship_by"):
            orders = deadlines.ship_by_filter(orders, data["ship_by"])
        if data.get("store"):
            orders = orders.filter(store_id=data["store"])
        direction = "-" if self.sort_desc else ""
        return orders.order_by(f"{direction}{SORTS[self.sort_key]}", f"{direction}id")

    def url(self, **changes) -> str:
        return query_string_with(self.params, **changes)

    def sort_url(self, key: str) -> str:
        if key == self.sort_key:
            return self.url(sort=key if self.sort_desc else f"-{key}")
        return self.url(sort=f"-{key}" if key in ("purchase_date", "total") else key)

    def header(self) -> list[dict]:
        labels = [("purchase_date", _("Purchase Date")), ("number", _("Order Number")), ("status", _("Status")),
                  ("buyer", _("Buyer's Name")), ("total", _("Total")), ("ship_by", _("Ship By"))]
        return [{"key": key, "label": label, "sort_url": self.sort_url(key),
                 "sorted": ("desc" if self.sort_desc else "asc") if key == self.sort_key else ""}
                for key, label in labels]

    def chips(self) -> list[Chip]:
        if not self.params or not self.valid:
            return []
        chips = []
        fields = self.form.fields
        for key in FILTER_KEYS:
            value = self.data.get(key)
            if value in (None, "", [], False):
                continue
            if key == "status":
                labels = dict(S.choices)
                shown = ", ".join(str(labels.get(code, code)) for code in value)
            elif key == "store":
                shown = dict(self.stores).get(value, str(value))
            elif key == "buyer_cancel":
                shown = _("Yes")
            elif key == "ship_by":
                shown = deadlines.ship_by_label(value)
            else:
                shown = str(value)
            chips.append(Chip(str(fields[key].label), shown, self.url(**{key: None})))
        return chips

    def clear_all_url(self) -> str:
        return f"?sort={self.sort}" if "sort" in self.params else "?"


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _order_rows(orders) -> list[dict]:
    now = timezone.now()
    rows = []
    for order in orders:
        state = deadlines.order_deadline_state(order, now)
        rows.append({"order": order, "total": format_money(order.order_total, order.currency or "USD")
                     if order.order_total is not None else "—",
                     "ship_by": {"label": deadlines.STATE_LABELS[state], "level": deadlines.STATE_LEVELS[state],
                                 "state": state} if state else None})
    return rows


# --- Stores --------------------------------------------------------------------------------------------------


@require(VIEW_STORE)
def store_list(request):
    stores = AmazonStore.objects.select_related("store").annotate(
        order_count=Count("orders"),
        error_count=Count("orders", filter=Q(orders__status=S.ERROR)),
    )
    stores = list(stores)
    for amazon_store in stores:
        amazon_store.failing_text = failing_text(amazon_store)
    return render(request, "amazon/store_list.html", {
        "stores": stores, "settings": ChannelSettings.load(), "can_admin": request.user.has_perm(ADMIN),
        "can_add": request.user.has_perm("amazon.add_amazonstore"),
    })


@require(ADMIN)
@require_POST
def read_only_set(request):
    enabled = request.POST.get("read_only") == "1"
    services.channel_read_only_set(read_only=enabled)
    if enabled:
        messages.warning(request, _("Read-only mode is on: changes are queued and nothing is sent to Amazon."))
    else:
        messages.success(request, _("Read-only mode is off: queued changes are being sent to Amazon."))
        delivery.deliver_due_later()
    return redirect("amazon:store_list")


@sensitive_post_parameters("client_id", "client_secret", "refresh_token")  # never on an error page
@require(ADMIN)
def store_edit(request, store_id: int | None = None):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id) if store_id else None
    if amazon_store is None and not request.user.has_perm("amazon.add_amazonstore"):
        return require("amazon.add_amazonstore")(lambda r: None)(request)
    form = AmazonStoreForm(request.POST or None, instance=amazon_store)
    test_result = None
    if request.method == "POST" and form.is_valid():
        if "test" in request.POST:
            test_result = _test_connection(form, amazon_store)
        else:
            try:
                if amazon_store is None:
                    secrets = form.secrets()
                    amazon_store = services.amazon_store_create(
                        **form.connection(), client_id=secrets["client_id"] or "",
                        client_secret=secrets["client_secret"] or "", refresh_token=secrets["refresh_token"] or "",
                        actor=request.user)
                else:
                    services.amazon_store_update(amazon_store=amazon_store, **form.connection(), **form.secrets(),
                                                 actor=request.user)
            except AmazonChannelError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                if amazon_store is not None:
                    amazon_store.refresh_from_db()  # the page shows what is saved, not the refused change
            else:
                messages.success(request, _("You saved the Amazon store."))
                if store_id is None:  # onboarding: the listings come next, then the orders (docs/amazon.md)
                    messages.info(request, _("Next: Import your listings, so that the store's orders find their "
                                             "products. Then its orders import with every sync."))
                return redirect("amazon:store_dashboard", amazon_store.pk)
    status = 400 if form.is_bound and form.errors else 200
    changes = _connection_changes(amazon_store) if amazon_store else []
    return render(request, "amazon/store_edit.html", {
        "form": form, "amazon_store": amazon_store, "test_result": test_result, "connection_changes": changes,
        "suggested_endpoints": destinations.SUGGESTED_ENDPOINTS,
        "suggested_token_urls": destinations.SUGGESTED_TOKEN_URLS,
    }, status=status)


def _connection_changes(amazon_store: AmazonStore) -> list:
    """The latest connection changes, each with ``labels``: the changed fields as the form names them."""
    fields = AmazonStoreForm.base_fields
    changes = list(amazon_store.connection_changes.all()[:CONNECTION_CHANGES_SHOWN])
    for change in changes:
        change.labels = [str(fields[name].label) if name in fields else name for name in change.fields]
    return changes


def _test_connection(form: AmazonStoreForm, amazon_store: AmazonStore | None) -> tuple[bool, str, bool]:
    """Test what the form says, saving nothing. The service decides what may be sent where: stored secrets only
    to the URLs they were saved with; a refusal is shown on the form and as the result (nothing was sent)."""
    try:
        ok, message = services.amazon_store_test_connection(amazon_store=amazon_store, changes=form.connection(),
                                                            **form.secrets())
    except AmazonChannelError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return False, error.message, True  # refused: nothing was sent
    return ok, message, False


@require(VIEW_STORE)
def store_dashboard(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore.objects.select_related("store"), pk=store_id)
    recent = (AmazonOrder.objects.filter(store=amazon_store).select_related("store", "commerce_order")
              .order_by("-purchase_date", "-id")[:RECENT_ORDERS])
    return render(request, "amazon/store_dashboard.html", {
        "amazon_store": amazon_store,
        "rows": _order_rows(recent),
        "health": sync_health(amazon_store),
        "revenue": revenue_by_currency(amazon_store.orders.all()),
        "read_only": ChannelSettings.load().read_only,
        "can_process": request.user.has_perm(PROCESS),
        "can_admin": request.user.has_perm(ADMIN),
        "can_view_commerce": request.user.has_perm("sales.view_order"),
        "can_view_outbox": request.user.has_perm(VIEW_OUTBOX),
        "outbox_url": _outbox_url(store=amazon_store.pk, state=delivery.PENDING_STATES),
        "dead_url": _outbox_url(store=amazon_store.pk, state=[OutboxState.DEAD]),
        # Not for the live refresh (it swaps only #live, the panel is outside it).
        "seller_metrics": [] if request.headers.get("HX-Request") else metrics_panel(amazon_store),
    })


def _outbox_url(**filters) -> str:
    """The outbox page filtered by ``filters`` (a list value repeats its key)."""
    return f"{reverse('amazon:outbox_list')}?{urlencode(filters, doseq=True)}"


@require(ADMIN)
def order_settings(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    form = OrderSettingsForm(request.POST or None, instance=amazon_store, statuses=services.processing_statuses())
    if request.method == "POST" and form.is_valid():
        try:
            services.amazon_store_order_settings_update(amazon_store=amazon_store, **form.cleaned_data)
        except AmazonChannelError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("You saved the Order Settings."))
            if amazon_store.sync_frequency_minutes < SYNC_WARNING_MINUTES:
                messages.warning(request, _(
                    "Amazon lets a seller search orders once every 3 minutes (after a burst of 20): a shorter "
                    "frequency soon slows down to one poll every 3 minutes."))
            return redirect("amazon:store_dashboard", amazon_store.pk)
    return render(request, "amazon/order_settings.html", {
        "amazon_store": amazon_store, "form": form, "warning_minutes": SYNC_WARNING_MINUTES,
    }, status=400 if form.is_bound and form.errors else 200)


@require(PROCESS)
@require_POST
def sync_now(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    services.amazon_store_sync_now(amazon_store=amazon_store)
    messages.success(request, _("A sync of %(store)s was queued; new orders appear here shortly.")
                     % {"store": amazon_store.name})
    return redirect("amazon:store_dashboard", amazon_store.pk)


# --- Amazon orders -------------------------------------------------------------------------------------------


@require(VIEW_ORDER)
def order_list(request):
    grid = AmazonOrderGrid(request.GET)
    page = Paginator(grid.queryset(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "amazon/order_list.html", {
        "grid": grid, "page": page, "rows": _order_rows(page.object_list),
        "can_view_commerce": request.user.has_perm("sales.view_order"),
    }, status=200 if grid.valid else 400)


TABS = ("details", "items", "tracking", "log")


def _tracking_rows(order: AmazonOrder) -> list[dict]:
    if not order.commerce_order_id:
        return []
    tracks = ShipmentTrack.objects.filter(shipment__order_id=order.commerce_order_id).select_related(
        "shipment").order_by("shipment__created_at", "id")
    method = order.commerce_order.shipping_method_title
    return [{"track": track, "shipment": track.shipment, "method": method} for track in tracks]


def _with_retry_verdicts(messages) -> list[OutboxMessage]:
    """The order's outbound messages, each with whether (and how safely) it may be retried by hand."""
    found = list(messages)
    for message in found:
        message.retry_verdict = rules.outbox_retry_verdict(message)
    return found


def condition_label(condition: str) -> str:
    """An item's condition once: "New", not Amazon's type and subtype "New New"; "Used – Very Good" otherwise."""
    kind, _space, subtype = (condition or "").strip().partition(" ")
    if not subtype or subtype.strip().lower() == kind.lower():
        return kind or "—"
    return f"{kind} – {subtype.strip()}"


def _commerce_order(order: AmazonOrder) -> Order | None:
    """The Commerce order (selected with ``order``) with its items and their products, in one query: what the cancel
    rule and dialog read. None when there is none."""
    if not order.commerce_order_id:
        return None
    prefetch_related_objects([order.commerce_order],
                             Prefetch("items", queryset=OrderItem.objects.select_related("product")))
    return order.commerce_order


@require(VIEW_ORDER)
def order_detail(request, order_id: int, *, cancel_form=None, address_form=None, status: int = 200):
    order = get_object_or_404(AmazonOrder.objects.select_related("store", "commerce_order"), pk=order_id)
    tab = request.GET.get("tab", "details")
    if tab not in TABS:
        tab = "details"
    can_process = request.user.has_perm(PROCESS)
    messages_sent = _with_retry_verdicts(order.outbox_messages.select_related("amazon_order", "waiting_for")
                                         .order_by("-created_at", "-id"))
    context = {
        "order": order, "tab": tab, "can_process": can_process,
        "can_edit_address": can_process and bool(rules.can_edit_address(order)),
        "total": format_money(order.order_total, order.currency or "USD") if order.order_total is not None else "—",
        "address_form": address_form or ShippingAddressForm.for_order(order),
        "can_view_commerce": request.user.has_perm("sales.view_order"),
        "outbox": messages_sent,
        "ship_by": channel.ship_by_badge(order),
    }
    if can_process:
        commerce = _commerce_order(order)
        cancel = channel.can_cancel(order, commerce, {message.kind for message in messages_sent})
        context["cancel"] = cancel
        if cancel:
            context["cancel_dialog"] = channel.cancel_dialog_context(order, commerce, form=cancel_form)
    if tab == "items":
        context["items"] = [{"item": item, "row_price": format_money(item.item_price, order.currency or "USD"),
                             "row_tax": format_money(item.item_tax, order.currency or "USD"),
                             "shipping": format_money(item.shipping_price, order.currency or "USD"),
                             "condition": condition_label(item.condition)}
                            for item in order.items.all()]
    elif tab == "tracking":
        context["tracking"] = _tracking_rows(order)
    elif tab == "log":
        context["events"] = list(order.events.select_related("outbox_message").order_by("-created_at", "-id")[:500])
    return render(request, "amazon/order_detail.html", context, status=status)


@require(PROCESS)
@require_POST
def order_cancel(request, order_id: int):
    """The Amazon cancel path, from Amazon Order Details and from the Commerce order view's Cancel (``next``)."""
    order = get_object_or_404(AmazonOrder, pk=order_id)
    back = _safe_next(request, reverse("amazon:order_detail", args=[order.pk]))
    form = CancelOrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason for the cancellation."))
        if request.POST.get("next"):
            return redirect(back)
        return order_detail(request, order.pk, cancel_form=form, status=400)
    try:
        services.amazon_order_cancel(amazon_order=order, reason=form.cleaned_data["reason"], actor=request.user)
    except AmazonChannelError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("You canceled the order. The cancellation is being sent to Amazon."))
    return redirect(back)


@require(PROCESS)
@require_POST
def order_address_save(request, order_id: int):
    order = get_object_or_404(AmazonOrder, pk=order_id)
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return order_detail(request, order.pk, address_form=form, status=400)
    try:
        changed = services.amazon_order_address_update(amazon_order=order, address=form.cleaned_data,
                                                       actor=request.user)
    except AmazonChannelError as error:
        if error.field in form.fields:
            form.add_error(error.field, error.message)
            return order_detail(request, order.pk, address_form=form, status=400)
        messages.error(request, error.message)
        return redirect("amazon:order_detail", order.pk)
    if changed:
        messages.success(request, _("You saved the order's shipping address."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("amazon:order_detail", order.pk)


@require(VIEW_OUTBOX)
def outbox_list(request):
    """Every message to Amazon across stores (filters: state, store, kind, day queued), newest first, with Retry
    where ``rules.outbox_retry_verdict`` allows it and the rule's reason where it does not."""
    stores = list(AmazonStore.objects.order_by("name").values_list("pk", "name"))
    form = OutboxFilterForm(request.GET or None, stores=stores)
    valid = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and valid else {}
    found = selectors.outbox_page_messages(
        states=data.get("state"), kinds=data.get("kind"), store_id=data.get("store"),
        created_from=_start_of(data["created_from"]) if data.get("created_from") else None,
        created_before=_start_of(data["created_to"] + timedelta(days=1)) if data.get("created_to") else None)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(data.get(key) for key in form.fields)
    return render(request, "amazon/outbox_list.html", {
        "form": form, "page": page, "outbox": _with_retry_verdicts(page.object_list), "filtered": filtered,
        "can_process": request.user.has_perm(PROCESS), "can_view_commerce": request.user.has_perm("sales.view_order"),
    }, status=200 if valid else 400)


@require(PROCESS)
@require_POST
def outbox_retry(request, message_id: int):
    """Retry by hand. A refund Amazon may have applied is looked for first; when Amazon cannot tell, a confirmation
    step shows the exact risk (``rules.outbox_retry_verdict``) and only its "Send it again" button sends it."""
    message = get_object_or_404(OutboxMessage.objects.select_related("amazon_order"), pk=message_id)
    back = _safe_next(request, reverse("amazon:order_detail", args=[message.amazon_order_id]) + "?tab=log")
    try:
        message = services.outbox_retry(message=message, actor=request.user,
                                        confirmed=request.POST.get("confirm") == "may-duplicate")
    except services.RetryNeedsConfirmation as error:
        return render(request, "amazon/outbox_retry_confirm.html",
                      {"message": message, "order": message.amazon_order, "risk": error.message, "back": back},
                      status=409)
    except AmazonChannelError as error:
        messages.error(request, error.message)
    else:
        if message.state == OutboxState.SENT:
            messages.success(request, _("Amazon already had this change (feed %(feed)s): it is followed, not sent "
                                        "again.") % {"feed": message.feed_id})
        else:
            messages.success(request, _("The message will be sent to Amazon again."))
    return redirect(back)
