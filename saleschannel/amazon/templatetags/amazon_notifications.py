"""``{% notifications_health amazon_store %}``: the store dashboard's panel of real-time notifications (last message,
lag, dead letters, orders only the polling sweep found); nothing while they are off."""

from __future__ import annotations

from django import template

from saleschannel.amazon.notification_health import health

register = template.Library()


@register.inclusion_tag("amazon/_notifications_health.html")
def notifications_health(amazon_store) -> dict:
    return {"amazon_store": amazon_store, "state": health(amazon_store)}
