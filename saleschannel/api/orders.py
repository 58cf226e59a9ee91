"""``/api/v1/orders``: the order grid for programs (filters, ``updated_since``, cursor pages), one order, and its
actions.

Thin endpoints: the filters are the order grid's (``sales.grid.OrderGrid`` and ``sales.selectors``), every action
is the service the screens call (``sales.services``; an Amazon order's cancellation is ``amazon.services``', as on
Amazon Order Details), and what is allowed is ``sales.rules``'. A refused action is a ``DomainError`` the error
handlers turn into a problem (``errors.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Prefetch, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.responses import Status
from pydantic import Field

from saleschannel.amazon import feeds
from saleschannel.amazon.selectors import amazon_order_for
from saleschannel.amazon.services import AmazonChannelError, amazon_order_cancel
from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.idempotency import idempotent
from saleschannel.api.schemas import (
    DATETIME_OR_EMPTY,
    NO_NUL,
    CancelIn,
    CommentIn,
    CreditMemoIn,
    CreditMemoOut,
    HistoryOut,
    InvoiceIn,
    InvoiceOut,
    OrderOut,
    OrderPageOut,
    ProblemOut,
    ShipmentIn,
    ShipmentOut,
    text,
)
from saleschannel.api.selectors import ORDER_ADDRESS_KEYS, ORDER_AMAZON_KEYS, order_page_relations
from saleschannel.catalog.models import Store
from saleschannel.sales import grid, rules, selectors, services
from saleschannel.sales.channels import channel_for
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import (
    CreditMemo,
    CreditMemoItem,
    Invoice,
    InvoiceItem,
    Order,
    OrderItem,
    OrderState,
    Shipment,
    ShipmentItem,
)

VIEW = "sales.view_order"
PROCESS = "sales.process_order"
MAX_LIMIT = 200
CURSOR_ORDERING = ("updated_at", "id")

router = Router(tags=["orders"])

IDEMPOTENCY_HEADER = {"parameters": [{
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": "Any unique string (a UUID): a retry with the same key and body replays the first response "
                   "for 24 hours instead of acting twice.",
}]}
READ_ERRORS = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 429: ProblemOut}
WRITE_ERRORS = {**READ_ERRORS, 409: ProblemOut, 422: ProblemOut}


# --- Presenting ----------------------------------------------------------------------------------------------


def _item(item: OrderItem) -> dict:
    return {
        "id": item.pk, "sku": item.sku, "name": item.name, "product_id": item.product_id,
        "external_item_id": item.external_item_id, "qty_ordered": item.qty_ordered,
        "qty_invoiced": item.qty_invoiced, "qty_shipped": item.qty_shipped, "qty_refunded": item.qty_refunded,
        "qty_canceled": item.qty_canceled, "qty_to_invoice": item.qty_to_invoice, "qty_to_ship": item.qty_to_ship,
        "qty_to_refund": item.qty_to_refund, "original_price": item.original_price, "price": item.price,
        "row_total": item.row_total, "tax_amount": item.tax_amount, "tax_percent": item.tax_percent,
        "discount_amount": item.discount_amount,
    }


TOTAL_KEYS = ("subtotal", "shipping_amount", "shipping_tax_amount", "discount_amount", "tax_amount", "grand_total",
              "total_invoiced", "total_paid", "total_refunded", "total_canceled", "total_due", "shipping_invoiced",
              "shipping_refunded")


def _address(address) -> dict:
    return {key: getattr(address, key) for key in ORDER_ADDRESS_KEYS}


def _amazon(amazon: dict) -> dict:
    """An Amazon order's columns (``ORDER_AMAZON_KEYS``) as the API names them."""
    return {"amazon_order_number" if key == "amazon_order_id" else key: value for key, value in amazon.items()}


