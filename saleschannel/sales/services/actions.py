"""Order actions that write no document: cancel (also for the sales channel), hold, unhold, comment, email."""

from __future__ import annotations

from django.db import transaction

from saleschannel.catalog.services import stock_release_many
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import quantum
from saleschannel.sales import history, rules
from saleschannel.sales.amounts import ZERO, share
from saleschannel.sales.channels import channel_for
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderHistory, OrderState
from saleschannel.sales.rules import Action
from saleschannel.sales.services import _events
from saleschannel.sales.services._common import (
    _email_later,
    _lock,
    _refresh_caller,
    _require,
    _save,
    _save_quantities,
    _set_state,
    _settle_state,
    _status_note,
    stock_reference,
)
from saleschannel.sales.services.creditmemos import creditmemo_create
from saleschannel.sales.services.statuses import _default_status, _state_of_status


def order_cancel(*, order: Order, comment: str = "", reason: str = "", actor) -> None:
    """Cancel what is neither invoiced nor shipped; the order becomes canceled unless part of it was invoiced.

    Reservations of the canceled units are released.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.CANCEL)
        before = _events.status_before(locked)
        items = list(locked.items.all())
        q = quantum(locked.currency)
        canceled_items = []
        release: dict[int, int] = {}
        canceled_amount = ZERO
        for item in items:
            qty = item.qty_to_cancel
            if not qty:
                continue
            canceled_amount += share(item.row_total_incl_tax, item.qty_ordered, 0, qty, q)
            item.qty_canceled += qty
            canceled_items.append(item)
            if item.product is not None and item.product.manage_stock:
                release[item.product_id] = release.get(item.product_id, 0) + qty
        if canceled_items:
            _save_quantities(canceled_items, "qty_canceled")
        if release:
            stock_release_many(reference=stock_reference(locked), quantities=release)
        if any(item.qty_invoiced for item in items):
            locked.total_canceled += canceled_amount
            changed = _settle_state(locked, items)
        else:
            locked.total_canceled = locked.grand_total - locked.total_invoiced
            changed = _set_state(locked, OrderState.CANCELED)
        _save(locked, "total_canceled", "state", "status")
        notes = [history.order_canceled(locked, actor, reason=reason, status_note=_status_note(changed, locked))]
        if (comment or "").strip():
            notes.append(history.comment(locked, actor, comment.strip(), notified=False))
        OrderHistory.objects.bulk_create(notes)
        _events.publish_canceled(locked, reason, before)
        channel_for(locked).after_cancel(locked, reason=reason)
        _refresh_caller(order, locked)


def order_cancel_for_channel(*, order: Order, reason: str, comment: str = "", actor) -> str:
    """The order's sales channel canceled it (Amazon did, or staff did there): whatever was paid, the order ends
    canceled or closed, with nothing left to ship; returns what was done, in a sentence.

    What was invoiced is refunded in full (a zero credit memo when the order cost nothing: ``zero_refund``); what was
    not invoiced is canceled. Raises ``OrderActionError`` when the order refuses (on hold, under payment review).
    """
    with transaction.atomic():
        locked = _lock(order)
        refunded = False
        if any(item.qty_to_refund for item in locked.items.all()):
            creditmemo_create(order=locked, reason=reason, comment=comment, zero_refund=True, actor=actor)
            refunded = True
        cancel = rules.check(locked, Action.CANCEL)
        if cancel:
            order_cancel(order=locked, reason=reason, comment="" if refunded else comment, actor=actor)
        elif not refunded:
            raise OrderActionError(cancel.message)
        _refresh_caller(order, locked)
    if refunded and cancel:
        return _("What was invoiced was refunded; the rest of the order was canceled.")
    return _("The order was refunded in full.") if refunded else _("The order was canceled.")


def order_hold(*, order: Order, actor) -> None:
    """Put the order on hold, remembering its state and status for ``order_unhold``."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.HOLD)
        before = _events.status_before(locked)
        locked.hold_before_state, locked.hold_before_status = locked.state, locked.status
        _set_state(locked, OrderState.HOLDED)
        _save(locked, "state", "status", "hold_before_state", "hold_before_status")
        history.saved(history.hold_placed(locked, actor))
        _events.publish_status_change(locked, before, "hold")
        _refresh_caller(order, locked)


def order_unhold(*, order: Order, actor) -> None:
    """Release the hold: the order gets back the state and status it had before."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.UNHOLD)
        before = _events.status_before(locked)
        locked.state = locked.hold_before_state or OrderState.NEW
        locked.status = locked.hold_before_status or _default_status(locked.state)
        locked.hold_before_state = locked.hold_before_status = ""
        _save(locked, "state", "status", "hold_before_state", "hold_before_status")
        history.saved(history.hold_released(locked, actor))
        _events.publish_status_change(locked, before, "unhold")
        _refresh_caller(order, locked)


def order_comment_add(*, order: Order, comment: str, status: str | None = None, notify_customer: bool = False,
                      visible_on_front: bool = False, actor) -> OrderHistory:
    """Add a note to the order, optionally changing its status (to a status of its current state) and emailing it
    to the customer."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.COMMENT)
        before = _events.status_before(locked)
        text = (comment or "").strip()
        status_changed = False
        if status and status != locked.status:
            state_of_status = _state_of_status(status)
            if state_of_status is None:
                raise OrderActionError(_('Unknown order status "%(status)s".') % {"status": status},
                                       code="invalid", field="status")
            if state_of_status != locked.state:
                raise OrderActionError(
                    _("The status must belong to the order's current state (%(state)s).")
                    % {"state": OrderState(locked.state).label},
                    code="invalid", field="status",
                )
            locked.status = status
            status_changed = True
        if not text and not status_changed:
            raise OrderActionError(_("Enter a comment."), code="invalid", field="comment")
        # A comment is a change of the order too: sync clients asking "updated since" must see it.
        _save(locked, *(["status"] if status_changed else []))
        line = history.saved(history.comment(locked, actor, text, notified=bool(notify_customer),
                                             visible=bool(visible_on_front)))
        if notify_customer and text:
            history.saved(history.comment_emailed(locked, actor))
            _email_later("comment", locked.pk, text)
        _events.publish_status_change(locked, before, "comment")
        _refresh_caller(order, locked)
    return line


def order_email_send(*, order: Order, actor) -> None:
    """Send the order confirmation email to the customer again."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.EMAIL)
        history.saved(history.confirmation_emailed(locked, actor))
        _save(locked)  # its history changed: "updated since" sees it
        _email_later("order", locked.pk)
        _refresh_caller(order, locked)
