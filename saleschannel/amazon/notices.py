"""The Amazon channel's notices, shown at the top of pages (``core.notices``): orders that cannot be imported
(DESIGN.md §4.4), dead-lettered outbound messages, read-only mode, buyer cancellation requests."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from saleschannel.amazon.delivery import PENDING_STATES
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    AmazonStore,
    ChannelSettings,
    OutboxMessage,
    OutboxState,
)
from saleschannel.core.notices import Notice

S = AmazonOrderStatus


def store_dashboard_url(store_id: int) -> str:
    try:
        return reverse("amazon:store_dashboard", args=[store_id])
    except NoReverseMatch:  # screens not installed (e.g. a worker-only deployment)
        return f"/amazon/stores/{store_id}/"


def stores_with_import_errors() -> list[tuple[int, str]]:
    return list(
        AmazonStore.objects.filter(orders__status=AmazonOrderStatus.ERROR).distinct().order_by("name")
        .values_list("pk", "name")
    )


def import_error_notices(request) -> list:
    """Admin-wide alert while Amazon orders are kept in Error (they could not become Commerce orders)."""
    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        return []
    stores = stores_with_import_errors()
    if not stores:
        return []
    return [Notice(
        message=ngettext("Your Amazon store has orders that cannot be imported. See Recent Orders in its store "
                         "dashboard:",
                         "Your Amazon stores have orders that cannot be imported. See Recent Orders in their store "
                         "dashboards:", len(stores)),
        level="error",
        links=[(name, store_dashboard_url(pk)) for pk, name in stores],
    )]


def dead_letter_notices(request) -> list:
    """Admin-wide alert while outbound messages are dead-lettered (they need someone to look and retry)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    dead = list(OutboxMessage.objects.filter(state=OutboxState.DEAD).order_by("-updated_at")
                .values_list("amazon_order_id", "amazon_order__amazon_order_id")[:50])
    if not dead:
        return []
    orders = list(dict.fromkeys(dead))
    links = []
    for pk, number in orders[:5]:
        try:
            links.append((number, reverse("amazon:order_detail", args=[pk])))
        except NoReverseMatch:
            break
    count = OutboxMessage.objects.filter(state=OutboxState.DEAD).count()
    return [Notice(
        message=ngettext("Amazon did not accept %(count)d change after repeated attempts. Open the order to read "
                         "Amazon's message and retry:",
                         "Amazon did not accept %(count)d changes after repeated attempts. Open the orders to read "
                         "Amazon's messages and retry:", count) % {"count": count},
        level="error", links=links,
    )]


def read_only_notices(request) -> list:
    """While read-only mode is on, every page says so: nothing reaches Amazon."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not ChannelSettings.load().read_only:
        return []
    waiting = OutboxMessage.objects.filter(state__in=PENDING_STATES).count()
    return [Notice(message=ngettext("Amazon read-only mode is on: %(count)d change waits in the queue and nothing "
                                    "is sent to Amazon until it is switched off.",
                                    "Amazon read-only mode is on: %(count)d changes wait in the queue and nothing "
                                    "is sent to Amazon until it is switched off.", waiting) % {"count": waiting},
                   level="warning")]


def buyer_cancel_notices(request) -> list:
    """On the dashboard: Amazon orders whose buyer asked to cancel and that are still open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    try:
        if request.path != reverse("web:dashboard"):
            return []
        list_url = reverse("amazon:order_list")
    except NoReverseMatch:
        return []
    open_requests = AmazonOrder.objects.filter(
        buyer_cancel_requested=True,
        status__in=[S.PENDING, S.UNSHIPPED, S.PENDING_AVAILABILITY, S.ERROR, S.PARTIALLY_SHIPPED])
    count = open_requests.count()
    if not count:
        return []
    links = [(number, reverse("amazon:order_detail", args=[pk]))
             for pk, number in open_requests.order_by("-purchase_date").values_list("pk", "amazon_order_id")[:5]]
    links.append((_("View all"), f"{list_url}?buyer_cancel=on"))
    return [Notice(message=ngettext("%(count)d Amazon order has a buyer cancellation request. Decide whether to "
                                    "cancel it:",
                                    "%(count)d Amazon orders have a buyer cancellation request. Decide whether to "
                                    "cancel them:", count) % {"count": count}, level="warning", links=links)]