def order_summary(order: Order, *, items, addresses: dict[str, dict], amazon: dict | None) -> dict:
    """An order as the list shows it: ``items`` are its ``OrderItem`` rows, ``addresses`` its addresses as dicts
    by type, ``amazon`` its Amazon order's ``ORDER_AMAZON_KEYS`` (``api.selectors.order_page_relations``)."""
    return {
        "id": order.pk, "number": order.number,
        "store": {"id": order.store.pk, "code": order.store.code, "name": order.store.name},
        "state": order.state, "status": order.status, "origin": order.origin,
        "external_order_number": order.external_order_number, "currency": order.currency,
        "customer": {"id": order.customer_id, "email": order.customer_email, "first_name": order.customer_first_name,
                     "last_name": order.customer_last_name, "is_guest": order.customer_is_guest},
        "shipping_method": {"code": order.shipping_method_code, "title": order.shipping_method_title},
        "totals": {key: getattr(order, key) for key in TOTAL_KEYS},
        "items": [_item(item) for item in items],
        "billing_address": addresses.get("billing"),
        "shipping_address": addresses.get("shipping"),
        "amazon": _amazon(amazon) if amazon is not None else None,
        "created_at": order.created_at, "updated_at": order.updated_at,
    }


def order_summaries(orders: list[Order]) -> list[dict]:
    """A page of orders presented (their relations in three queries)."""
    related = order_page_relations(orders)
    return [order_summary(order, items=related.items[order.pk], addresses=related.addresses[order.pk],
                          amazon=related.amazon.get(order.pk)) for order in orders]


def _history(line) -> dict:
    return {"id": line.pk, "kind": line.kind, "comment": line.comment, "status": line.status,
            "author": line.author_label, "is_customer_notified": line.is_customer_notified,
            "is_visible_on_front": line.is_visible_on_front, "created_at": line.created_at}


def _tracks(shipment) -> list[dict]:
    return [{"carrier_code": t.carrier_code, "title": t.title, "number": t.number} for t in shipment.tracks.all()]


def order_detail(order: Order) -> dict:
    payment = getattr(order, "payment", None)
    addresses = {kind: _address(address) for kind, address in selectors.addresses_by_type(order).items()}
    amazon = amazon_order_for(order)
    return {
        **order_summary(order, items=order.items.all(), addresses=addresses,
                        amazon={key: getattr(amazon, key) for key in ORDER_AMAZON_KEYS} if amazon else None),
        "payment": {"method_code": payment.method_code, "method_title": payment.method_title,
                    "additional_information": payment.additional_information or {}} if payment else None,
        "history": [_history(line) for line in order.history.all()],
        "invoices": [{"id": d.pk, "number": d.number, "created_at": d.created_at} for d in order.invoices.all()],
        "shipments": [{"id": d.pk, "number": d.number, "created_at": d.created_at, "total_qty": d.total_qty,
                       "tracks": _tracks(d)} for d in order.shipments.all()],
        "creditmemos": [{"id": d.pk, "number": d.number, "created_at": d.created_at}
                        for d in order.creditmemos.all()],
        "actions": _actions(order),
    }


def _actions(order) -> dict:
    """What may be done now, and why not: the order view's buttons. A channel that cancels its orders its own way
    (Amazon, with a reason) answers for Cancel, as the view's Cancel dialog does; the API's cancel follows it."""
    actions = {str(action): {"allowed": verdict.allowed, "reason": verdict.message}
               for action, verdict in rules.available_actions(order).items()}
    dialog = channel_for(order).cancel_dialog(order)
    if dialog is not None:
        actions[str(rules.Action.CANCEL)] = {"allowed": dialog.allowed, "reason": str(dialog.reason)}
    return actions


def _lines(document) -> list[dict]:
    return [{"order_item_id": line.order_item_id, "sku": line.order_item.sku, "qty": line.qty}
            for line in document.items.all()]


DOCUMENT_ITEMS = {Invoice: InvoiceItem, Shipment: ShipmentItem, CreditMemo: CreditMemoItem}


def with_lines(documents, model):
    """``documents`` (a queryset of ``model``) with their lines (and a shipment's tracks), in fixed queries."""
    lines = DOCUMENT_ITEMS[model].objects.select_related("order_item").order_by("id")
    documents = documents.select_related("order").prefetch_related(Prefetch("items", queryset=lines))
    return documents.prefetch_related("tracks") if model is Shipment else documents


