"""The mirror of an Amazon order: Amazon's fields copied onto ``AmazonOrder``, its items and its events (§4.2).

Shared by the batch import of new orders, the one-by-one import and the orders kept in Error.
"""

from __future__ import annotations

from saleschannel.amazon.events import Message, msg, note_fields
from saleschannel.amazon.events import fields as event_fields
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderItem,
    AmazonStore,
    EventDirection,
    EventLevel,
)
from saleschannel.amazon.origin import INBOUND_ACTOR
from saleschannel.amazon.privacy import AMAZON_FIELDS as PERSONAL_FIELDS
from saleschannel.amazon.privacy import keeps_personal_data
from saleschannel.amazon.spapi.normalise import AmazonOrderData
from saleschannel.core.bulk import link

ORDER_FIELDS = (
    "marketplace_id", "sales_channel", "fulfillment_channel", "ship_service_level",
    "shipment_service_level_category", "buyer_name", "buyer_email", "buyer_company", "currency", "order_total",
    "is_prime", "is_premium", "is_business", "is_replacement", "items_shipped", "items_unshipped", "purchase_date",
    "latest_ship_date", "latest_delivery_date", "last_update_date", "earliest_ship_date", "earliest_delivery_date",
)
ADDRESS_FIELDS = {
    "ship_name": "name", "ship_company": "company", "ship_address_line1": "line1", "ship_address_line2": "line2",
    "ship_address_line3": "line3", "ship_city": "city", "ship_region": "region", "ship_postal_code": "postal_code",
    "ship_country_code": "country_code", "ship_phone": "phone",
}
ITEM_FIELDS = (
    "asin", "seller_sku", "title", "condition", "qty_ordered", "qty_shipped", "item_price", "item_tax",
    "shipping_price", "shipping_tax", "shipping_discount", "shipping_discount_tax", "promotion_discount",
    "promotion_discount_tax", "buyer_requested_cancel", "buyer_cancel_reason",
)


def copy_order_fields(order: AmazonOrder, data: AmazonOrderData) -> None:
    """Copy Amazon's order fields onto ``order``, keeping what must not change: personal data once redacted, an
    address edited here, a total once known."""
    personal = keeps_personal_data(order)
    for name in ORDER_FIELDS:
        if not personal and name in PERSONAL_FIELDS:
            continue  # redacted for good: a later change on Amazon does not bring it back
        value = getattr(data, name)
        if value is None and name not in ("order_total", "latest_ship_date", "latest_delivery_date",
                                          "last_update_date", "earliest_ship_date", "earliest_delivery_date"):
            continue
        if name == "order_total" and value is None and order.order_total is not None:
            continue  # keep the total once known
        setattr(order, name, value)
    if data.address is not None and order.address_edited_at is None:
        for model_field, data_field in ADDRESS_FIELDS.items():
            if personal or model_field not in PERSONAL_FIELDS:
                setattr(order, model_field, getattr(data.address, data_field)[:255])
    if data.payment_method:
        order.payment_method = data.payment_method
    order.buyer_cancel_requested = order.buyer_cancel_requested or data.buyer_requested_cancel


def new_item(order: AmazonOrder, item) -> AmazonOrderItem:
    """A new, unsaved ``AmazonOrderItem`` of ``order`` from Amazon's item ``item``."""
    row = AmazonOrderItem(order_item_id=item.order_item_id, **{f: getattr(item, f) for f in ITEM_FIELDS})
    link(row, "order", order)
    return row


def flag_buyer_cancel(order: AmazonOrder, events: list, data: AmazonOrderData) -> None:
    """Note on ``order`` that the buyer asked Amazon to cancel it, with the reason given."""
    reason = next((i.buyer_cancel_reason for i in data.items if i.buyer_requested_cancel), "")
    order.buyer_cancel_requested = True
    order.buyer_cancel_reason = reason[:255]
    record_event(order, events, "buyer_cancel",
                 msg("buyer_cancel", reason=reason or msg("no_reason")), level=EventLevel.WARNING)


def record_event(order: AmazonOrder, events: list, kind: str, message: Message | str, *,
                 level: str = EventLevel.INFO, direction: str = EventDirection.INBOUND, note: bool = True) -> None:
    """Add an event of ``order`` to ``events`` (saved by the caller); ``note``: it is also the order's last note.
    ``message``: a ``Message`` (code + params, shown in the reader's language), or a text shown as is."""
    event = AmazonOrderEvent(kind=kind, level=level, direction=direction, actor=INBOUND_ACTOR,
                             **event_fields(message))
    link(event, "order", order)
    events.append(event)
    if note:
        for name, value in note_fields(message).items():
            setattr(order, name, value)


def mirror_new(store: AmazonStore, data: AmazonOrderData) -> tuple[AmazonOrder, list[AmazonOrderItem],
                                                                   list[AmazonOrderEvent]]:
    """A new, unsaved mirror of ``data``: the order (with Amazon's raw copy), its items and its first events."""
    order = AmazonOrder(store=store, amazon_order_id=data.amazon_order_id, amazon_status=data.status,
                        status=data.status, raw=data.raw)
    copy_order_fields(order, data)
    items = [new_item(order, item) for item in data.items]
    events: list[AmazonOrderEvent] = []
    record_event(order, events, "mirrored", msg("mirrored", status=data.status), note=False)
    if data.buyer_requested_cancel:
        flag_buyer_cancel(order, events, data)
    return order, items, events
