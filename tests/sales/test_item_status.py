"""``OrderItem.item_status``: the one place that decides an item's status in the order view."""

import pytest
from django.utils import translation

from saleschannel.sales.models import ItemStatus, OrderItem


def item(ordered=3, *, invoiced=0, shipped=0, refunded=0, canceled=0) -> OrderItem:
    return OrderItem(qty_ordered=ordered, qty_invoiced=invoiced, qty_shipped=shipped, qty_refunded=refunded,
                     qty_canceled=canceled)


@pytest.mark.parametrize(("quantities", "status"), [
    ({}, ItemStatus.ORDERED),
    ({"invoiced": 1}, ItemStatus.MIXED),
    ({"shipped": 1}, ItemStatus.MIXED),
    ({"invoiced": 3, "refunded": 1}, ItemStatus.INVOICED),
    ({"invoiced": 3}, ItemStatus.INVOICED),
    ({"invoiced": 1, "shipped": 3}, ItemStatus.SHIPPED),
    ({"invoiced": 3, "shipped": 3}, ItemStatus.SHIPPED),
    ({"invoiced": 3, "shipped": 3, "refunded": 3}, ItemStatus.REFUNDED),
    ({"invoiced": 3, "refunded": 3}, ItemStatus.REFUNDED),
    ({"canceled": 3}, ItemStatus.CANCELED),
    ({"invoiced": 1, "canceled": 2}, ItemStatus.MIXED),
    ({"invoiced": 3, "refunded": 3, "canceled": 3}, ItemStatus.REFUNDED),
])
def test_item_status(quantities, status):
    assert item(**quantities).item_status == status


def test_item_status_labels_are_translated_in_their_context():
    with translation.override("fr"):
        labels = {str(status.label) for status in ItemStatus}
    assert labels != {"Ordered", "Invoiced", "Shipped", "Mixed", "Refunded", "Canceled"}