def invoice_dict(invoice: Invoice) -> dict:
    return {"id": invoice.pk, "number": invoice.number, "order_id": invoice.order_id,
            "order_number": invoice.order.number, "subtotal": invoice.subtotal,
            "shipping_amount": invoice.shipping_amount, "discount_amount": invoice.discount_amount,
            "tax_amount": invoice.tax_amount, "grand_total": invoice.grand_total, "created_at": invoice.created_at,
            "created_by": invoice.created_by, "items": _lines(invoice)}


def shipment_dict(shipment: Shipment) -> dict:
    return {"id": shipment.pk, "number": shipment.number, "order_id": shipment.order_id,
            "order_number": shipment.order.number, "total_qty": shipment.total_qty,
            "created_at": shipment.created_at, "created_by": shipment.created_by, "items": _lines(shipment),
            "tracks": _tracks(shipment)}


CREDITMEMO_KEYS = ("subtotal", "shipping_amount", "shipping_tax_amount", "discount_amount", "tax_amount",
                   "adjustment_refund", "adjustment_fee", "grand_total", "reason", "created_at", "created_by")


def creditmemo_dict(memo: CreditMemo) -> dict:
    return {"id": memo.pk, "number": memo.number, "order_id": memo.order_id, "order_number": memo.order.number,
            **{key: getattr(memo, key) for key in CREDITMEMO_KEYS}, "items": _lines(memo)}


def invoice_out(invoice: Invoice) -> dict:
    return invoice_dict(with_lines(Invoice.objects, Invoice).get(pk=invoice.pk))


def shipment_out(shipment: Shipment) -> dict:
    return shipment_dict(with_lines(Shipment.objects, Shipment).get(pk=shipment.pk))


def creditmemo_out(memo: CreditMemo) -> dict:
    return creditmemo_dict(with_lines(CreditMemo.objects, CreditMemo).get(pk=memo.pk))


# --- Reading -------------------------------------------------------------------------------------------------


def _order_id(raw: str) -> int:
    order_id = parse_id(raw)
    if order_id is None:
        raise ApiProblem(404, _("This order does not exist."))
    return order_id


def _order(raw: str) -> Order:
    """The order named in the URL (for an action), or 404."""
    order = Order.objects.filter(pk=_order_id(raw)).first()
    if order is None:
        raise ApiProblem(404, _("This order does not exist."))
    return order


def _order_view(order_id: int) -> dict:
    try:
        order = selectors.order_for_view(order_id)
    except Order.DoesNotExist:
        raise ApiProblem(404, _("This order does not exist.")) from None
    return order_detail(order)


