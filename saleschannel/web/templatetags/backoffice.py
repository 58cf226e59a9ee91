"""Template helpers of the back office: money, dates, navigation, notices, query-string links, status badges."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from saleschannel.core import i18n, navigation, notices
from saleschannel.core.money import format_money, format_number

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ order.grand_total|money:order.currency }}`` → "$1,234.50"."""
    return format_money(amount, currency or "")


@register.filter
def number(value, places=None):
    """``{{ item.tax_percent|number:2 }}`` → "8.25" / "8,25": a number for the reader's locale."""
    if value in (None, ""):
        return ""
    try:
        return format_number(value, places=int(places) if places not in (None, "") else None)
    except (ValueError, ArithmeticError):
        return value


# --- Dates: one style everywhere (saleschannel.core.i18n) ----------------------------------------------------------
# Grids and lists: ``|short_datetime``; detail pages: ``|long_datetime`` (names the time zone); a grid of times says
# which zone they are in with ``{% time_zone_note %}``.

@register.filter
def short_datetime(value):
    """``{{ order.created_at|short_datetime }}`` → "11/29/26, 9:19 PM" / "29/11/2026 21:19"."""
    return i18n.short_datetime(value) if value else ""


@register.filter
def long_datetime(value):
    """``{{ order.created_at|long_datetime }}`` → "November 29, 2026, 9:19 PM (Europe/Paris)"."""
    return i18n.long_datetime(value) if value else ""


@register.filter
def short_date(value):
    """``{{ customer.created_at|short_date }}`` → "11/29/26" / "29/11/2026"."""
    return i18n.short_date(value) if value else ""


@register.filter
def day_month(value):
    """``{{ bar.day|day_month }}`` → "11/29" / "29/11"."""
    return i18n.day_month(value) if value else ""


@register.simple_tag
def time_zone_name():
    return i18n.time_zone_name()


@register.inclusion_tag("web/time_zone_note.html")
def time_zone_note():
    """"Times in Europe/Paris." under a grid of dates."""
    return {"zone": i18n.time_zone_name()}


@register.simple_tag(takes_context=True)
def nav_menu(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return single_active(navigation.menu_for(request.user, request.path), request.path)


def single_active(menu: list[dict], path: str) -> list[dict]:
    """Mark exactly one entry active: the one whose URL is the longest prefix of ``path`` ("/" only matches itself).

    Several entries can match a page (the Amazon stores at ``/amazon/`` and the Amazon orders at
    ``/amazon/orders/``); the most specific one wins. A page that no entry leads to marks none.
    """
    best = None
    for section in menu:
        for item in section["items"]:
            url = item["url"]
            matches = path == url if url == "/" else path.startswith(url)
            if matches and (best is None or len(url) > len(best["url"])):
                best = item
    for section in menu:
        section["items"] = [dict(item, active=item is best) for item in section["items"]]
    return menu


@register.simple_tag(takes_context=True)
def admin_notices(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return notices.collect(request)


@register.simple_tag(takes_context=True)
def query_replace(context, **changes):
    """The current query string with ``changes`` applied; ``page=None`` style removal with an empty value."""
    request = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode()


@register.filter
def get_item(mapping, key):
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return ""


# --- Status badges --------------------------------------------------------------------------------------------
# One place decides the colour of a state: each state belongs to a family, each family is a CSS class
# (``badge state-<family>`` in app.css, with colours checked for WCAG AA contrast by the tests). The Commerce order
# states and the Amazon order statuses share the families, so a colour means the same thing in every grid.
BADGE_FAMILIES = ("new", "pending", "processing", "complete", "closed", "canceled", "hold", "review", "error")

ORDER_STATE_BADGES = {
    "new": "new",
    "pending_payment": "pending",
    "processing": "processing",
    "complete": "complete",
    "closed": "closed",
    "canceled": "canceled",
    "holded": "hold",
    "payment_review": "review",
}

AMAZON_STATUS_BADGES = {
    "Pending": "pending",
    "PendingAvailability": "pending",
    "InvoiceUnconfirmed": "pending",
    "Unshipped": "new",
    "PartiallyShipped": "processing",
    "Shipped": "complete",
    "Completed": "complete",
    "Canceled": "canceled",
    "Unfulfillable": "hold",
    "Error": "error",
}


def badge_family(value, kind: str = "order") -> str:
    """The family of an order state (``kind="order"``) or of an Amazon order status (``kind="amazon"``)."""
    mapping = AMAZON_STATUS_BADGES if kind == "amazon" else ORDER_STATE_BADGES
    return mapping.get(str(value or ""), "closed" if kind != "amazon" else "pending")


@register.filter
def state_badge(state) -> str:
    """``<span class="{{ order.state|state_badge }}">`` → ``badge state-processing``."""
    return f"badge state-{badge_family(state, 'order')}"


@register.filter
def amazon_badge(status) -> str:
    """``<span class="{{ amazon_order.status|amazon_badge }}">`` → ``badge state-error``."""
    return f"badge state-{badge_family(status, 'amazon')}"


@register.simple_tag
def status_badge(label, state, kind: str = "order", element_id: str = ""):
    """A coloured badge: ``{% status_badge status_label order.state %}`` or ``{% status_badge label s "amazon" %}``."""
    family = badge_family(state, kind)
    if element_id:
        return format_html('<span class="badge state-{}" data-state="{}" id="{}">{}</span>',
                           family, state or "", element_id, label)
    return format_html('<span class="badge state-{}" data-state="{}">{}</span>', family, state or "", label)
