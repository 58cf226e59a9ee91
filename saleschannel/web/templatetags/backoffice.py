"""Template helpers of the back office: money, navigation, notices, query-string links."""

from __future__ import annotations

from django import template

from saleschannel.core import navigation, notices
from saleschannel.core.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ order.grand_total|money:order.currency }}`` → "$1,234.50"."""
    return format_money(amount, currency or "")


@register.simple_tag(takes_context=True)
def nav_menu(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return navigation.menu_for(request.user, request.path)


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
