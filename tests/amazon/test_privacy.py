"""Redaction sticks (issue 11, finding 5): once an order's personal data is redacted it is never stored again, and
every order's personal data goes after its window, whatever its status. The check is a scan of every text and JSON
column of every table for the personal values Amazon sent, so a field nobody thought of cannot hide one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.privacy import redact_personal_data, redaction_due
from tests.amazon.conftest import settle, sync

S = AmazonOrderStatus
pytestmark = pytest.mark.django_db
MARK = "Zyxwv"  # in every personal value Amazon sends below; found nowhere else
PERSONAL = {  # Orders 2026-01-01: every personal field of an order
    "buyer.buyerName": f"{MARK} Buyer",
    "buyer.buyerEmail": f"{MARK.lower()}@marketplace.amazon.com",
    "buyer.buyerCompanyName": f"{MARK} Company",
    "recipient.deliveryAddress.name": f"{MARK} Recipient",
    "recipient.deliveryAddress.companyName": f"{MARK} Recipient Company",
    "recipient.deliveryAddress.addressLine1": f"1 {MARK} Street",
    "recipient.deliveryAddress.addressLine2": f"Flat {MARK}",
    "recipient.deliveryAddress.addressLine3": f"Building {MARK}",
    "recipient.deliveryAddress.phone": f"+1 555 {MARK}",
}


def places_holding_the_mark() -> list[str]:
    found = []
    for model in apps.get_models():
        text_fields = [f.name for f in model._meta.concrete_fields
                       if isinstance(f, models.CharField | models.TextField | models.JSONField)]
        for row in model.objects.values("pk", *text_fields):
            for name in text_fields:
                if MARK.lower() in str(row[name]).lower():
                    found.append(f"{model._meta.label}.{name} (pk {row['pk']})")
    return found




@pytest.fixture
def personal_order(sandbox, amazon_store):
    [order_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped")
    for path, value in PERSONAL.items():
        sandbox.malform(order_id, path, value)
    settle()
    sync(amazon_store)
    assert len(places_holding_the_mark()) >= len(PERSONAL)  # the test can see what it looks for
    return order_id


def test_no_personal_value_is_left_anywhere_after_redaction(personal_order):
    assert redact_personal_data(now=timezone.now() + timedelta(days=400)) == 1
    assert places_holding_the_mark() == []


def test_a_later_change_on_amazon_does_not_bring_personal_data_back(sandbox, amazon_store, personal_order):
    redact_personal_data(now=timezone.now() + timedelta(days=400))
    sandbox.buyer_cancel(personal_order)  # Amazon changes the order; the next sync copies it again
    settle()
    sync(amazon_store)
    order = AmazonOrder.objects.get(amazon_order_id=personal_order)
    assert order.buyer_cancel_requested  # the change itself was applied
    assert places_holding_the_mark() == []
    sandbox.ship(personal_order)  # and again, through another path (shipped in Seller Central)
    settle()
    sync(amazon_store)
    assert AmazonOrder.objects.get(amazon_order_id=personal_order).status == S.COMPLETED
    assert places_holding_the_mark() == []


@pytest.mark.parametrize("status", [S.ERROR, S.PARTIALLY_SHIPPED, S.UNSHIPPED, S.PENDING])
def test_orders_that_never_finish_are_redacted_after_the_fallback_window(personal_order, status):
    AmazonOrder.objects.filter(amazon_order_id=personal_order).update(status=status)
    purchase = AmazonOrder.objects.get(amazon_order_id=personal_order).purchase_date
    assert not redaction_due(now=purchase + timedelta(days=89)).exists()
    assert redaction_due(now=purchase + timedelta(days=91)).count() == 1
    redact_personal_data(now=purchase + timedelta(days=91))
    assert places_holding_the_mark() == []


def test_finished_orders_keep_the_delivery_window(personal_order):
    AmazonOrder.objects.filter(amazon_order_id=personal_order).update(
        status=S.COMPLETED, latest_delivery_date=timezone.now())
    assert not redaction_due(now=timezone.now() + timedelta(days=29)).exists()
    assert redaction_due(now=timezone.now() + timedelta(days=31)).count() == 1
