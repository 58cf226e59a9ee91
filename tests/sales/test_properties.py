"""Random action sequences on random orders: after every step the order's invariants hold.

Each example builds a fresh store, products and order through the services, then applies a random sequence of
invoice / ship / credit memo / cancel / hold / unhold / comment with random (sometimes invalid) input. An action the
rules refuse must be refused with the rules' reason; refused input must change nothing; and after every step:

* quantities: invoiced + canceled ≤ ordered, refunded ≤ invoiced, shipped + canceled ≤ ordered, and the documents
  add up to the item quantities;
* state: the state the automatic transitions call for (new / processing / complete / closed), canceled only when
  nothing was invoiced, held orders remember where they were;
* money: grand total = subtotal + shipping − discount + tax; paid = invoiced = Σ invoices; refunded = Σ credit
  memos ≤ paid ≤ grand total; every amount exact in the currency (whole yen);
* stock: qty + shipped − returned is constant per product; reserved = what is still to ship.
"""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleschannel.catalog.models import Product, StockReservation
from saleschannel.core.money import is_exact
from saleschannel.sales import rules
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import CreditMemo, CreditMemoItem, Invoice, InvoiceItem, OrderState, ShipmentItem
from saleschannel.sales.rules import Action
from saleschannel.sales.services import (
    creditmemo_create,
    creditmemo_preview,
    invoice_create,
    invoice_preview,
    order_cancel,
    order_comment_add,
    order_hold,
    order_unhold,
    shipment_create,
    stock_reference,
)
from tests.factories import fresh, line, make_order, make_product, make_store

pytestmark = pytest.mark.django_db

CURRENCIES = {"USD": "0.01", "JPY": "1", "EUR": "0.01"}
ACTIONS = ["invoice", "ship", "creditmemo", "cancel", "hold", "unhold", "comment"]