def encode_cursor(order: Order) -> str:
    raw = json.dumps([order.updated_at.isoformat(), order.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        moment = parse_datetime(stamp) if isinstance(stamp, str) else None
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        moment, pk = None, None
    if moment is None or timezone.is_naive(moment) or type(pk) is not int or parse_id(str(pk)) is None:
        raise ApiProblem(400, _("This cursor is not valid: give the next_cursor of a previous page."),
                         field="cursor")
    return moment, pk


def _moment(value: str, field: str) -> datetime:
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise ApiProblem(400, _("Give an ISO 8601 date and time, e.g. 2026-01-31T08:00:00Z."), field=field)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


class OrderListQuery(Schema):
    q: str = Field("", max_length=200, json_schema_extra=NO_NUL, description="The grid's keyword: order, external "
                   "or Amazon number, customer email, SKU, or words of names.")
    store: list[str] = Field(default_factory=list, description="Store ids.")
    status: list[str] = Field(default_factory=list, description="Status codes.")
    state: list[str] = Field(default_factory=list, description="States: " + ", ".join(OrderState.values) + ".",
                             json_schema_extra={"items": {"type": "string", "enum": list(OrderState.values)}})
    origin: str = Field("", description='The channel: "amazon", "other" (anything but Amazon) or "".',
                        json_schema_extra={"enum": ["", "amazon", "other"]})
    amazon_order_number: text(64) = ""
    created_from: str = Field("", description="Purchase date from (YYYY-MM-DD, server time zone).")
    created_to: str = Field("", description="Purchase date to, inclusive (YYYY-MM-DD).")
    total_min: str = ""
    total_max: str = ""
    bill_to: str = Field("", max_length=128, json_schema_extra=NO_NUL)
    ship_to: str = Field("", max_length=128, json_schema_extra=NO_NUL)
    updated_since: str = Field("", description="Only orders changed at or after this ISO 8601 date and time.",
                               json_schema_extra=DATETIME_OR_EMPTY)
    cursor: str = Field("", max_length=512)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


GRID_KEYS = ("q", "created_from", "created_to", "total_min", "total_max", "bill_to", "ship_to", "origin")


def _grid(params: OrderListQuery, request) -> grid.OrderGrid:
    """The back office's order grid, filtered by the same parameters (validated by its filter form)."""
    query = QueryDict(mutable=True)
    for key in GRID_KEYS:
        if getattr(params, key):
            query[key] = getattr(params, key)
    query.setlist("status", params.status)
    query.setlist("store", params.store)
    for key in grid.extra_filters():  # filters other channels add to the grid
        if key in request.GET:
            query.setlist(key, request.GET.getlist(key))
    statuses = list(selectors.order_status_labels().items())
    stores = [(str(pk), name) for pk, name in Store.objects.values_list("pk", "name")]
    order_grid = grid.OrderGrid(query, statuses=statuses, stores=stores)
    if order_grid.form.errors:
        field, messages = next(iter(order_grid.form.errors.items()))
        raise ApiProblem(400, f"{field}: {messages[0]}", field=field,
                         errors=[{"field": name, "message": str(errors[0]), "type": "invalid"}
                                 for name, errors in order_grid.form.errors.items()])
    return order_grid


@router.get("/orders", response={200: OrderPageOut, **READ_ERRORS}, auth=TokenAuth(VIEW))
def list_orders(request, params: Query[OrderListQuery]):
    """Orders, oldest change first, a page at a time: follow `next_cursor` until it is null.

    A sync client remembers the `updated_at` of the last order it saw and asks again with `updated_since`.
    """
    unknown = [state for state in params.state if state not in OrderState.values]
    if unknown:
        raise ApiProblem(400, _('Unknown order state "%(state)s".') % {"state": unknown[0][:40]}, field="state")
    order_grid = _grid(params, request)
    orders = selectors.order_grid_queryset(order_grid.filters, ordering=CURSOR_ORDERING)
    for key, extra in grid.extra_filters().items():
        value = order_grid.data.get(key)
        if value not in (None, "", [], False):
            orders = extra.apply(orders, value)
    if params.state:
        orders = orders.filter(state__in=params.state)
    if params.amazon_order_number:
        orders = orders.filter(origin=selectors.AMAZON_ORIGIN, external_order_number=params.amazon_order_number)
    if params.updated_since:
        orders = orders.filter(updated_at__gte=_moment(params.updated_since, "updated_since"))
    if params.cursor:
        moment, pk = decode_cursor(params.cursor)
        # (updated_at, id) > (moment, pk), written so that the database seeks the (updated_at, id) index to the
        # cursor: with the OR alone, SQLite and PostgreSQL read the index from its start (halfway through a million
        # orders: 0.26 s on SQLite, 2.8 s on PostgreSQL; bench/api_list.py).
        orders = orders.filter(updated_at__gte=moment).filter(Q(updated_at__gt=moment) | Q(pk__gt=pk))
    page = list(orders[:params.limit + 1])
    more = len(page) > params.limit
    page = page[:params.limit]
    return {"items": order_summaries(page),
            "next_cursor": encode_cursor(page[-1]) if more else None}


@router.get("/orders/{order_id}", response={200: OrderOut, **READ_ERRORS}, auth=TokenAuth(VIEW))
def get_order(request, order_id: str):
    """One order with its items, addresses, totals, payment, Amazon data, documents, history and the actions
    allowed now."""
    return _order_view(_order_id(order_id))


# --- Actions -------------------------------------------------------------------------------------------------

# An action's body is optional: left out, every field takes its default. It is a JSON object when given, never
# null (the parser refuses anything else), so the default is an instance, not None: the schema says "an object".
NO_INVOICE_BODY, NO_SHIPMENT_BODY, NO_CREDITMEMO_BODY = InvoiceIn(), ShipmentIn(), CreditMemoIn()
NO_CANCEL_BODY, NO_COMMENT_BODY = CancelIn(), CommentIn()


@router.post("/orders/{order_id}/invoices", response={201: InvoiceOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def create_invoice(request, order_id: str, payload: InvoiceIn = NO_INVOICE_BODY):
    """Invoice (capture offline) the given quantities, or everything left to invoice."""
    order = _order(order_id)
    invoice = services.invoice_create(order=order, quantities=payload.quantities, comment=payload.comment,
                                      notify_customer=payload.notify_customer, actor=request.user)
    return Status(201, invoice_out(invoice))


@router.post("/orders/{order_id}/shipments", response={201: ShipmentOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def create_shipment(request, order_id: str, payload: ShipmentIn = NO_SHIPMENT_BODY):
    """Ship the given quantities (or everything left to ship) with tracking numbers. On an Amazon order the
    shipment is confirmed to Amazon by the outbox, as from the screens."""
    order = _order(order_id)
    shipment = services.shipment_create(
        order=order, quantities=payload.quantities, tracks=[track.dict() for track in payload.tracks],
        comment=payload.comment, notify_customer=payload.notify_customer, actor=request.user)
    return Status(201, shipment_out(shipment))


@router.post("/orders/{order_id}/creditmemos", response={201: CreditMemoOut, **WRITE_ERRORS},
             auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def create_creditmemo(request, order_id: str, payload: CreditMemoIn = NO_CREDITMEMO_BODY):
    """Refund (offline) quantities, shipping and adjustments."""
    order = _order(order_id)
    memo = services.creditmemo_create(
        order=order, quantities=payload.quantities, return_to_stock=payload.return_to_stock,
        shipping_refund=payload.shipping_refund, adjustment_refund=payload.adjustment_refund,
        adjustment_fee=payload.adjustment_fee, comment=payload.comment, notify_customer=payload.notify_customer,
        actor=request.user)
    return Status(201, creditmemo_out(memo))


@router.post("/orders/{order_id}/cancel", response={200: OrderOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def cancel_order(request, order_id: str, payload: CancelIn = NO_CANCEL_BODY):
    """Cancel what is neither invoiced nor shipped. An Amazon order needs one of Amazon's reasons and is canceled
    the Amazon way (as from Amazon Order Details): Amazon is told, what was invoiced is refunded."""
    order = _order(order_id)
    amazon = amazon_order_for(order)
    if amazon is not None:
        try:
            amazon_order_cancel(amazon_order=amazon, reason=payload.reason, actor=request.user)
        except AmazonChannelError as error:
            status = 409 if payload.reason in feeds.CANCEL_REASONS else 422
            raise ApiProblem(status, error.message, code="not_allowed" if status == 409 else "invalid",
                             field=error.field or "reason") from None
    else:
        services.order_cancel(order=order, reason=payload.reason, comment=payload.comment, actor=request.user)
    return _order_view(order.pk)


@router.post("/orders/{order_id}/hold", response={200: OrderOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def hold_order(request, order_id: str):
    """Put the order on hold."""
    order = _order(order_id)
    services.order_hold(order=order, actor=request.user)
    return _order_view(order.pk)


@router.post("/orders/{order_id}/unhold", response={200: OrderOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def unhold_order(request, order_id: str):
    """Release the hold: the order gets back its state and status."""
    order = _order(order_id)
    services.order_unhold(order=order, actor=request.user)
    return _order_view(order.pk)


@router.post("/orders/{order_id}/comments", response={201: HistoryOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def add_comment(request, order_id: str, payload: CommentIn = NO_COMMENT_BODY):
    """Add a comment to the order's history, optionally changing its status and emailing the customer."""
    order = _order(order_id)
    line = services.order_comment_add(order=order, comment=payload.comment, status=payload.status or None,
                                      notify_customer=payload.notify_customer,
                                      visible_on_front=payload.visible_on_front, actor=request.user)
    return Status(201, _history(line))


@router.post("/orders/{order_id}/email", response={200: OrderOut, **WRITE_ERRORS}, auth=TokenAuth(PROCESS),
             openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def send_order_email(request, order_id: str):
    """Send the order confirmation email to the customer again."""
    order = _order(order_id)
    services.order_email_send(order=order, actor=request.user)
    return _order_view(order.pk)
