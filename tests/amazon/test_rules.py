"""The Amazon channel rules: the creation matrix of DESIGN.md §4.3 exactly, the staff verdicts and the vetoes."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from saleschannel.amazon.models import AmazonOrder
from saleschannel.amazon.rules import (
    Outcome,
    can_cancel_on_amazon,
    can_edit_address,
    commerce_action_veto,
    import_decision,
    product_problem,
)
from saleschannel.amazon.services import AmazonChannelError
from saleschannel.catalog.models import Product
from saleschannel.core.errors import DomainError

ALL = ["Pending", "PendingAvailability", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
       "InvoiceUnconfirmed"]


def decide(channel, status, **settings):
    options = {"import_enabled": True, "reserve_pending": True, "import_fba": True}
    options.update(settings)
    return import_decision(fulfillment_channel=channel, amazon_status=status, **options)


@pytest.mark.parametrize("status", ALL)
def test_fbm_matrix(status):
    decision = decide("MFN", status)
    if status in ("Unshipped", "PartiallyShipped", "Shipped"):
        assert decision.outcome == Outcome.CREATE and not decision.as_complete
    elif status == "Pending":
        assert decision.outcome == Outcome.RESERVE
        assert decide("MFN", status, reserve_pending=False).outcome == Outcome.WAIT
    elif status == "Canceled":
        assert decision.outcome == Outcome.RELEASE
    else:
        assert not decision.create


@pytest.mark.parametrize("status", ALL)
def test_fba_matrix(status):
    decision = decide("AFN", status)
    if status == "Shipped":
        assert decision.create and decision.as_complete
        assert not decide("AFN", status, import_fba=False).create
    else:
        assert not decision.create and decision.outcome != Outcome.RESERVE


@pytest.mark.parametrize("status", ALL)
def test_import_disabled_never_creates_nor_reserves(status):
    for channel in ("MFN", "AFN"):
        decision = decide(channel, status, import_enabled=False)
        assert decision.outcome in (Outcome.RELEASE,)


@translation.override("en")
def test_product_problems():
    assert "does not exist" in product_problem(None, sku="X", qty=1)
    product = Product(sku="P", name="P", price=1, qty=5, qty_reserved=3)
    assert product_problem(product, sku="P", qty=2) is None
    assert "2 available, 3 ordered" in product_problem(product, sku="P", qty=3)
    assert product_problem(product, sku="P", qty=3, already_reserved=1) is None  # its own Pending reservation
    assert product_problem(product, sku="P", qty=50, fba=True) is None  # Amazon's stock
    product.manage_stock = False
    assert product_problem(product, sku="P", qty=50) is None
    product.enabled = False
    assert "disabled" in product_problem(product, sku="P", qty=1)
    product.enabled, product.is_in_stock = True, False
    assert "out of stock" in product_problem(product, sku="P", qty=1, fba=True)


def test_only_unshipped_orders_can_be_canceled_on_amazon():
    def verdict(status):  # an order with nothing shipped nor queued, and no Commerce order
        return can_cancel_on_amazon(AmazonOrder(status=status, amazon_status=status), outbox_kinds=set())

    assert [s for s in ALL if verdict(s)] == ["Unshipped"]


def test_amazon_refusals_are_domain_errors():
    error = AmazonChannelError("Choose a reason for the cancellation.", field="reason")
    assert isinstance(error, DomainError)
    assert (error.message, error.code, error.field) == ("Choose a reason for the cancellation.", "refused", "reason")


@translation.override("en")
def test_the_address_can_be_edited_until_the_personal_data_is_redacted():
    assert can_edit_address(AmazonOrder())
    verdict = can_edit_address(AmazonOrder(pii_redacted_at=timezone.now()))
    assert not verdict and "redacted" in verdict.reason


class _Items:
    def __init__(self, *shipped):
        self.shipped = shipped

    def all(self):
        return [type("Item", (), {"qty_shipped": qty})() for qty in self.shipped]


def _commerce(*shipped):
    return type("CommerceOrder", (), {"items": _Items(*shipped)})()


@translation.override("en")
def test_commerce_actions_vetoed_on_amazon_orders():
    unshipped = AmazonOrder(status="Unshipped", amazon_status="Unshipped", fulfillment_channel="MFN")
    assert "Amazon Order Details with a reason" in commerce_action_veto(unshipped, _commerce(0), "cancel")
    assert "has not shipped" in commerce_action_veto(unshipped, _commerce(0), "creditmemo")
    assert commerce_action_veto(unshipped, _commerce(1), "creditmemo") is None  # shipped in Commerce: refundable
    assert commerce_action_veto(unshipped, _commerce(0), "ship") is None
    assert commerce_action_veto(unshipped, _commerce(0), "hold") is None
    shipped = AmazonOrder(status="Completed", amazon_status="Shipped", fulfillment_channel="MFN")
    assert commerce_action_veto(shipped, _commerce(0), "creditmemo") is None
    fba = AmazonOrder(status="Completed", amazon_status="Shipped", fulfillment_channel="AFN")
    assert "FBA" in commerce_action_veto(fba, _commerce(0), "ship")
    canceled = AmazonOrder(status="Canceled", amazon_status="Canceled", fulfillment_channel="MFN")
    assert "canceled on Amazon" in commerce_action_veto(canceled, _commerce(0), "ship")
