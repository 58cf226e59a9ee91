"""Credit memos: what a refund would hold (``creditmemo_preview``) and refunding (offline)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from saleschannel.catalog.services import stock_release_many, stock_return_many
from saleschannel.core.bulk import insert_new
from saleschannel.sales import history, inputs
from saleschannel.sales.amounts import creditmemo_amounts
from saleschannel.sales.channels import channel_for
from saleschannel.sales.models import CreditMemo, CreditMemoItem, Order, OrderHistory, OrderItem
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
    _stock_by_product,
    stock_reference,
)


def creditmemo_preview(*, order: Order, quantities=None, shipping_refund=None, adjustment_refund=0,
                       adjustment_fee=0) -> dict[str, Decimal]:
    """The totals ``creditmemo_create`` would produce now, without writing anything (same validation and rounding;
    ``OrderActionError`` when the refund would be refused)."""
    order = _prefetched(order)
    items = list(order.items.all())
    wanted, shipping, adj_refund, adj_fee = inputs.creditmemo_input(
        order, items, quantities, shipping_refund, adjustment_refund, adjustment_fee)
    return creditmemo_amounts(order, items, wanted, shipping, adj_refund, adj_fee).as_dict()


def creditmemo_create(
    *, order: Order, quantities=None, return_to_stock=(), shipping_refund=None, adjustment_refund=0,
    adjustment_fee=0, comment: str = "", notify_customer: bool = False, reason: str = "", zero_refund: bool = False,
    actor,
) -> CreditMemo:
    """Refund (offline) ``quantities`` ({order item id: qty}; None = everything invoiced and not refunded).

    ``return_to_stock``: order item ids (or True for all) whose refunded units that had shipped go back on the
    shelf; refunded units that had not shipped simply stop being reserved. ``shipping_refund`` (None = all the
    shipping not refunded yet) cannot exceed the shipping left to refund; the shipping tax and any order-level
    discount follow it in proportion. ``adjustment_refund`` adds to and ``adjustment_fee`` takes from the refund.
    The refund can never exceed what was paid and not refunded yet. ``zero_refund``: the order may have nothing
    paid left (an order that cost nothing): the credit memo then refunds quantities only (see ``rules``).
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.CREDITMEMO, zero_refund=zero_refund)
        before = _events.status_before(locked)
        items = list(locked.items.all())
        wanted, shipping, adj_refund, adj_fee = inputs.creditmemo_input(
            locked, items, quantities, shipping_refund, adjustment_refund, adjustment_fee)
        back_ids = inputs.return_to_stock_ids(return_to_stock, items)
        amounts = creditmemo_amounts(locked, items, wanted, shipping, adj_refund, adj_fee)

        memo_items = []
        refunded_items = []
        release: dict[int, int] = {}
        back: list[tuple[OrderItem, int]] = []
        for item, qty, row, tax, discount in amounts.lines:
            # Units refunded before they shipped are no longer to ship (their reservation ends); the others had
            # left the warehouse and may come back to stock.
            unshipped = min(qty, item.qty_to_ship)
            if unshipped and item.product is not None and item.product.manage_stock:
                release[item.product_id] = release.get(item.product_id, 0) + unshipped
            if item.pk in back_ids and qty - unshipped > 0:
                back.append((item, qty - unshipped))
            # From ids (the credit memo's is set once it exists), written by ``insert_new``: setting the related
            # objects and ``bulk_create``'s compiler cost a good part of the request on 10,000 lines.
            memo_items.append(CreditMemoItem(
                creditmemo_id=None, order_item_id=item.pk, qty=qty, back_to_stock=item.pk in back_ids,
                price=item.price, row_total=row, tax_amount=tax, discount_amount=discount,
            ))
            item.qty_refunded += qty
            refunded_items.append(item)
        subtotal, discount, tax = amounts.subtotal, amounts.discount, amounts.tax
        shipping_tax, grand_total = amounts.shipping_tax, amounts.grand_total

        label = history.author(actor)[1]
        memo = CreditMemo.objects.create(
            number=_next_number(locked.store, "creditmemo"), order=locked, subtotal=subtotal,
            shipping_amount=shipping, shipping_tax_amount=shipping_tax, discount_amount=discount, tax_amount=tax,
            adjustment_refund=adj_refund, adjustment_fee=adj_fee, grand_total=grand_total,
            reason=(reason or "")[:64], created_by=label,
        )
        for line in memo_items:
            line.creditmemo_id = memo.pk
        insert_new(memo_items)
        if refunded_items:
            _save_quantities(refunded_items, "qty_refunded")
        if release:
            stock_release_many(reference=stock_reference(locked), quantities=release)
        returned = _stock_by_product(back)
        if returned:
            stock_return_many(quantities=returned)
        locked.total_refunded += grand_total
        locked.shipping_refunded += shipping
        changed = _settle_state(locked, items)
        _save(locked, "total_refunded", "shipping_refunded", "state", "status")
        notes = [history.creditmemo_created(locked, actor, memo, returned_qty=sum(returned.values()),
                                            status_note=_status_note(changed, locked))]
        notes += _comment_and_email(locked, actor, comment, notify_customer, "creditmemo", memo)
        OrderHistory.objects.bulk_create(notes)
        _events.publish_refunded(locked, memo, before)
        memo.order = locked
        channel_for(locked).after_creditmemo(memo)
        _refresh_caller(order, locked)
    return memo
