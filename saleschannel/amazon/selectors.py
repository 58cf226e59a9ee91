"""Reads of the Amazon channel that several entry points share (the CLI, the screens)."""

from __future__ import annotations

from django.db.models import QuerySet

from saleschannel.amazon.models import AmazonStore, OutboxMessage


def outbox_messages(*, states: list[str] | None = None, store: AmazonStore | None = None) -> QuerySet[OutboxMessage]:
    """Outbound messages, oldest first, with their Amazon order (and its store) loaded."""
    messages = OutboxMessage.objects.select_related("amazon_order__store").order_by("pk")
    if states:
        messages = messages.filter(state__in=states)
    if store is not None:
        messages = messages.filter(amazon_order__store=store)
    return messages
