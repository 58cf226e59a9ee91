"""Invoices: what an invoice would hold (``invoice_preview``) and invoicing (offline capture)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from saleschannel.core.bulk import insert_new, link
from saleschannel.sales import history, inputs
from saleschannel.sales.amounts import invoice_amounts
from saleschannel.sales.models import Invoice, InvoiceItem, Order, OrderHistory, OrderItem
from saleschannel.sales.rules import Action
from saleschannel.sales.services import _events
from saleschannel.sales.services._common import (
    _comment_and_email,
    _lock,
    _next_number,
    _prefetched,
    _refresh_caller,
    _require,
    _save,
    _save_quantities,
    _settle_state,
    _status_note,
)


def invoice_preview(*, order: Order, quantities=None) -> dict[str, Decimal]:
    """The totals ``invoice_create`` would produce for ``quantities`` now, without writing anything.

    Same validation (``OrderActionError`` for bad quantities), same rounding: what staff see before saving is what
    the invoice will say. Keys: subtotal, shipping, shipping_tax, discount, tax, adjustment_refund, adjustment_fee,
    grand_total.
    """
    order = _prefetched(order)
    items = list(order.items.all())
    return invoice_amounts(order, items, inputs.invoice_quantities(quantities, items)).as_dict()


def invoice_create(*, order: Order, quantities=None, comment: str = "", notify_customer: bool = False,
                   actor) -> Invoice:
    """Invoice (offline capture) ``quantities`` ({order item id: qty}; None = everything left to invoice).

    The first invoice also carries the order's shipping, shipping tax and order-level discount. The order's
    invoiced and paid totals rise by the invoice's grand total.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.INVOICE)
        before = _events.status_before(locked)
        items = list(locked.items.all())
        wanted = inputs.invoice_quantities(quantities, items)
        amounts = invoice_amounts(locked, items, wanted)
        changed_items = []
        for item, qty, *_amounts in amounts.lines:
            item.qty_invoiced += qty
            changed_items.append(item)
        subtotal, shipping, discount, tax = amounts.subtotal, amounts.shipping, amounts.discount, amounts.tax
        grand_total = amounts.grand_total
        label = history.author(actor)[1]
        invoice = Invoice.objects.create(
            number=_next_number(locked.store, "invoice"), order=locked, subtotal=subtotal, shipping_amount=shipping,
            discount_amount=discount, tax_amount=tax, grand_total=grand_total, created_by=label,
        )
        # Lines built from ids (``invoice_id``, ``order_item_id``) and written by ``insert_new``: with 10,000 lines,
        # setting the related objects and ``bulk_create``'s compiler cost a good part of the request.
        insert_new([
            InvoiceItem(invoice_id=invoice.pk, order_item_id=item.pk, qty=qty, price=item.price, row_total=row,
                        tax_amount=tax, discount_amount=discount)
            for item, qty, row, tax, discount in amounts.lines
        ])
        _save_quantities(changed_items, "qty_invoiced")
        locked.total_invoiced += grand_total
        locked.total_paid += grand_total
        locked.shipping_invoiced += shipping
        changed = _settle_state(locked, items)
        _save(locked, "total_invoiced", "total_paid", "shipping_invoiced", "state", "status")
        notes = [history.invoice_created(locked, actor, invoice, status_note=_status_note(changed, locked))]
        notes += _comment_and_email(locked, actor, comment, notify_customer, "invoice", invoice)
        OrderHistory.objects.bulk_create(notes)
        _events.publish_invoiced(locked, invoice, before)
        invoice.order = locked
        _refresh_caller(order, locked)
    return invoice


def invoice_new_order(order: Order, lines: list[OrderItem], actor) -> Invoice:
    """Invoice every unit of an order not saved yet (``order_create(invoice=True)``): same rules, amounts, state and
    history as ``invoice_create``, applied to the unsaved rows so that they are inserted already invoiced.

    Returns the unsaved invoice (its lines in ``new_items``); its number and history line come when it is written.
    """
    # The rules are asked about the order as it is before the invoice. It has no id yet: a channel's veto sees an
    # order it has never heard of, as it would right after the insert.
    _require(order, Action.INVOICE, items=lines)
    invoice = Invoice()
    link(invoice, "order", order)
    wanted = {id(line): line.qty_ordered for line in lines}
    amounts = invoice_amounts(order, lines, wanted, key=id)
    invoice.subtotal, invoice.shipping_amount = amounts.subtotal, amounts.shipping
    invoice.discount_amount, invoice.tax_amount = amounts.discount, amounts.tax
    invoice.grand_total, invoice.created_by = amounts.grand_total, history.author(actor)[1]
    invoice.new_items = [
        InvoiceItem(qty=qty, price=item.price, row_total=row, tax_amount=tax, discount_amount=discount)
        for item, qty, row, tax, discount in amounts.lines
    ]
    for invoice_item, (item, *_amounts) in zip(invoice.new_items, amounts.lines, strict=True):
        link(invoice_item, "invoice", invoice)
        link(invoice_item, "order_item", item)
    for item, qty, *_amounts in amounts.lines:
        item.qty_invoiced += qty
    order.total_invoiced += amounts.grand_total
    order.total_paid += amounts.grand_total
    order.shipping_invoiced += amounts.shipping
    invoice.status_changed = _settle_state(order, lines)
    return invoice
