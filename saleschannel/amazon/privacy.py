"""Personal data (DESIGN.md §4.7): redact buyers' names, emails, phones and addresses after the retention window.

Amounts, SKUs, dates and statuses stay (accounting needs them). The Commerce order of an Amazon order is redacted
with it: customer name and email, addresses. What was redacted, and when, is recorded (``RedactionLog``).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderStatus,
    ChannelSettings,
    RedactionLog,
    SyncRun,
)
from saleschannel.sales.models import Order, OrderAddress

REDACTED = "[redacted]"
AMAZON_FIELDS = ("buyer_name", "buyer_email", "buyer_company", "ship_name", "ship_company", "ship_address_line1",
                 "ship_address_line2", "ship_address_line3", "ship_phone")
ADDRESS_FIELDS = ("first_name", "last_name", "company", "street1", "street2", "street3", "phone", "email")


FINISHED = (AmazonOrderStatus.SHIPPED, AmazonOrderStatus.COMPLETED, AmazonOrderStatus.CANCELED)


def redaction_due(now=None):
    """Amazon orders not redacted yet whose personal data is past its window, whatever their status.

    Finished orders (shipped, completed, canceled): the window runs from the latest delivery date (else the purchase
    date). Orders that never finish (Error, partly shipped, unshipped, pending ...): a longer fallback window runs
    from the purchase date, so that nothing keeps personal data for ever.
    """
    now = now or timezone.now()
    settings = ChannelSettings.load()
    limit = now - timedelta(days=settings.pii_redaction_days)
    fallback = now - timedelta(days=settings.pii_unfinished_days)
    finished = Q(status__in=FINISHED) & (
        Q(latest_delivery_date__lt=limit) | Q(latest_delivery_date__isnull=True, purchase_date__lt=limit))
    unfinished = ~Q(status__in=FINISHED) & Q(purchase_date__lt=fallback)
    return AmazonOrder.objects.filter(pii_redacted_at__isnull=True).filter(finished | unfinished)


def keeps_personal_data(order: AmazonOrder) -> bool:
    """Whether personal data may be stored on ``order``: never again once it was redacted."""
    return order.pii_redacted_at is None


def redact_order(order: AmazonOrder) -> list[str]:
    """Redact one Amazon order and its Commerce order; returns the fields redacted."""
    with transaction.atomic():
        order = AmazonOrder.objects.select_for_update().get(pk=order.pk)
        if order.pii_redacted_at:
            return []
        fields = [f for f in AMAZON_FIELDS if getattr(order, f)]
        for field in AMAZON_FIELDS:
            setattr(order, field, REDACTED if getattr(order, field) else "")
        order.buyer_email = ""
        order.raw = {}
        order.pii_redacted_at = timezone.now()
        order.save()
        if order.commerce_order_id:
            placeholder = f"redacted-{order.amazon_order_id}@marketplace.amazon.invalid"
            Order.objects.filter(pk=order.commerce_order_id).update(
                customer_first_name=REDACTED, customer_last_name=REDACTED, customer_email=placeholder)
            OrderAddress.objects.filter(order_id=order.commerce_order_id).update(
                **{f: (REDACTED if f in ("first_name",) else "") for f in ADDRESS_FIELDS})
            fields.append("commerce_order")
        RedactionLog.objects.create(amazon_order=order, fields=fields)
    return fields


def redact_personal_data(*, now=None, limit: int = 5000) -> int:
    count = 0
    for order in redaction_due(now)[:limit]:
        redact_order(order)
        count += 1
    return count


def purge_old_logs(*, now=None) -> int:
    now = now or timezone.now()
    limit = now - timedelta(days=ChannelSettings.load().log_retention_days)
    runs, _ = SyncRun.objects.filter(started_at__lt=limit).delete()
    events, _ = AmazonOrderEvent.objects.filter(created_at__lt=limit).delete()
    return runs + events
