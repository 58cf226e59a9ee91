"""``/api/v1/amazon/orders`` and ``/api/v1/amazon/outbox``: the Amazon orders as mirrored from Amazon, and the
messages on their way to Amazon. Read-only.

Permissions are the Amazon screens': ``amazon.view_amazonorder`` (All Amazon orders, Amazon Order Details) and
``amazon.view_outboxmessage``. Personal data follows the back office's rules (``amazon.privacy``): once an order
was redacted, its buyer and shipping address are null, never the placeholders left in the database.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from saleschannel.amazon.models import AmazonOrder, OutboxMessage, OutboxState
from saleschannel.api import selectors
from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.orders import READ_ERRORS, _moment
from saleschannel.api.paging import page_by_change, page_by_pk
from saleschannel.api.schemas import DATETIME_OR_EMPTY, AmazonOrderOut, AmazonOrderPageOut, OutboxPageOut
from saleschannel.sales.ids import parse_id

VIEW_ORDER = "amazon.view_amazonorder"
VIEW_OUTBOX = "amazon.view_outboxmessage"
MAX_LIMIT = 200
AMAZON_ORDER_ID_MAX = 32  # AmazonOrder.amazon_order_id
ID_PATTERN = r"^[1-9][0-9]{0,17}$"  # what parse_id takes (up to 18 digits: always within a bigint)
OPTIONAL_ID_PATTERN = r"^([1-9][0-9]{0,17})?$"

router = Router(tags=["amazon"])


# --- Presenting ----------------------------------------------------------------------------------------------


def _item(item) -> dict:
    return {"order_item_id": item.order_item_id, "asin": item.asin, "seller_sku": item.seller_sku,
            "title": item.title, "condition": item.condition, "qty_ordered": item.qty_ordered,
            "qty_shipped": item.qty_shipped, "item_price": item.item_price, "item_tax": item.item_tax,
            "shipping_price": item.shipping_price, "shipping_tax": item.shipping_tax,
            "promotion_discount": item.promotion_discount, "buyer_requested_cancel": item.buyer_requested_cancel}


def _personal(order: AmazonOrder) -> dict:
    """The buyer and the shipping address, both null once redacted (as the back office stops showing them)."""
    if order.pii_redacted_at is not None:
        return {"buyer": None, "shipping_address": None}
    return {
        "buyer": {"name": order.buyer_name, "email": order.buyer_email, "company": order.buyer_company},
        "shipping_address": {
            "name": order.ship_name, "company": order.ship_company, "line1": order.ship_address_line1,
            "line2": order.ship_address_line2, "line3": order.ship_address_line3, "city": order.ship_city,
            "region": order.ship_region, "postal_code": order.ship_postal_code,
            "country_code": order.ship_country_code, "phone": order.ship_phone,
        },
    }


def amazon_order_summary(order: AmazonOrder) -> dict:
    """An Amazon order as the list shows it (``selectors.amazon_orders``' rows)."""
    commerce = {"id": order.commerce_order_id, "number": order.commerce_order_number} \
        if order.commerce_order_id else None
    return {
        "amazon_order_number": order.amazon_order_id, "store": {"id": order.store.pk, "name": order.store.name},
        "marketplace_id": order.marketplace_id, "status": order.status, "amazon_status": order.amazon_status,
        "fulfillment_channel": order.fulfillment_channel, "currency": order.currency,
        "order_total": order.order_total, "is_prime": order.is_prime, "is_business": order.is_business,
        "is_replacement": order.is_replacement, "purchase_date": order.purchase_date,
        "latest_ship_date": order.latest_ship_date, "latest_delivery_date": order.latest_delivery_date,
        "items_shipped": order.items_shipped, "items_unshipped": order.items_unshipped,
        "buyer_cancel_requested": order.buyer_cancel_requested, "buyer_cancel_reason": order.buyer_cancel_reason,
        **_personal(order),
        "personal_data_redacted_at": order.pii_redacted_at, "commerce_order": commerce,
        "import_error": order.import_error, "items": [_item(item) for item in order.items.all()],
        "created_at": order.created_at, "updated_at": order.updated_at,
    }


def outbox_message_dict(message: OutboxMessage, amazon_order: AmazonOrder) -> dict:
    return {
        "id": message.pk, "amazon_order_number": amazon_order.amazon_order_id, "store_id": amazon_order.store_id,
        "kind": message.kind, "state": message.state, "attempts": message.attempts,
        "next_attempt_at": message.next_attempt_at, "last_error": message.last_error,
        "outcome_unknown": message.outcome_unknown, "feed_id": message.feed_id, "feed_status": message.feed_status,
        "package_reference_id": message.package_reference_id, "shipment_id": message.shipment_id,
        "creditmemo_id": message.creditmemo_id, "created_at": message.created_at, "updated_at": message.updated_at,
        "sent_at": message.sent_at, "completed_at": message.completed_at,
    }


def amazon_order_detail(order: AmazonOrder) -> dict:
    messages = list(order.outbox_messages.all())
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.state] = counts.get(message.state, 0) + 1
    return {
        **amazon_order_summary(order),
        "sales_channel": order.sales_channel, "ship_service_level": order.ship_service_level,
        "shipment_service_level_category": order.shipment_service_level_category,
        "payment_method": order.payment_method, "notes": order.notes, "is_reserved": order.is_reserved,
        "address_corrected_at": order.address_edited_at,
        "outbox": {"counts": counts, "messages": [outbox_message_dict(message, order) for message in messages]},
    }