@contextmanager
def rolled_back():
    """Each example starts from the same database (hypothesis replays examples and needs them independent)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def amount(draw, currency, low, high):
    step = Decimal(CURRENCIES[currency])
    return Decimal(draw(st.integers(low, high))) * step * (1 if currency != "JPY" else 10)


def build_order(draw):
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    store = make_store(currency=currency)
    lines, stock = [], {}
    for _ in range(draw(st.integers(1, 3))):
        qty = draw(st.integers(1, 4))
        product = make_product(qty=qty + draw(st.integers(0, 3)), manage_stock=draw(st.sampled_from([True, True,
                                                                                                      False])))
        price = amount(draw, currency, 1, 5000)
        row = price * qty
        tax = amount(draw, currency, 0, 700)
        discount = min(amount(draw, currency, 0, 900), row)
        lines.append(line(product, qty, price=price, tax_amount=str(tax), discount_amount=str(discount)))
        stock[product.pk] = product.qty
    shipping = amount(draw, currency, 0, 1500)
    extras = {}
    if shipping and draw(st.booleans()):
        extras = {"shipping_tax_amount": str(amount(draw, currency, 0, 200)),
                  "discount_amount": str(min(amount(draw, currency, 0, 800), shipping))}
    order = make_order(store=store, items=lines, shipping_amount=str(shipping),
                       reserve_stock=draw(st.sampled_from([True, True, False])), **extras)
    return order, stock


def draw_quantities(draw, items, limit):
    if draw(st.integers(0, 4)) == 0:
        return None
    result = {}
    for item in items:
        top = getattr(item, limit)
        if draw(st.integers(0, 9)) == 0:
            result[item.pk] = draw(st.sampled_from([top + 1, -1, "x", "1.5"]))  # bad input, must be refused
        elif draw(st.booleans()):
            result[item.pk] = draw(st.integers(0, top))
    return result


def totals_of(document) -> dict:
    return {
        "subtotal": document.subtotal, "shipping": document.shipping_amount, "discount": document.discount_amount,
        "tax": document.tax_amount, "grand_total": document.grand_total,
        "shipping_tax": getattr(document, "shipping_tax_amount", document.order.shipping_tax_amount
                                if document.shipping_amount else Decimal(0)),
        "adjustment_refund": getattr(document, "adjustment_refund", Decimal(0)),
        "adjustment_fee": getattr(document, "adjustment_fee", Decimal(0)),
    }


def state_of(order):
    o = fresh(order)
    items = list(o.items.all())
    return (o.state, o.status, o.total_paid, o.total_refunded, o.total_invoiced, o.shipping_refunded,
            [(i.qty_invoiced, i.qty_shipped, i.qty_refunded, i.qty_canceled) for i in items],
            Invoice.objects.filter(order=o).count(), CreditMemo.objects.filter(order=o).count(),
            {p.pk: (p.qty, p.qty_reserved) for p in Product.objects.filter(order_items__order=o)})


def expected_open_state(order, items):
    if not any(i.qty_invoiced or i.qty_shipped or i.qty_refunded for i in items) and order.total_refunded == 0:
        return None  # untouched: stays as created
    if all(i.qty_to_invoice == 0 and i.qty_to_ship == 0 for i in items):
        refunded = order.total_refunded > 0 or any(i.qty_refunded for i in items)
        if refunded and order.total_paid - order.total_refunded <= 0:
            return OrderState.CLOSED
        return OrderState.COMPLETE
    return OrderState.PROCESSING


def check_invariants(order, initial_stock, returned, reserved_order):
    o = fresh(order)
    items = list(o.items.all())
    currency = o.currency
    # Quantities.
    for item in items:
        assert 0 <= item.qty_invoiced + item.qty_canceled <= item.qty_ordered
        assert 0 <= item.qty_refunded <= item.qty_invoiced
        assert 0 <= item.qty_shipped + item.qty_canceled <= item.qty_ordered
        assert (InvoiceItem.objects.filter(order_item=item).aggregate(n=Sum("qty"))["n"] or 0) == item.qty_invoiced
        assert (ShipmentItem.objects.filter(order_item=item).aggregate(n=Sum("qty"))["n"] or 0) == item.qty_shipped
        assert (CreditMemoItem.objects.filter(order_item=item).aggregate(n=Sum("qty"))["n"] or 0) == item.qty_refunded
    # State.
    if o.state == OrderState.CANCELED:
        assert not any(i.qty_invoiced for i in items)
    elif o.state == OrderState.HOLDED:
        assert o.hold_before_state and o.hold_before_state != OrderState.HOLDED
    else:
        expected = expected_open_state(o, items)
        assert o.state == (expected or OrderState.NEW), (o.state, expected)
    # Money.
    assert o.grand_total == o.subtotal + o.shipping_amount - o.discount_amount + o.tax_amount
    invoiced = Invoice.objects.filter(order=o).aggregate(s=Sum("grand_total"))["s"] or 0
    refunded = CreditMemo.objects.filter(order=o).aggregate(s=Sum("grand_total"))["s"] or 0
    assert o.total_paid == o.total_invoiced == invoiced
    assert o.total_refunded == refunded
    assert 0 <= o.total_refunded <= o.total_paid <= o.grand_total
    if all(i.qty_invoiced == i.qty_ordered for i in items):
        assert o.total_paid == o.grand_total
    for document in [*Invoice.objects.filter(order=o), *CreditMemo.objects.filter(order=o)]:
        assert document.grand_total == (document.subtotal + document.shipping_amount - document.discount_amount
                                        + document.tax_amount + getattr(document, "adjustment_refund", 0)
                                        - getattr(document, "adjustment_fee", 0))
        assert is_exact(document.grand_total, currency) and is_exact(document.tax_amount, currency)
    # Stock.
    reservations = dict(StockReservation.objects.filter(reference=stock_reference(o)).values_list("product_id",
                                                                                                  "qty"))
    for product in Product.objects.filter(pk__in=initial_stock):
        mine = [i for i in items if i.product_id == product.pk]
        if not product.manage_stock or not reserved_order:
            assert product.qty == initial_stock[product.pk] + returned.get(product.pk, 0)
            assert product.qty_reserved == 0
            continue
        shipped = sum(i.qty_shipped for i in mine)
        assert product.qty + shipped - returned.get(product.pk, 0) == initial_stock[product.pk]
        to_ship = sum(i.qty_to_ship for i in mine)
        assert product.qty_reserved == reservations.get(product.pk, 0) == to_ship


def apply_random_action(draw, order, returned):
    o = fresh(order)
    items = list(o.items.all())
    action = draw(st.sampled_from(ACTIONS))
    currency = o.currency
    kwargs = {}
    if action == "invoice":
        service = invoice_create
        kwargs["quantities"] = draw_quantities(draw, items, "qty_to_invoice")
    elif action == "ship":
        service = shipment_create
        kwargs["quantities"] = draw_quantities(draw, items, "qty_to_ship")
        kwargs["tracks"] = draw(st.sampled_from([
            [], [{"carrier_code": "ups", "number": "1Z1"}],
            [{"carrier_code": "custom", "title": "Bike", "number": "B1"}, {"carrier_code": "dhl", "number": "D"}],
            [{"carrier_code": "pigeon", "number": "P"}],
        ]))
    elif action == "creditmemo":
        service = creditmemo_create
        kwargs["quantities"] = draw_quantities(draw, items, "qty_to_refund")
        left = o.shipping_invoiced - o.shipping_refunded
        kwargs["shipping_refund"] = draw(st.sampled_from([None, left, Decimal(0), left + Decimal(CURRENCIES[currency]),
                                                          (left / 2).quantize(Decimal(CURRENCIES[currency]))]))
        kwargs["adjustment_refund"] = draw(st.sampled_from(["0", "0", CURRENCIES[currency], "abc", "0.001"]))
        kwargs["adjustment_fee"] = draw(st.sampled_from(["0", "0", CURRENCIES[currency]]))
        kwargs["return_to_stock"] = draw(st.sampled_from([(), True, [i.pk for i in items[:1]]]))
    elif action == "cancel":
        service = order_cancel
    elif action == "hold":
        service = order_hold
    elif action == "unhold":
        service = order_unhold
    else:
        service = order_comment_add
        kwargs["comment"] = draw(st.sampled_from(["Note", ""]))
    verdict = rules.check(o, Action(action))
    before = state_of(order)
    memo_base = {i.pk: (i.qty_to_ship, i.product_id, i.product.manage_stock if i.product else False) for i in items}
    try:
        result = service(order=order, actor="property test", **kwargs)
    except OrderActionError as error:
        if not verdict:
            assert error.message == str(verdict.reason)
        assert state_of(order) == before  # a refusal changes nothing
        return
    assert verdict, f"{action} succeeded although the rules said: {verdict.reason}"
    if action == "creditmemo":
        back = {i.pk for i in items} if kwargs["return_to_stock"] is True else set(kwargs["return_to_stock"])
        for memo_item in result.items.all():
            to_ship, product_id, managed = memo_base[memo_item.order_item_id]
            shipped_part = memo_item.qty - min(memo_item.qty, to_ship)
            if memo_item.order_item_id in back and managed and shipped_part:
                returned[product_id] = returned.get(product_id, 0) + shipped_part


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_action_sequences_keep_every_invariant(data):
    with rolled_back():
        random_sequence(data)


def random_sequence(data):
    order, initial_stock = build_order(data.draw)
    reserved_order = StockReservation.objects.filter(reference=stock_reference(order)).exists() or not any(
        Product.objects.filter(pk__in=initial_stock, manage_stock=True).values_list("pk", flat=True))
    reserved_order = reserved_order and fresh(order).items.exists()
    returned: dict[int, int] = {}
    check_invariants(order, initial_stock, returned, reserved_order)
    for _ in range(data.draw(st.integers(1, 10))):
        apply_random_action(data.draw, order, returned)
        check_invariants(order, initial_stock, returned, reserved_order)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_invoicing_and_refunding_in_random_pieces_returns_exactly_the_totals(data):
    with rolled_back():
        pieces(data)


def pieces(data):
    order, _stock = build_order(data.draw)
    items = list(fresh(order).items.all())
    # Invoice in random pieces until everything is invoiced.
    while any(i.qty_to_invoice for i in items):
        piece = {i.pk: data.draw(st.integers(0, i.qty_to_invoice)) for i in items if i.qty_to_invoice}
        if not any(piece.values()):
            piece = None
        preview = invoice_preview(order=order, quantities=piece)
        invoice = invoice_create(order=order, quantities=piece, actor="tests")
        assert preview == totals_of(invoice)  # what staff are shown is what they get
        items = list(fresh(order).items.all())
    o = fresh(order)
    assert o.total_paid == o.grand_total
    assert Invoice.objects.filter(order=o).aggregate(s=Sum("tax_amount"))["s"] == o.tax_amount
    assert Invoice.objects.filter(order=o).aggregate(s=Sum("discount_amount"))["s"] == o.discount_amount
    if o.total_paid == 0:
        return  # a free order has nothing to refund (the rules refuse a credit memo)
    # Refund in random pieces (shipping too) until everything is refunded.
    step = Decimal(CURRENCIES[o.currency])
    while o.total_paid > o.total_refunded:
        piece = {i.pk: data.draw(st.integers(0, i.qty_to_refund)) for i in items if i.qty_to_refund}
        left = o.shipping_invoiced - o.shipping_refunded
        shipping = Decimal(data.draw(st.integers(0, int(left / step)))) * step
        if not any(piece.values()) and not shipping:
            piece, shipping = None, None  # everything left
        preview = creditmemo_preview(order=order, quantities=piece, shipping_refund=shipping)
        memo = creditmemo_create(order=order, quantities=piece, shipping_refund=shipping, actor="tests")
        assert preview == totals_of(memo)
        o = fresh(order)
        items = list(o.items.all())
    assert o.total_refunded == o.total_paid == o.grand_total
    if any(i.qty_to_refund for i in items):
        return  # what is left is free (fully discounted) items: nothing paid is left to refund them with
    assert o.state == OrderState.CLOSED
    if o.shipping_refunded < o.shipping_invoiced:
        return  # the shipping left was entirely discounted: nothing paid is left to refund it with
    memos = CreditMemo.objects.filter(order=o)
    for field in ("subtotal", "tax_amount", "discount_amount", "shipping_amount"):
        assert memos.aggregate(s=Sum(field))["s"] == getattr(o, field), field
    assert o.state == OrderState.CLOSED
