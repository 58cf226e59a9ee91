"""Reads of the Amazon channel that several entry points share (the CLI, the screens)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from saleschannel.amazon.models import AmazonOrder, AmazonStore, OutboxMessage
from saleschannel.sales.selectors import AMAZON_ORIGIN


def outbox_messages(*, states: list[str] | None = None, store: AmazonStore | None = None) -> QuerySet[OutboxMessage]:
    """Outbound messages, oldest first, with their Amazon order (and its store) loaded."""
    messages = OutboxMessage.objects.select_related("amazon_order__store").order_by("pk")
    if states:
        messages = messages.filter(state__in=states)
    if store is not None:
        messages = messages.filter(amazon_order__store=store)
    return messages


def outbox_page_messages(*, states: list[str] | None = None, store_id: int | None = None,
                         kinds: list[str] | None = None, created_from: datetime | None = None,
                         created_before: datetime | None = None) -> QuerySet[OutboxMessage]:
    """Every outbound message across stores for the outbox page, newest first, with what a row shows loaded in
    the same query: the Amazon order, its store and Commerce order, and the message it waits for."""
    messages = (OutboxMessage.objects
                .select_related("amazon_order__store", "amazon_order__commerce_order", "waiting_for")
                .order_by("-created_at", "-id"))
    if states:
        messages = messages.filter(state__in=states)
    if store_id is not None:
        messages = messages.filter(amazon_order__store_id=store_id)
    if kinds:
        messages = messages.filter(kind__in=kinds)
    if created_from is not None:
        messages = messages.filter(created_at__gte=created_from)
    if created_before is not None:
        messages = messages.filter(created_at__lt=created_before)
    return messages


def is_amazon_order(order) -> bool:
    """Whether a (saved) Commerce order came from Amazon: only those have an Amazon order behind them."""
    return getattr(order, "origin", "") == AMAZON_ORIGIN and order.pk is not None


def amazon_order_for(order) -> AmazonOrder | None:
    """The Amazon order behind a Commerce order, or None (cached on the instance by Django's one-to-one)."""
    if not is_amazon_order(order):
        return None
    try:
        return order.amazon_order
    except AmazonOrder.DoesNotExist:
        return None