# --- Parameters ----------------------------------------------------------------------------------------------


def _ids(values: list[str], field: str) -> list[int]:
    ids = [parse_id(value) for value in values]
    if None in ids:
        raise ApiProblem(400, _("%(field)s takes ids.") % {"field": field}, field=field)
    return ids


def _choices(values: list[str], allowed, field: str) -> list[str]:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ApiProblem(400, _('Unknown %(field)s "%(value)s".') % {"field": field, "value": unknown[0][:40]},
                         field=field)
    return values


class AmazonOrderListQuery(Schema):
    store: list[str] = Field(default_factory=list, description="Amazon store ids; repeat for several.",
                             json_schema_extra={"items": {"type": "string", "pattern": ID_PATTERN}})
    status: list[str] = Field(default_factory=list, description="Statuses (" + ", ".join(
        selectors.AMAZON_ORDER_STATUSES) + "); repeat for several.",
        json_schema_extra={"items": {"type": "string", "enum": list(selectors.AMAZON_ORDER_STATUSES)}})
    updated_after: str = Field("", description="Only orders changed at or after this ISO 8601 date and time.",
                               json_schema_extra=DATETIME_OR_EMPTY)
    cursor: str = Field("", max_length=512)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class OutboxListQuery(Schema):
    state: list[str] = Field(default_factory=list, description="States (" + ", ".join(OutboxState.values)
                                                               + "); repeat for several.",
                             json_schema_extra={"items": {"type": "string", "enum": list(OutboxState.values)}})
    store: str = Field("", description="Only the messages of this Amazon store (id).",
                       pattern=OPTIONAL_ID_PATTERN)
    cursor: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


# --- Endpoints -----------------------------------------------------------------------------------------------


@router.get("/amazon/orders", response={200: AmazonOrderPageOut, **READ_ERRORS}, auth=TokenAuth(VIEW_ORDER))
def list_amazon_orders(request, params: Query[AmazonOrderListQuery]):
    """Amazon orders, oldest change first, a page at a time: follow `next_cursor` until it is null.

    A sync client remembers the `updated_at` of the last order it saw and asks again with `updated_after`.
    """
    updated_after = _moment(params.updated_after, "updated_after") if params.updated_after else None
    orders = selectors.amazon_orders(store_ids=_ids(params.store, "store"),
                                     statuses=_choices(params.status, selectors.AMAZON_ORDER_STATUSES, "status"),
                                     updated_after=updated_after)
    page, next_cursor = page_by_change(orders, cursor=params.cursor, limit=params.limit)
    return {"items": [amazon_order_summary(order) for order in page], "next_cursor": next_cursor}


@router.get("/amazon/orders/{amazon_order_id}", response={200: AmazonOrderOut, **READ_ERRORS},
            auth=TokenAuth(VIEW_ORDER))
def get_amazon_order(request, amazon_order_id: str):
    """One Amazon order (by Amazon's number) with its items, its Commerce order's number and its messages to
    Amazon."""
    order = None
    if len(amazon_order_id) <= AMAZON_ORDER_ID_MAX and "\x00" not in amazon_order_id:
        order = selectors.amazon_order(amazon_order_id)
    if order is None:
        raise ApiProblem(404, _("This Amazon order does not exist."))
    return amazon_order_detail(order)


@router.get("/amazon/outbox", response={200: OutboxPageOut, **READ_ERRORS}, auth=TokenAuth(VIEW_OUTBOX))
def list_outbox(request, params: Query[OutboxListQuery]):
    """Messages to Amazon (shipment confirmations, cancellations, refunds), oldest first, a page at a time.

    `state=dead` lists what Amazon never took and needs a person; `state=failed` what is being retried.
    """
    states = _choices(params.state, OutboxState.values, "state")
    store = None
    if params.store:
        (store_id,) = _ids([params.store], "store")
        store = selectors.amazon_store(store_id)
        if store is None:
            return {"items": [], "next_cursor": None}
    messages = selectors.outbox_messages(states=states, store=store)
    page, next_cursor = page_by_pk(messages, cursor=params.cursor, limit=params.limit)
    return {"items": [outbox_message_dict(message, message.amazon_order) for message in page],
            "next_cursor": next_cursor}
