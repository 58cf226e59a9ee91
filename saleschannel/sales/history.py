"""The lines the sales services write in an order's history, one function per kind of line.

Each function builds an unsaved ``OrderHistory`` linked to its order (services insert them together, or one with
``saved``). ``actor`` is the staff ``User`` who acted, or a label such as ``"Amazon sync"`` for automatic changes.
``status_note`` is the sentence announcing a new order status (empty when the status did not change).
"""

from __future__ import annotations

from typing import Any

from saleschannel.core.bulk import link
from saleschannel.core.i18n import gettext as _
from saleschannel.core.i18n import ngettext
from saleschannel.core.money import format_money
from saleschannel.sales.models import (
    CreditMemo,
    HistoryKind,
    Invoice,
    Order,
    OrderHistory,
    OrderState,
    Shipment,
    ShipmentTrack,
)


def author(actor) -> tuple[Any, str]:
    """(user or None, label) for history lines and documents' ``created_by``."""
    if actor is None:
        return None, "system"
    if hasattr(actor, "get_username"):
        return actor, actor.get_username()
    return None, str(actor)[:150]


def line(order: Order, actor, comment: str, *, kind: str = HistoryKind.EVENT, notified: bool | None = None,
         visible: bool = False) -> OrderHistory:
    """Any history line: ``comment`` under the order's current status."""
    user, label = author(actor)
    entry = OrderHistory(kind=kind, comment=comment, status=order.status, author_id=user.pk if user else None,
                         author_label=label, is_customer_notified=notified, is_visible_on_front=visible)
    link(entry, "order", order)
    return entry


def saved(entry: OrderHistory) -> OrderHistory:
    """``entry`` written on its own."""
    entry.save(force_insert=True)
    return entry


def order_created(order: Order, actor) -> OrderHistory:
    if order.origin != "backoffice" and order.external_order_number:
        note = _("Order created from %(origin)s order %(number)s.") % {
            "origin": order.origin.capitalize(), "number": order.external_order_number,
        }
    else:
        note = _("Order created.")
    return line(order, actor, note)


def confirmation_emailed(order: Order, actor) -> OrderHistory:
    return line(order, actor, _("The order confirmation email was sent to the customer."), kind=HistoryKind.EMAIL,
                notified=True)


def invoice_created(order: Order, actor, invoice: Invoice, *, status_note: str = "") -> OrderHistory:
    return line(
        order, actor,
        _("Invoice #%(number)s created: %(amount)s captured offline.")
        % {"number": invoice.number, "amount": format_money(invoice.grand_total, order.currency)}
        + status_note,
    )


def shipment_created(order: Order, actor, shipment: Shipment, tracks: list[ShipmentTrack], *,
                     status_note: str = "") -> OrderHistory:
    note = ngettext("Shipment #%(number)s created: %(qty)d item.", "Shipment #%(number)s created: %(qty)d items.",
                    shipment.total_qty) % {"number": shipment.number, "qty": shipment.total_qty}
    if tracks:
        note += " " + _("Tracking: %(tracks)s.") % {
            "tracks": ", ".join(f"{t.title} {t.number}" for t in tracks)
        }
    return line(order, actor, note + status_note)


def creditmemo_created(order: Order, actor, memo: CreditMemo, *, returned_qty: int,
                       status_note: str = "") -> OrderHistory:
    note = _("Credit memo #%(number)s created: %(amount)s refunded offline.") % {
        "number": memo.number, "amount": format_money(memo.grand_total, order.currency),
    }
    if returned_qty:
        note += " " + ngettext("%(qty)d unit returned to stock.", "%(qty)d units returned to stock.",
                               returned_qty) % {"qty": returned_qty}
    return line(order, actor, note + status_note)


def document_emailed(order: Order, actor, *, kind: str, number: str) -> OrderHistory:
    """A document's email (``kind``: invoice, shipment or creditmemo) was sent to the customer."""
    notes = {
        "invoice": _("The invoice #%(number)s email was sent to the customer."),
        "shipment": _("The shipment #%(number)s email was sent to the customer."),
        "creditmemo": _("The credit memo #%(number)s email was sent to the customer."),
    }
    return line(order, actor, notes[kind] % {"number": number}, kind=HistoryKind.EMAIL, notified=True)


def comment(order: Order, actor, text: str, *, notified: bool, visible: bool = False) -> OrderHistory:
    return line(order, actor, text, kind=HistoryKind.COMMENT, notified=notified, visible=visible)


def comment_emailed(order: Order, actor) -> OrderHistory:
    return line(order, actor, _("The comment was emailed to the customer."), kind=HistoryKind.EMAIL, notified=True)


def order_canceled(order: Order, actor, *, reason: str, status_note: str = "") -> OrderHistory:
    """The order was canceled, or (when part of it was invoiced and it is not canceled) its items not invoiced."""
    note = _("Order canceled.") if order.state == OrderState.CANCELED else _("Items not invoiced were canceled.")
    if reason:
        note += " " + _("Reason: %(reason)s.") % {"reason": reason}
    return line(order, actor, note + status_note)


def hold_placed(order: Order, actor) -> OrderHistory:
    return line(order, actor, _("The order was put on hold."))


def hold_released(order: Order, actor) -> OrderHistory:
    return line(order, actor, _("The hold on the order was released."))


def reorder_of(new_order: Order, actor, *, number: str) -> OrderHistory:
    return line(new_order, actor, _("Reorder of order #%(number)s.") % {"number": number})


def reordered_as(order: Order, actor, *, number: str) -> OrderHistory:
    return line(order, actor, _("Reordered as order #%(number)s.") % {"number": number})
