"""The events the order services publish (``core.events``), with their payloads.

Private to ``sales.services``: each service calls these inside its own transaction, after writing the change. A
payload carries ids, numbers and the key fields of the API's order representation — never the customer's name,
email or addresses (a receiver fetches ``GET /api/v1/orders/{id}`` when it needs them).
"""

from __future__ import annotations

from saleschannel.core import events
from saleschannel.sales.models import CreditMemo, Invoice, Order, Shipment, ShipmentTrack


def _money(value) -> str:
    return str(value)


def order_payload(order: Order) -> dict:
    store = order.store  # loaded with the order by the services (select_related)
    return {
        "order": {
            "id": order.pk,
            "number": order.number,
            "store": {"id": store.pk, "code": store.code},
            "state": order.state,
            "status": order.status,
            "origin": order.origin,
            "external_order_number": order.external_order_number,
            "currency": order.currency,
            "totals": {
                "grand_total": _money(order.grand_total),
                "total_invoiced": _money(order.total_invoiced),
                "total_paid": _money(order.total_paid),
                "total_refunded": _money(order.total_refunded),
                "total_canceled": _money(order.total_canceled),
            },
            "updated_at": order.updated_at.isoformat() if order.updated_at else None,
        },
    }


def status_before(order: Order) -> tuple[str, str]:
    return order.state, order.status


def _updated(order: Order, before: tuple[str, str], changes: list[str], **extra) -> list[tuple[str, dict]]:
    """``order.updated`` naming ``changes`` (what was done: hold, unhold, cancel, comment), then ``state`` and
    ``status`` when they are not what they were (``status_before``); nothing when nothing changed."""
    changes = list(changes)
    if order.state != before[0]:
        changes.append("state")
    if order.status != before[1]:
        changes.append("status")
    if not changes:
        return []
    payload = {**order_payload(order), "changes": changes,
               "previous": {"state": before[0], "status": before[1]}, **extra}
    return [(events.ORDER_UPDATED, payload)]


def _publish(order: Order, before: tuple[str, str], kind: str | None = None, **extra) -> None:
    """The event ``kind`` (with ``extra`` keys next to ``order``), then ``order.updated`` when the document changed
    the order's state or status: one publication."""
    changes = []
    if kind is not None:
        changes.append((kind, {**order_payload(order), **extra}))
    events.publish_batch(changes + _updated(order, before, []))


def publish_status_change(order: Order, before: tuple[str, str], change: str | None = None) -> None:
    """``order.updated`` for ``change`` (``hold``, ``unhold``, ``comment``) and any state or status change."""
    events.publish_batch(_updated(order, before, [change] if change else []))


def _invoice(invoice: Invoice) -> dict:
    return {"id": invoice.pk, "number": invoice.number, "grand_total": _money(invoice.grand_total)}


def publish_created(orders: list[Order]) -> None:
    """``order.created`` for each order, and ``invoice.created`` for those invoiced on creation: one publication."""
    changes = []
    for order in orders:
        changes.append((events.ORDER_CREATED, order_payload(order)))
        invoice = getattr(order, "created_invoice", None)
        if invoice is not None:
            changes.append((events.INVOICE_CREATED, {**order_payload(order), "invoice": _invoice(invoice)}))
    events.publish_batch(changes)


def publish_invoiced(order: Order, invoice: Invoice, before: tuple[str, str]) -> None:
    _publish(order, before, events.INVOICE_CREATED, invoice=_invoice(invoice))


def publish_shipped(order: Order, shipment: Shipment, tracks: list[ShipmentTrack], before: tuple[str, str]) -> None:
    _publish(order, before, events.SHIPMENT_CREATED, shipment={
        "id": shipment.pk, "number": shipment.number, "total_qty": shipment.total_qty,
        "tracks": [{"carrier_code": t.carrier_code, "title": t.title, "number": t.number} for t in tracks],
    })


def publish_refunded(order: Order, memo: CreditMemo, before: tuple[str, str]) -> None:
    _publish(order, before, events.CREDITMEMO_CREATED,
             creditmemo={"id": memo.pk, "number": memo.number, "grand_total": _money(memo.grand_total)})


def publish_canceled(order: Order, reason: str, before: tuple[str, str]) -> None:
    events.publish_batch(_updated(order, before, ["cancel"], reason=reason or ""))
