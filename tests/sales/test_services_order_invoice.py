"""``order_create(invoice=True)``: the same order, invoice and history as ``order_create`` then ``invoice_create``,
written without reading back what was just inserted (the Amazon import's hot path)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from saleschannel.catalog.models import StockReservation
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Invoice, Order, OrderState
from saleschannel.sales.services import invoice_create, statuses_cached
from tests import factories

pytestmark = pytest.mark.django_db


def place(store, products, **kwargs):
    tshirt, mug, _cap = products
    return factories.make_order(
        store=store,
        items=[factories.line(tshirt, 2, tax_amount="3.20", tax_percent="8", discount_amount="2.00"),
               factories.line(mug, 3, row_total="25.49")],
        shipping_amount="5.00", shipping_tax_amount="0.40", discount_amount="1.00", **kwargs,
    )


def snapshot(order: Order) -> dict:
    order = Order.objects.get(pk=order.pk)
    invoice = Invoice.objects.get(order=order)
    return {
        "order": {f: getattr(order, f) for f in ("state", "status", "subtotal", "shipping_amount", "discount_amount",
                                                 "tax_amount", "grand_total", "total_invoiced", "total_paid",
                                                 "shipping_invoiced")},
        "items": sorted((i.sku, i.qty_ordered, i.qty_invoiced, i.row_total) for i in order.items.all()),
        "invoice": {f: getattr(invoice, f) for f in ("subtotal", "shipping_amount", "discount_amount", "tax_amount",
                                                     "grand_total", "created_by")},
        "invoice_items": sorted((i.order_item.sku, i.qty, i.row_total, i.tax_amount, i.discount_amount)
                                for i in invoice.items.all()),
        "history": [(h.kind, h.status, h.author_label,
                     h.comment.replace(order.number, "#").replace(invoice.number, "#"))
                    for h in order.history.order_by("pk")],
        "reserved": sorted(StockReservation.objects.filter(reference=f"sales.order:{order.pk}")
                           .values_list("product__sku", "qty")),
    }


@pytest.mark.parametrize("status", [None, "processing"])
def test_invoice_on_creation_writes_what_create_then_invoice_writes(store, products, status):
    separate = place(store, products, status=status)
    invoice_create(order=separate, actor="tests")
    together = place(store, products, status=status, invoice=True)
    assert together.created_invoice.pk
    expected, got = snapshot(separate), snapshot(together)
    assert got == expected
    assert got["order"]["state"] == OrderState.PROCESSING
    assert got["order"]["total_paid"] == got["order"]["grand_total"] == Decimal("71.07")
    assert len(got["history"]) == 2  # "Order created." then the invoice line


def test_invoice_on_creation_numbers_the_invoice_from_the_store_sequence(store, products):
    first = place(store, products, invoice=True)
    second = place(store, products, invoice=True)
    assert first.created_invoice.number == "US000000001"
    assert second.created_invoice.number == "US000000002"


def test_a_refused_order_with_invoice_writes_nothing(store, products):
    _tshirt, _mug, cap = products
    with pytest.raises(OrderActionError) as refused:
        factories.make_order(store=store, items=[factories.line(cap, 11)], invoice=True)  # 10 in stock
    assert refused.value.code == "not_salable"
    assert not Order.objects.exists() and not Invoice.objects.exists()


def test_invoice_on_creation_costs_fewer_statements(store, products, django_assert_max_num_queries):
    place(store, products, invoice=True)  # both sequences exist from here on
    # Products, status, order number, order, items, addresses, payment, invoice number, invoice, invoice items,
    # stock (update and reservations; PostgreSQL locks the product rows first), history, two savepoints. Creating
    # and then invoicing took about 26 (the invoice re-read the order and items and updated both).
    # +1: the order events look up the active webhook endpoints (core.events).
    limit = 19 if connection.vendor == "postgresql" else 18
    with statuses_cached(), django_assert_max_num_queries(limit):
        place(store, products, status="processing", invoice=True)
