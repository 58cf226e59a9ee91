"""Helpers shared by the sales services: locking an order, asking the rules, saving quantities, settling the state.

Private to ``sales.services``: each service composes them inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Prefetch

from saleschannel.catalog.models import Product, Store
from saleschannel.core.i18n import gettext as _
from saleschannel.sales import history, rules
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderHistory, OrderItem, OrderState
from saleschannel.sales.numbering import next_number
from saleschannel.sales.rules import Action
from saleschannel.sales.services.statuses import _default_status, _status_label
from saleschannel.sales.tasks import sales_email_send

# States an order is in before anything happened to it; the automatic transitions start from these.
OPEN_STATES = frozenset(s.value for s in (OrderState.NEW, OrderState.PENDING_PAYMENT, OrderState.PROCESSING,
                                          OrderState.COMPLETE, OrderState.CLOSED))
QUANTITY_BATCH = 5_000  # ids per UPDATE ... IN (...): well under SQLite's limit of bound variables


def stock_reference(order: Order) -> str:
    """The name under which an order holds its stock reservations."""
    return f"sales.order:{order.pk}"


def _email_later(kind: str, object_id: int, comment: str = "") -> None:
    """Queue a customer email once the transaction commits (never for a change that rolled back)."""
    transaction.on_commit(lambda: sales_email_send(kind, object_id, comment))


def _require(order: Order, action: Action, *, items: list[OrderItem] | None = None, zero_refund: bool = False) -> None:
    """Raise ``OrderActionError`` (``not_allowed``, with the rules' reason) when ``action`` is refused."""
    verdict = rules.check(order, action, items=items, zero_refund=zero_refund)
    if not verdict:
        raise OrderActionError(str(verdict.reason), code="not_allowed")


def _next_number(store: Store, kind: str) -> str:
    return next_number(store=store, kind=kind)


def _lock(order: Order) -> Order:
    """The order row locked for this transaction, with its items (and their products) prefetched."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("store")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("product")))
        .get(pk=order.pk)
    )


def _refresh_caller(order: Order, locked: Order) -> None:
    """Give the caller's order object the values (and items) the service just wrote."""
    if order is locked:
        return
    for field in Order._meta.concrete_fields:
        setattr(order, field.attname, getattr(locked, field.attname))
    order._prefetched_objects_cache = getattr(locked, "_prefetched_objects_cache", {})


def _settle_state(order: Order, items: list[OrderItem]) -> bool:
    """Move an open order to the state its quantities and totals call for; True when the state changed.

    ``new`` → ``processing`` once something is invoiced, shipped or refunded; everything invoiced and nothing left
    to ship → ``complete``, or ``closed`` when nothing paid is left to refund either. Held, canceled and
    payment-review orders are left alone (their state is set by hold/unhold/cancel only).
    """
    if order.state not in OPEN_STATES:
        return False
    touched = any(i.qty_invoiced or i.qty_shipped or i.qty_refunded for i in items) or order.total_refunded > 0
    if not touched:
        return False
    if all(i.qty_to_invoice == 0 for i in items) and all(i.qty_to_ship == 0 for i in items):
        refunded_something = order.total_refunded > 0 or any(i.qty_refunded for i in items)
        fully_refunded = order.total_paid - order.total_refunded <= 0
        state = OrderState.CLOSED if fully_refunded and refunded_something else OrderState.COMPLETE
    else:
        state = OrderState.PROCESSING
    return _set_state(order, state)


def _set_state(order: Order, state: str) -> bool:
    if order.state == state:
        return False
    order.state = state
    order.status = _default_status(state)
    return True


def _status_note(changed: bool, order: Order) -> str:
    if not changed:
        return ""
    return " " + _("The order status is now %(status)s.") % {"status": _(_status_label(order.status))}


def _save_quantities(items: list[OrderItem], field: str) -> None:
    """Write one quantity of many items: one ``UPDATE`` per distinct value, a few thousand rows at a time.

    A 10,000-line order has few distinct quantities; ``bulk_update`` would build one ``CASE`` branch per row (seconds
    on PostgreSQL, and SQLite's expression limit forces small batches).
    """
    by_value: dict[int, list[int]] = {}
    for item in items:
        by_value.setdefault(getattr(item, field), []).append(item.pk)
    for value, ids in by_value.items():
        for start in range(0, len(ids), QUANTITY_BATCH):
            OrderItem.objects.filter(pk__in=ids[start:start + QUANTITY_BATCH]).update(**{field: value})


def _save(order: Order, *fields: str) -> None:
    order.save(update_fields=[*fields, "updated_at"])


def _stock_by_product(lines: Iterable[tuple[OrderItem, int]]) -> dict[Product, int]:
    """{product: qty} summed over lines of products whose stock is managed."""
    totals: dict[int, list] = {}
    for item, qty in lines:
        product = item.product
        if product is not None and product.manage_stock and qty > 0:
            totals.setdefault(product.pk, [product, 0])[1] += qty
    return {product: qty for product, qty in totals.values()}


def _prefetched(order: Order) -> Order:
    """The order with its items and their products (from the caller's prefetch when it has one)."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "items" in cache:
        return order
    return (Order.objects.select_related("store")
            .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("product")))
            .get(pk=order.pk))


def _comment_and_email(order: Order, actor, comment: str, notify: bool, kind: str, document) -> list[OrderHistory]:
    """History lines for a document's comment and customer email; queues the email."""
    lines = []
    comment = (comment or "").strip()
    if comment:
        lines.append(history.comment(order, actor, comment, notified=bool(notify)))
    if notify:
        lines.append(history.document_emailed(order, actor, kind=kind, number=document.number))
        _email_later(kind, document.pk, comment)
    return lines
