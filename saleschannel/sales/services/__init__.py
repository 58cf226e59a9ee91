"""Every change to a Commerce order: create, invoice, ship, refund, cancel, hold, comment, email, reorder.

Each service is one transaction that (1) locks the order row, (2) asks ``sales.rules`` whether the action is allowed
and validates its input (``sales.inputs``) — raising ``OrderActionError`` before anything is written — (3) changes
the order, its items, stock and documents (amounts from ``sales.amounts``), (4) moves the order to the state its
quantities call for (DESIGN.md §3.2) and (5) records what happened, and who did it, in the order history
(``sales.history``). Customer emails and channel messages are queued in the same transaction (emails run on
commit), so a rolled-back change announces nothing.

``actor`` is the staff ``User`` who acted, or a label such as ``"Amazon sync"`` for automatic changes.

The services live in one module per concern (orders, invoices, shipments, credit memos, order actions, statuses);
this package exports them all, so callers write ``from saleschannel.sales import services`` / ``services.X``.
"""

from saleschannel.sales.amounts import ZERO, DocumentAmounts
from saleschannel.sales.inputs import ADDRESS_FIELDS, ADDRESS_LIMITS, ITEM_KEYS, MAX_QUANTITY
from saleschannel.sales.services._common import OPEN_STATES, QUANTITY_BATCH, stock_reference
from saleschannel.sales.services.actions import (
    order_cancel,
    order_cancel_for_channel,
    order_comment_add,
    order_email_send,
    order_hold,
    order_unhold,
)
from saleschannel.sales.services.creditmemos import creditmemo_create, creditmemo_preview
from saleschannel.sales.services.invoices import invoice_create, invoice_preview
from saleschannel.sales.services.orders import (
    CREATION_STATES,
    NewOrder,
    OrderDraft,
    order_create,
    order_prepare,
    order_reorder,
    orders_create_many,
)
from saleschannel.sales.services.shipments import shipment_create
from saleschannel.sales.services.statuses import STATUS_CODE, order_status_create, statuses_cached

__all__ = [
    "ADDRESS_FIELDS",
    "ADDRESS_LIMITS",
    "CREATION_STATES",
    "ITEM_KEYS",
    "MAX_QUANTITY",
    "OPEN_STATES",
    "QUANTITY_BATCH",
    "STATUS_CODE",
    "ZERO",
    "DocumentAmounts",
    "NewOrder",
    "OrderDraft",
    "creditmemo_create",
    "creditmemo_preview",
    "invoice_create",
    "invoice_preview",
    "order_cancel",
    "order_cancel_for_channel",
    "order_comment_add",
    "order_create",
    "order_email_send",
    "order_hold",
    "order_prepare",
    "order_reorder",
    "order_status_create",
    "order_unhold",
    "orders_create_many",
    "shipment_create",
    "statuses_cached",
    "stock_reference",
]
