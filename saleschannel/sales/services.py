"""Every change to a Commerce order: create, invoice, ship, refund, cancel, hold, comment, email, reorder.

Each service is one transaction that (1) locks the order row, (2) asks ``sales.rules`` whether the action is allowed
and validates its input — raising ``OrderActionError`` before anything is written — (3) changes the order, its
items, stock and documents, (4) moves the order to the state its quantities call for (DESIGN.md §3.2) and (5)
records what happened, and who did it, in the order history. Customer emails and channel messages are queued in the
same transaction (emails run on commit), so a rolled-back change announces nothing.

Money: ``Decimal`` in the order's currency, rounded half-up to its minor unit. Partial documents take their share
of an item's row total, tax and discount *cumulatively* — the amount for the first ``n`` units is
``round(total × n / ordered)`` and a document gets the difference between "after" and "before" — so invoicing or
refunding every unit returns exactly the item's totals, whatever the split, with no rounding drift.

``actor`` is the staff ``User`` who acted, or a label such as ``"Amazon sync"`` for automatic changes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from saleschannel.catalog.models import Product, Store
from saleschannel.catalog.services import (
    StockError,
    product_unsalable_reason,
    stock_consume_many,
    stock_release_many,
    stock_reserve_new,
    stock_return_many,
)
from saleschannel.core.bulk import insert_new, link
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import format_money, in_range, is_exact, max_amount, quantum
from saleschannel.sales import rules
from saleschannel.sales.channels import channel_for
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import (
    AddressType,
    Carrier,
    CreditMemo,
    CreditMemoItem,
    HistoryKind,
    Invoice,
    InvoiceItem,
    Order,
    OrderAddress,
    OrderHistory,
    OrderItem,
    OrderPayment,
    OrderState,
    OrderStatus,
    Shipment,
    ShipmentItem,
    ShipmentTrack,
)
from saleschannel.sales.numbering import next_number, next_numbers, refuse_taken_numbers
from saleschannel.sales.rules import Action

ZERO = Decimal("0")
MAX_QUANTITY = 2**31 - 1  # quantities are 32-bit integer columns

ADDRESS_FIELDS = frozenset(
    f.name for f in OrderAddress._meta.concrete_fields if f.name not in ("id", "order", "address_type")
)
ADDRESS_LIMITS = {f.name: f.max_length for f in OrderAddress._meta.concrete_fields}
ITEM_KEYS = frozenset({"sku", "qty", "price", "original_price", "tax_amount", "tax_percent", "discount_amount",
                       "name", "external_item_id", "row_total"})
# States an order is in before anything happened to it; the automatic transitions start from these.
OPEN_STATES = frozenset(s.value for s in (OrderState.NEW, OrderState.PENDING_PAYMENT, OrderState.PROCESSING,
                                          OrderState.COMPLETE, OrderState.CLOSED))
# States an order may be created in (with a status of that state).
CREATION_STATES = frozenset(s.value for s in (OrderState.NEW, OrderState.PENDING_PAYMENT, OrderState.PROCESSING))


# --- Small helpers -------------------------------------------------------------------------------------------


QUANTITY_BATCH = 5_000  # ids per UPDATE ... IN (...): well under SQLite's limit of bound variables

def stock_reference(order: Order) -> str:
    """The name under which an order holds its stock reservations."""
    return f"sales.order:{order.pk}"


def _author(actor) -> tuple[Any, str]:
    """(user or None, label) for history lines and documents' ``created_by``."""
    if actor is None:
        return None, "system"
    if hasattr(actor, "get_username"):
        return actor, actor.get_username()
    return None, str(actor)[:150]


def _history(order: Order, actor, comment: str, *, kind: str = HistoryKind.EVENT, notified: bool | None = None,
             visible: bool = False) -> OrderHistory:
    user, label = _author(actor)
    line = OrderHistory(kind=kind, comment=comment, status=order.status, author_id=user.pk if user else None,
                        author_label=label, is_customer_notified=notified, is_visible_on_front=visible)
    link(line, "order", order)
    return line


def _record(order: Order, actor, comment: str, **kwargs) -> OrderHistory:
    line = _history(order, actor, comment, **kwargs)
    line.save(force_insert=True)
    return line


def _email_later(kind: str, object_id: int, comment: str = "") -> None:
    """Queue a customer email once the transaction commits (never for a change that rolled back)."""
    from saleschannel.sales.tasks import sales_email_send

    transaction.on_commit(lambda: sales_email_send(kind, object_id, comment))


def _require(order: Order, action: Action, *, items: list[OrderItem] | None = None, zero_refund: bool = False) -> None:
    verdict = rules.check(order, action, items=items, zero_refund=zero_refund)
    if not verdict:
        raise OrderActionError(str(verdict.reason), code="not_allowed")


# Status lookups remembered inside ``statuses_cached()`` (None outside it: every lookup asks the database).
_status_memo: ContextVar[dict | None] = ContextVar("sales_status_memo", default=None)


@contextmanager
def statuses_cached() -> Iterator[None]:
    """Remember order-status lookups (default status of a state, state and label of a status) inside the block.

    For batch callers such as the Amazon import, which create many orders in a few seconds and would otherwise ask
    the same questions for every order; statuses are configuration that staff rarely change.
    """
    token = _status_memo.set({})
    try:
        yield
    finally:
        _status_memo.reset(token)


def _remembered(key: tuple, compute: Callable[[], Any]) -> Any:
    memo = _status_memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _default_status(state: str) -> str:
    code = _remembered(("default", state), lambda: OrderStatus.objects.filter(
        state=state, is_default=True).values_list("code", flat=True).first())
    return code or state


def _state_of_status(code: str) -> str | None:
    return _remembered(("state", code), lambda: OrderStatus.objects.filter(
        code=code).values_list("state", flat=True).first())


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


def _text(label: str | Callable[[], str]) -> str:
    return label() if callable(label) else label


def _money(value, currency: str, *, field: str, label: str | Callable[[], str],
           allow_negative: bool = False) -> Decimal:
    """``value`` as an exact amount of ``currency``; OrderActionError(field) for anything else.

    ``label`` names the amount in messages; a function giving it saves translating it for every valid value.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ZERO
    if (type(value) is Decimal and value.is_finite() and (allow_negative or value >= 0) and in_range(value)
            and is_exact(value, currency)):
        return value.quantize(quantum(currency))  # the usual case, first
    if isinstance(value, bool):
        raise OrderActionError(_("%(label)s is not a number.") % {"label": _text(label)}, code="invalid",
                               field=field)
    if isinstance(value, float):
        raise OrderActionError(
            _("%(label)s must be given as an exact amount, not as a floating-point number.") % {"label": _text(label)},
            code="invalid", field=field,
        )
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise OrderActionError(_("%(label)s is not a number.") % {"label": _text(label)}, code="invalid",
                               field=field)
    if amount < 0 and not allow_negative:
        raise OrderActionError(_("%(label)s cannot be negative.") % {"label": _text(label)}, code="invalid",
                               field=field)
    if not in_range(amount):
        raise OrderActionError(
            _("%(label)s is too large: at most %(max)s.") % {"label": _text(label),
                                                             "max": format_money(max_amount(currency), currency)},
            code="invalid", field=field,
        )
    if not is_exact(amount, currency):
        raise OrderActionError(
            _("%(label)s has more decimals than %(currency)s allows.") % {"label": _text(label), "currency": currency},
            code="invalid", field=field,
        )
    return amount.quantize(quantum(currency))


def _whole_number(value, *, field: str, label: str) -> int:
    """A non-negative whole quantity; OrderActionError(field) for text, fractions and negatives."""
    if isinstance(value, bool):
        value = None
    number: Decimal | None
    try:
        number = Decimal(str(value).strip()) if value is not None else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise OrderActionError(
            _("The quantity of %(label)s must be a whole number.") % {"label": label}, code="invalid", field=field
        )
    if number < 0:
        raise OrderActionError(
            _("The quantity of %(label)s cannot be negative.") % {"label": label}, code="invalid", field=field
        )
    if number > MAX_QUANTITY:
        raise OrderActionError(
            _("The quantity of %(label)s is too large.") % {"label": label}, code="invalid", field=field
        )
    return int(number)


def _quantities(quantities, items: list[OrderItem], limit: str, too_many: str) -> dict[int, int]:
    """{order item id: qty > 0} from the user's ``quantities`` (None = every item's ``limit`` quantity)."""
    if quantities is None:
        return {item.pk: getattr(item, limit) for item in items if getattr(item, limit) > 0}
    if not isinstance(quantities, Mapping):
        raise OrderActionError(_("Quantities must be given per order item."), code="invalid", field="quantities")
    by_id = {item.pk: item for item in items}
    wanted: dict[int, int] = {}
    for raw_id, raw_qty in quantities.items():
        item = by_id.get(parse_id(str(raw_id).strip()))  # ASCII digits only: int() also reads "٣" as 3
        if item is None:
            raise OrderActionError(
                _("Item %(id)s is not an item of this order.") % {"id": raw_id}, code="invalid", field="quantities"
            )
        field = f"quantities.{item.pk}"
        # A form's empty box means "none of this item".
        qty = 0 if raw_qty is None or raw_qty == "" else _whole_number(raw_qty, field=field, label=f'"{item.sku}"')
        available = getattr(item, limit)
        total = wanted.get(item.pk, 0) + qty  # the same item may be named twice ("3" and 3)
        if total > available:
            raise OrderActionError(
                too_many % {"max": available, "sku": item.sku, "qty": total}, code="invalid", field=field
            )
        if total:
            wanted[item.pk] = total
    return wanted


def _cumulative(total: Decimal, whole, done, q: Decimal) -> Decimal:
    """The share of ``total`` that ``done`` out of ``whole`` units carry, rounded half-up (exact at the ends)."""
    if done == whole:
        return total
    if not whole or not done:
        return ZERO
    return (total * Decimal(done) / Decimal(whole)).quantize(q, rounding=ROUND_HALF_UP)


def _share(total: Decimal, whole, before, after, q: Decimal) -> Decimal:
    """The part of ``total`` going from ``before`` to ``after`` units out of ``whole`` (see module docstring)."""
    return _cumulative(total, whole, after, q) - _cumulative(total, whole, before, q)


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
    label = _remembered(("label", order.status), lambda: OrderStatus.objects.filter(
        code=order.status).values_list("label", flat=True).first()) or order.status
    return " " + _("The order status is now %(status)s.") % {"status": _(label)}


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


# --- Order creation ------------------------------------------------------------------------------------------


def _address(data, kind: str, *, default_first: str, default_last: str) -> OrderAddress:
    if not isinstance(data, Mapping):
        raise OrderActionError(_("The address must be given as fields."), code="invalid", field=kind)
    unknown = set(data) - ADDRESS_FIELDS
    if unknown:
        raise OrderActionError(
            _("Unknown address field %(field)s.") % {"field": sorted(unknown)[0]}, code="invalid", field=kind
        )
    values = {key: ("" if value is None else str(value).strip()) for key, value in data.items()}
    values.setdefault("first_name", default_first)
    values.setdefault("last_name", default_last)
    if values.get("country_code"):
        values["country_code"] = values["country_code"].upper()
    for key, value in values.items():
        limit = ADDRESS_LIMITS[key]
        if limit and len(value) > limit:
            raise OrderActionError(
                _("The address field %(field)s is too long.") % {"field": key}, code="invalid", field=f"{kind}.{key}"
            )
    return OrderAddress(address_type=kind, **values)


def _order_lines(items, currency: str, products: dict[str, Product], *, allow_missing: bool) -> list[OrderItem]:
    if not isinstance(items, list | tuple) or not items:
        raise OrderActionError(_("An order needs at least one item."), code="invalid", field="items")
    lines = []
    for index, data in enumerate(items):
        field = f"items.{index}"
        if not isinstance(data, Mapping) or set(data) - ITEM_KEYS:
            raise OrderActionError(
                _("Item %(n)d has unknown fields.") % {"n": index + 1}, code="invalid", field=field
            )
        sku = str(data.get("sku") or "").strip()
        if not sku:
            raise OrderActionError(_("Item %(n)d has no SKU.") % {"n": index + 1}, code="invalid", field=f"{field}.sku")
        label = f'"{sku}"'
        qty = _whole_number(data.get("qty"), field=f"{field}.qty", label=label)
        if qty <= 0:
            raise OrderActionError(
                _("The quantity of %(label)s must be at least 1.") % {"label": label}, code="invalid",
                field=f"{field}.qty",
            )
        if data.get("price") in (None, ""):
            raise OrderActionError(
                _("The price of %(label)s is missing.") % {"label": label}, code="invalid", field=f"{field}.price"
            )
        price = _money(data["price"], currency, field=f"{field}.price",
                       label=lambda label=label: _("The price of %s") % label)
        row_total = (
            _money(data["row_total"], currency, field=f"{field}.row_total",
                   label=lambda label=label: _("The row total of %s") % label)
            if data.get("row_total") not in (None, "") else price * qty
        )
        tax = _money(data.get("tax_amount"), currency, field=f"{field}.tax_amount",
                     label=lambda label=label: _("The tax of %s") % label)
        discount = _money(
            data.get("discount_amount"), currency, field=f"{field}.discount_amount",
            label=lambda label=label: _("The discount of %s") % label,
        )
        if discount > row_total + tax:
            raise OrderActionError(
                _("The discount of %(label)s is more than its price.") % {"label": label}, code="invalid",
                field=f"{field}.discount_amount",
            )
        try:
            tax_percent = Decimal(str(data.get("tax_percent") or "0"))
        except InvalidOperation:
            tax_percent = Decimal("-1")
        if not tax_percent.is_finite() or not ZERO <= tax_percent <= 100:
            raise OrderActionError(
                _("The tax percent of %(label)s must be between 0 and 100.") % {"label": label}, code="invalid",
                field=f"{field}.tax_percent",
            )
        original = data.get("original_price")
        product = products.get(sku)
        if product is None and not allow_missing:
            raise OrderActionError(
                product_unsalable_reason(None, sku=sku), code="not_salable", field=f"{field}.sku"
            )
        lines.append(OrderItem(
            product=product,
            sku=sku,
            name=str(data.get("name") or (product.name if product else sku))[:255],
            external_item_id=str(data.get("external_item_id") or ""),
            qty_ordered=qty,
            price=price,
            original_price=(
                _money(original, currency, field=f"{field}.original_price",
                       label=lambda label=label: _("The original price of %s") % label)
                if original not in (None, "") else price
            ),
            row_total=row_total,
            tax_amount=tax,
            tax_percent=tax_percent.quantize(Decimal("0.0001")),
            discount_amount=discount,
        ))
    return lines


def _stock_by_product(lines: Iterable[tuple[OrderItem, int]]) -> dict[Product, int]:
    """{product: qty} summed over lines of products whose stock is managed."""
    totals: dict[int, list] = {}
    for item, qty in lines:
        product = item.product
        if product is not None and product.manage_stock and qty > 0:
            totals.setdefault(product.pk, [product, 0])[1] += qty
    return {product: qty for product, qty in totals.values()}


def order_create(
    *,
    store: Store,
    items: list[dict],
    customer_email: str,
    customer_first_name: str,
    customer_last_name: str,
    billing_address: dict,
    shipping_address: dict | None = None,
    payment_method_code: str = "checkmo",
    payment_method_title: str = "Check / Money order",
    payment_additional_information: dict | None = None,
    shipping_method_code: str = "",
    shipping_method_title: str = "",
    shipping_amount=0,
    shipping_tax_amount=0,
    discount_amount=0,
    customer=None,
    origin: str = "backoffice",
    external_order_number: str = "",
    number: str | None = None,
    created_at: datetime | None = None,
    status: str | None = None,
    reserve_stock: bool = True,
    check_stock: bool = True,
    send_email: bool = True,
    expected_grand_total=None,
    invoice: bool = False,
    products: Mapping[str, Product] | None = None,
    actor,
) -> Order:
    """Place an order in ``store``'s currency.

    ``items``: ``{sku, qty, price, original_price?, tax_amount?, tax_percent?, discount_amount?, name?,
    external_item_id?, row_total?}`` — ``price`` is the unit price, tax and discount are row amounts, ``row_total``
    defaults to price × qty (give it when a channel's row price is not a whole number of units). The order's
    discount is the items' discounts plus ``discount_amount`` (an order-level discount, e.g. on shipping); its tax
    is the items' tax plus ``shipping_tax_amount``; grand total = subtotal + shipping − discount + tax.

    ``check_stock`` refuses products that are missing, disabled or out of stock; without it, a missing product
    gives an item without product. ``reserve_stock`` holds the units of managed products until they ship; an order
    that reserves nothing (e.g. fulfilled by Amazon) never touches the stock. ``status`` (a status of the new,
    pending payment or processing state) sets the order's state too. ``number`` overrides the store's sequence
    (e.g. the Amazon order id). ``expected_grand_total`` refuses the order when the computed total differs.

    ``invoice`` invoices everything in the same transaction, exactly as ``invoice_create(order=...)`` right after
    would (rules, amounts, number, state, history), without reading back the rows just written: the items are
    inserted already invoiced and the order with its invoiced totals (channels that are paid on creation, such as
    Amazon). The invoice is then ``order.created_invoice``.

    ``products`` ({sku: Product}) are products the caller has just read (a batch importer reads a page's products
    once): they save the query for those SKUs. Stock is still enforced by the reservation's conditional ``UPDATE``.
    """
    return orders_create_many(new_orders=[order_prepare(
        store=store, items=items, customer_email=customer_email, customer_first_name=customer_first_name,
        customer_last_name=customer_last_name, billing_address=billing_address, shipping_address=shipping_address,
        payment_method_code=payment_method_code, payment_method_title=payment_method_title,
        payment_additional_information=payment_additional_information, shipping_method_code=shipping_method_code,
        shipping_method_title=shipping_method_title, shipping_amount=shipping_amount,
        shipping_tax_amount=shipping_tax_amount, discount_amount=discount_amount, customer=customer, origin=origin,
        external_order_number=external_order_number, number=number, created_at=created_at, status=status,
        reserve_stock=reserve_stock, check_stock=check_stock, send_email=send_email,
        expected_grand_total=expected_grand_total, invoice=invoice, products=products, actor=actor,
    )])[0]


@dataclass
class NewOrder:
    """An order checked by ``order_prepare`` and not written yet: its rows, unsaved and linked to each other."""

    order: Order
    lines: list[OrderItem]
    addresses: list[OrderAddress]
    payment: OrderPayment
    history: list[OrderHistory]
    invoice: Invoice | None
    reserve_stock: bool
    send_email: bool
    actor: Any
    explicit_number: bool


def order_prepare(
    *,
    store: Store,
    items: list[dict],
    customer_email: str,
    customer_first_name: str,
    customer_last_name: str,
    billing_address: dict,
    shipping_address: dict | None = None,
    payment_method_code: str = "checkmo",
    payment_method_title: str = "Check / Money order",
    payment_additional_information: dict | None = None,
    shipping_method_code: str = "",
    shipping_method_title: str = "",
    shipping_amount=0,
    shipping_tax_amount=0,
    discount_amount=0,
    customer=None,
    origin: str = "backoffice",
    external_order_number: str = "",
    number: str | None = None,
    created_at: datetime | None = None,
    status: str | None = None,
    reserve_stock: bool = True,
    check_stock: bool = True,
    send_email: bool = True,
    expected_grand_total=None,
    invoice: bool = False,
    products: Mapping[str, Product] | None = None,
    check_number: bool = True,
    actor,
) -> NewOrder:
    """Check everything ``order_create`` checks and build the order's rows without writing anything.

    Same arguments as ``order_create``, plus ``check_number``: False leaves a duplicate ``number`` to the unique
    index when the rows are written (a batch checks its numbers itself). Raises ``OrderActionError``.
    """
    currency = store.currency
    email = (customer_email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise OrderActionError(_("Enter a valid customer email address."), code="invalid", field="customer_email")
    first_name, last_name = (customer_first_name or "").strip(), (customer_last_name or "").strip()
    if not first_name:
        raise OrderActionError(_("Enter the customer's first name."), code="invalid", field="customer_first_name")
    if not last_name:
        raise OrderActionError(_("Enter the customer's last name."), code="invalid", field="customer_last_name")

    skus = set()
    if isinstance(items, list | tuple):
        skus = {str(item.get("sku") or "").strip() for item in items if isinstance(item, Mapping)}
    known = {sku: products[sku] for sku in skus if products and sku in products}
    missing = skus - set(known)
    products = {**known, **({p.sku: p for p in Product.objects.filter(sku__in=missing)} if missing else {})}
    lines = _order_lines(items, currency, products, allow_missing=not check_stock)
    if check_stock:
        wanted: dict[str, int] = defaultdict(int)
        for line in lines:
            wanted[line.sku] += line.qty_ordered
        for index, line in enumerate(lines):
            reason = product_unsalable_reason(line.product, sku=line.sku, qty=wanted[line.sku])
            if reason:
                raise OrderActionError(reason, code="not_salable", field=f"items.{index}.sku")

    shipping = _money(shipping_amount, currency, field="shipping_amount", label=_("The shipping amount"))
    shipping_tax = _money(shipping_tax_amount, currency, field="shipping_tax_amount", label=_("The shipping tax"))
    order_discount = _money(discount_amount, currency, field="discount_amount", label=_("The discount"))
    subtotal = sum((line.row_total for line in lines), ZERO)
    discount = sum((line.discount_amount for line in lines), ZERO) + order_discount
    tax = sum((line.tax_amount for line in lines), ZERO) + shipping_tax
    grand_total = subtotal + shipping - discount + tax
    if grand_total < 0:
        raise OrderActionError(_("The discount is more than the order total."), code="invalid", field="discount_amount")
    if expected_grand_total is not None:
        expected = _money(expected_grand_total, currency, field="expected_grand_total",
                          label=_("The expected grand total"), allow_negative=True)
        if expected != grand_total:
            raise OrderActionError(
                _("The order total %(total)s does not match the expected total %(expected)s.")
                % {"total": format_money(grand_total, currency), "expected": format_money(expected, currency)},
                code="total_mismatch", field="expected_grand_total",
            )

    state = OrderState.NEW
    if status:
        state_of_status = _state_of_status(status)
        if state_of_status is None:
            raise OrderActionError(_('Unknown order status "%(status)s".') % {"status": status}, code="invalid",
                                   field="status")
        if state_of_status not in CREATION_STATES:
            raise OrderActionError(
                _("A new order can only have a status of the New, Pending Payment or Processing state."),
                code="invalid", field="status",
            )
        state = state_of_status
    if number is not None:
        number = str(number).strip()
        if not number or len(number) > Order._meta.get_field("number").max_length:
            raise OrderActionError(_("The order number is empty or too long."), code="invalid", field="number")
        if check_number and Order.objects.filter(number=number).exists():
            raise OrderActionError(
                _("An order numbered %(number)s already exists.") % {"number": number}, code="duplicate",
                field="number",
            )
    billing = _address(billing_address, AddressType.BILLING, default_first=first_name, default_last=last_name)
    shipping_addr = _address(
        shipping_address if shipping_address is not None else billing_address, AddressType.SHIPPING,
        default_first=first_name, default_last=last_name,
    )

    order = Order(
        number=number or "",  # from the store's sequence when written (orders_create_many)
        store=store,
        state=state,
        status=status or _default_status(state),
        origin=origin,
        external_order_number=external_order_number or "",
        currency=currency,
        customer=customer,
        customer_is_guest=customer is None,
        customer_email=email,
        customer_first_name=first_name,
        customer_last_name=last_name,
        shipping_method_code=shipping_method_code or "",
        shipping_method_title=shipping_method_title or "",
        subtotal=subtotal,
        shipping_amount=shipping,
        shipping_tax_amount=shipping_tax,
        discount_amount=discount,
        tax_amount=tax,
        grand_total=grand_total,
        created_at=created_at or timezone.now(),
    )
    if origin != "backoffice" and external_order_number:
        note = _("Order created from %(origin)s order %(number)s.") % {
            "origin": origin.capitalize(), "number": external_order_number,
        }
    else:
        note = _("Order created.")
    history = [_history(order, actor, note)]
    if send_email:
        history.append(_history(order, actor, _("The order confirmation email was sent to the customer."),
                                kind=HistoryKind.EMAIL, notified=True))
    payment = OrderPayment(method_code=payment_method_code, method_title=payment_method_title,
                           additional_information=payment_additional_information or {})
    for row in (*lines, billing, shipping_addr, payment):
        link(row, "order", order)
    return NewOrder(
        order=order, lines=lines, addresses=[billing, shipping_addr], payment=payment, history=history,
        invoice=_invoice_new_order(order, lines, actor) if invoice else None, reserve_stock=reserve_stock,
        send_email=send_email, actor=actor, explicit_number=bool(number),
    )


def orders_create_many(*, new_orders: list[NewOrder]) -> list[Order]:
    """Write orders checked by ``order_prepare``, in one transaction and one statement per table.

    Numbers come from each store's sequence in one step; stock for the whole batch is reserved by one conditional
    ``UPDATE``. All or nothing: a product short of stock for the batch, or an order number that already exists,
    raises ``OrderActionError`` and writes nothing (a batch caller can then place the orders one by one to learn
    which ones fail, from a new ``order_prepare`` each: a batch's rows are spent, written or not). Invoiced orders
    carry their invoice as ``order.created_invoice``.
    """
    if not new_orders:
        return []
    if any(new.order.pk is not None or not new.order._state.adding for new in new_orders):
        raise ValueError("orders_create_many() takes orders fresh from order_prepare(); prepare them again.")
    try:
        return _write_new_orders(new_orders)
    except IntegrityError:
        # A number from a store's sequence that a document already has (a prefix used before): a clear refusal,
        # found after the fact so that the usual case costs no extra query. Everything was rolled back.
        _refuse_taken_numbers(new_orders)
        raise


def _refuse_taken_numbers(new_orders: list[NewOrder]) -> None:
    """Raise ``DocumentNumberTaken`` when a number given to these new orders or their invoices already exists."""
    by_store: dict[int, list[NewOrder]] = defaultdict(list)
    for new in new_orders:
        by_store[new.order.store_id].append(new)
    for batch in by_store.values():
        store = batch[0].order.store
        refuse_taken_numbers(store=store, kind="order",
                             numbers=[new.order.number for new in batch if not new.explicit_number])
        refuse_taken_numbers(store=store, kind="invoice",
                             numbers=[new.invoice.number for new in batch if new.invoice is not None])


def _write_new_orders(new_orders: list[NewOrder]) -> list[Order]:
    with transaction.atomic():
        _number_new_documents(new_orders)
        orders = [new.order for new in new_orders]
        if any(new.explicit_number for new in new_orders):
            # A channel's own number may arrive twice at the same moment (two sync workers): the unique index
            # decides, and the loser gets a clear refusal instead of a broken transaction.
            try:
                with transaction.atomic():
                    insert_new(orders)
            except IntegrityError:
                raise OrderActionError(
                    _("An order numbered %(number)s already exists.") % {"number": orders[0].number}
                    if len(orders) == 1 else _("One of these order numbers already exists."),
                    code="duplicate", field="number",
                )
        else:
            insert_new(orders)
        invoiced = [new for new in new_orders if new.invoice is not None]
        insert_new([line for new in new_orders for line in new.lines])
        insert_new([address for new in new_orders for address in new.addresses])
        insert_new([new.payment for new in new_orders])
        if invoiced:
            insert_new([new.invoice for new in invoiced])
            insert_new([item for new in invoiced for item in new.invoice.new_items])
        holds = [(stock_reference(new.order), _stock_by_product((line, line.qty_ordered) for line in new.lines))
                 for new in new_orders if new.reserve_stock]
        try:
            stock_reserve_new(holds=holds)
        except StockError as error:
            raise OrderActionError(error.message, code="out_of_stock", field="items")
        for new in new_orders:
            if new.send_email:
                _email_later("order", new.order.pk)
            if new.invoice is not None:
                new.history.append(_invoice_history(new))
                new.order.created_invoice = new.invoice
        insert_new([line for new in new_orders for line in new.history])
    return orders


def _number_new_documents(new_orders: list[NewOrder]) -> None:
    """Give orders without a number, and new invoices, the next numbers of their store (one statement each)."""
    by_store: dict[int, list[NewOrder]] = defaultdict(list)
    for new in new_orders:
        by_store[new.order.store_id].append(new)
    for batch in by_store.values():
        store = batch[0].order.store
        unnumbered = [new.order for new in batch if not new.order.number]
        # Numbers already taken are found when the insert fails (orders_create_many), not checked here.
        for order, number in zip(unnumbered, next_numbers(store=store, kind="order", count=len(unnumbered),
                                                          check_taken=False), strict=True):
            order.number = number
        invoices = [new.invoice for new in batch if new.invoice is not None]
        for invoice, number in zip(invoices, next_numbers(store=store, kind="invoice", count=len(invoices),
                                                          check_taken=False), strict=True):
            invoice.number = number


def _invoice_new_order(order: Order, lines: list[OrderItem], actor) -> Invoice:
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
    amounts = _invoice_amounts(order, lines, wanted, key=id)
    invoice.subtotal, invoice.shipping_amount = amounts.subtotal, amounts.shipping
    invoice.discount_amount, invoice.tax_amount = amounts.discount, amounts.tax
    invoice.grand_total, invoice.created_by = amounts.grand_total, _author(actor)[1]
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


def _invoice_history(new: NewOrder) -> OrderHistory:
    order, invoice = new.order, new.invoice
    return _history(
        order, new.actor,
        _("Invoice #%(number)s created: %(amount)s captured offline.")
        % {"number": invoice.number, "amount": format_money(invoice.grand_total, order.currency)}
        + _status_note(invoice.status_changed, order),
    )


@dataclass
class DocumentAmounts:
    """What a document will hold: its lines ``(order item, qty, row total, tax, discount)`` and its totals."""

    lines: list[tuple[OrderItem, int, Decimal, Decimal, Decimal]]
    subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    shipping_tax: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    adjustment_refund: Decimal = ZERO
    adjustment_fee: Decimal = ZERO
    grand_total: Decimal = ZERO

    def as_dict(self) -> dict[str, Decimal]:
        return {"subtotal": self.subtotal, "shipping": self.shipping, "shipping_tax": self.shipping_tax,
                "discount": self.discount, "tax": self.tax, "adjustment_refund": self.adjustment_refund,
                "adjustment_fee": self.adjustment_fee, "grand_total": self.grand_total}


def _item_shares(items: list[OrderItem], wanted: dict, done: str, q: Decimal, key=lambda item: item.pk):
    """Lines with each item's cumulative share of row total, tax and discount for ``wanted`` more units
    (``wanted`` is keyed by ``key(item)``: the item id, or ``id`` for items not saved yet)."""
    lines = []
    for item in items:
        qty = wanted.get(key(item))
        if not qty:
            continue
        before = getattr(item, done)
        after = before + qty
        lines.append((
            item, qty,
            _share(item.row_total, item.qty_ordered, before, after, q),
            _share(item.tax_amount, item.qty_ordered, before, after, q),
            _share(item.discount_amount, item.qty_ordered, before, after, q),
        ))
    return lines


def _order_level_discount(order: Order, items: list[OrderItem]) -> Decimal:
    """The part of the order's discount not carried by an item (e.g. a shipping discount)."""
    return order.discount_amount - sum((i.discount_amount for i in items), ZERO)


def _invoice_quantities(quantities, items: list[OrderItem]) -> dict[int, int]:
    wanted = _quantities(quantities, items, "qty_to_invoice",
                         _('Only %(max)d of "%(sku)s" can be invoiced (%(qty)d asked).'))
    if not wanted:
        raise OrderActionError(_("Enter a quantity to invoice for at least one item."), code="invalid",
                               field="quantities")
    return wanted


def _invoice_amounts(order: Order, items: list[OrderItem], wanted: dict, key=lambda item: item.pk) -> DocumentAmounts:
    """The first invoice also carries the shipping, its tax and the order-level discount."""
    q = quantum(order.currency)
    first = all(item.qty_invoiced == 0 for item in items)
    amounts = DocumentAmounts(lines=_item_shares(items, wanted, "qty_invoiced", q, key=key))
    if first:
        amounts.shipping, amounts.shipping_tax = order.shipping_amount, order.shipping_tax_amount
    order_discount = _order_level_discount(order, items) if first else ZERO
    amounts.subtotal = sum((line[2] for line in amounts.lines), ZERO)
    amounts.tax = sum((line[3] for line in amounts.lines), ZERO) + amounts.shipping_tax
    amounts.discount = sum((line[4] for line in amounts.lines), ZERO) + order_discount
    amounts.grand_total = amounts.subtotal + amounts.shipping - amounts.discount + amounts.tax
    return amounts


def invoice_preview(*, order: Order, quantities=None) -> dict[str, Decimal]:
    """The totals ``invoice_create`` would produce for ``quantities`` now, without writing anything.

    Same validation (``OrderActionError`` for bad quantities), same rounding: what staff see before saving is what
    the invoice will say. Keys: subtotal, shipping, shipping_tax, discount, tax, adjustment_refund, adjustment_fee,
    grand_total.
    """
    order = _prefetched(order)
    items = list(order.items.all())
    return _invoice_amounts(order, items, _invoice_quantities(quantities, items)).as_dict()


def _prefetched(order: Order) -> Order:
    """The order with its items and their products (from the caller's prefetch when it has one)."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "items" in cache:
        return order
    return (Order.objects.select_related("store")
            .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("product")))
            .get(pk=order.pk))


# --- Invoice -------------------------------------------------------------------------------------------------


def invoice_create(*, order: Order, quantities=None, comment: str = "", notify_customer: bool = False,
                   actor) -> Invoice:
    """Invoice (offline capture) ``quantities`` ({order item id: qty}; None = everything left to invoice).

    The first invoice also carries the order's shipping, shipping tax and order-level discount. The order's
    invoiced and paid totals rise by the invoice's grand total.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.INVOICE)
        items = list(locked.items.all())
        wanted = _invoice_quantities(quantities, items)
        amounts = _invoice_amounts(locked, items, wanted)
        invoice_items = [
            InvoiceItem(order_item=item, qty=qty, price=item.price, row_total=row, tax_amount=tax,
                        discount_amount=discount)
            for item, qty, row, tax, discount in amounts.lines
        ]
        changed_items = []
        for item, qty, *_amounts in amounts.lines:
            item.qty_invoiced += qty
            changed_items.append(item)
        subtotal, shipping, discount, tax = amounts.subtotal, amounts.shipping, amounts.discount, amounts.tax
        grand_total = amounts.grand_total
        label = _author(actor)[1]
        invoice = Invoice.objects.create(
            number=_next_number(locked.store, "invoice"), order=locked, subtotal=subtotal, shipping_amount=shipping,
            discount_amount=discount, tax_amount=tax, grand_total=grand_total, created_by=label,
        )
        for line in invoice_items:
            line.invoice = invoice
        InvoiceItem.objects.bulk_create(invoice_items)
        _save_quantities(changed_items, "qty_invoiced")
        locked.total_invoiced += grand_total
        locked.total_paid += grand_total
        locked.shipping_invoiced += shipping
        changed = _settle_state(locked, items)
        _save(locked, "total_invoiced", "total_paid", "shipping_invoiced", "state", "status")
        history = [_history(
            locked, actor,
            _("Invoice #%(number)s created: %(amount)s captured offline.")
            % {"number": invoice.number, "amount": format_money(grand_total, locked.currency)}
            + _status_note(changed, locked),
        )]
        history += _comment_and_email(locked, actor, comment, notify_customer, "invoice", invoice.pk,
                                      _("The invoice #%(number)s email was sent to the customer.")
                                      % {"number": invoice.number})
        OrderHistory.objects.bulk_create(history)
        invoice.order = locked
        _refresh_caller(order, locked)
    return invoice


def _comment_and_email(order: Order, actor, comment: str, notify: bool, kind: str, object_id: int,
                       email_note: str) -> list[OrderHistory]:
    """History lines for a document's comment and customer email; queues the email."""
    lines = []
    comment = (comment or "").strip()
    if comment:
        lines.append(_history(order, actor, comment, kind=HistoryKind.COMMENT, notified=bool(notify)))
    if notify:
        lines.append(_history(order, actor, email_note, kind=HistoryKind.EMAIL, notified=True))
        _email_later(kind, object_id, comment)
    return lines


# --- Shipment ------------------------------------------------------------------------------------------------


def _tracks(tracks) -> list[ShipmentTrack]:
    if tracks is None:
        return []
    if isinstance(tracks, Mapping | str) or not isinstance(tracks, Iterable):
        raise OrderActionError(_("Tracking numbers must be given as a list."), code="invalid", field="tracks")
    result = []
    labels = dict(Carrier.choices)
    for index, data in enumerate(tracks):
        field = f"tracks.{index}"
        if not isinstance(data, Mapping):
            raise OrderActionError(_("Tracking number %(n)d is not valid.") % {"n": index + 1}, code="invalid",
                                   field=field)
        code = str(data.get("carrier_code") or "").strip()
        title = str(data.get("title") or "").strip()
        number = str(data.get("number") or "").strip()
        if code not in labels:
            raise OrderActionError(_('Unknown carrier "%(carrier)s".') % {"carrier": code}, code="invalid",
                                   field=f"{field}.carrier_code")
        if code == Carrier.CUSTOM and not title:
            raise OrderActionError(_("Enter a title for the custom carrier."), code="invalid", field=f"{field}.title")
        if not number:
            raise OrderActionError(_("Enter the tracking number."), code="invalid", field=f"{field}.number")
        if len(number) > 128 or len(title) > 128:
            raise OrderActionError(_("The tracking number or title is too long."), code="invalid", field=field)
        result.append(ShipmentTrack(carrier_code=code, title=title or str(labels[code]), number=number))
    return result


def shipment_create(*, order: Order, quantities=None, tracks=(), comment: str = "", notify_customer: bool = False,
                    actor) -> Shipment:
    """Ship ``quantities`` ({order item id: qty}; None = everything left to ship) with tracking numbers.

    ``tracks``: ``[{carrier_code, title, number}]``; the carrier must be one of ``Carrier`` (``custom`` needs a
    title). The units reserved for the order leave the stock.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.SHIP)
        items = list(locked.items.all())
        wanted = _quantities(quantities, items, "qty_to_ship",
                             _('Only %(max)d of "%(sku)s" can be shipped (%(qty)d asked).'))
        if not wanted:
            raise OrderActionError(_("Enter a quantity to ship for at least one item."), code="invalid",
                                   field="quantities")
        track_rows = _tracks(tracks)
        label = _author(actor)[1]
        shipment = Shipment.objects.create(
            number=_next_number(locked.store, "shipment"), order=locked, total_qty=sum(wanted.values()),
            created_by=label,
        )
        shipped_items = [item for item in items if wanted.get(item.pk)]
        ShipmentItem.objects.bulk_create(
            [ShipmentItem(shipment=shipment, order_item=item, qty=wanted[item.pk]) for item in shipped_items]
        )
        for track in track_rows:
            track.shipment = shipment
        ShipmentTrack.objects.bulk_create(track_rows)
        for item in shipped_items:
            item.qty_shipped += wanted[item.pk]
        _save_quantities(shipped_items, "qty_shipped")
        by_product = _stock_by_product((item, wanted[item.pk]) for item in shipped_items)
        if by_product:
            stock_consume_many(
                quantities={product.pk: qty for product, qty in by_product.items()}, reference=stock_reference(locked)
            )
        changed = _settle_state(locked, items)
        _save(locked, "state", "status")
        note = _("Shipment #%(number)s created: %(qty)d item(s).") % {
            "number": shipment.number, "qty": shipment.total_qty,
        }
        if track_rows:
            note += " " + _("Tracking: %(tracks)s.") % {
                "tracks": ", ".join(f"{t.title} {t.number}" for t in track_rows)
            }
        history = [_history(locked, actor, note + _status_note(changed, locked))]
        history += _comment_and_email(locked, actor, comment, notify_customer, "shipment", shipment.pk,
                                      _("The shipment #%(number)s email was sent to the customer.")
                                      % {"number": shipment.number})
        OrderHistory.objects.bulk_create(history)
        shipment.order = locked
        channel_for(locked).after_shipment(shipment)
        _refresh_caller(order, locked)
    return shipment


def _creditmemo_input(order: Order, items, quantities, shipping_refund, adjustment_refund, adjustment_fee):
    """(wanted quantities, shipping refund, adjustment refund, adjustment fee) validated for the order."""
    currency = order.currency
    wanted = _quantities(quantities, items, "qty_to_refund",
                         _('Only %(max)d of "%(sku)s" can be refunded (%(qty)d asked).'))
    shipping_left = order.shipping_invoiced - order.shipping_refunded
    if shipping_refund is None or (isinstance(shipping_refund, str) and not shipping_refund.strip()):
        shipping = shipping_left
    else:
        shipping = _money(shipping_refund, currency, field="shipping_refund", label=_("The shipping refund"))
    if shipping > shipping_left:
        raise OrderActionError(
            _("The shipping refund cannot be more than %(max)s.") % {"max": format_money(shipping_left, currency)},
            code="invalid", field="shipping_refund",
        )
    adj_refund = _money(adjustment_refund, currency, field="adjustment_refund", label=_("The adjustment refund"))
    adj_fee = _money(adjustment_fee, currency, field="adjustment_fee", label=_("The adjustment fee"))
    return wanted, shipping, adj_refund, adj_fee


def _creditmemo_amounts(order: Order, items: list[OrderItem], wanted: dict[int, int], shipping: Decimal,
                        adj_refund: Decimal, adj_fee: Decimal) -> DocumentAmounts:
    """The credit memo's lines and totals; refuses an empty, negative or excessive refund."""
    currency = order.currency
    q = quantum(currency)
    amounts = DocumentAmounts(lines=_item_shares(items, wanted, "qty_refunded", q), shipping=shipping,
                              adjustment_refund=adj_refund, adjustment_fee=adj_fee)
    # Order-level amounts (shipping tax, a discount not tied to an item) follow the shipping refunded; an order
    # without shipping gives them back with the credit memo that refunds its last invoiced unit.
    order_discount = _order_level_discount(order, items)
    if order.shipping_amount > 0:
        before, after = order.shipping_refunded, order.shipping_refunded + shipping
        amounts.shipping_tax = _share(order.shipping_tax_amount, order.shipping_amount, before, after, q)
        extra_discount = _share(order_discount, order.shipping_amount, before, after, q)
    else:
        was_done = all(i.qty_refunded >= i.qty_invoiced for i in items)
        now_done = all(i.qty_to_invoice == 0 and i.qty_refunded + wanted.get(i.pk, 0) >= i.qty_invoiced
                       for i in items)
        last = now_done and not was_done
        amounts.shipping_tax = order.shipping_tax_amount if last else ZERO
        extra_discount = order_discount if last else ZERO
    amounts.subtotal = sum((line[2] for line in amounts.lines), ZERO)
    amounts.tax = sum((line[3] for line in amounts.lines), ZERO) + amounts.shipping_tax
    amounts.discount = sum((line[4] for line in amounts.lines), ZERO) + extra_discount
    amounts.grand_total = (amounts.subtotal + shipping - amounts.discount + amounts.tax + adj_refund - adj_fee)
    refundable = order.total_paid - order.total_refunded
    if not amounts.lines and not shipping and not adj_refund:
        raise OrderActionError(
            _("Nothing to refund: enter a quantity, a shipping refund or an adjustment refund."),
            code="invalid", field="quantities",
        )
    if amounts.grand_total < 0:
        if adj_fee:
            raise OrderActionError(_("The adjustment fee is more than the refund."), code="invalid",
                                   field="adjustment_fee")
        raise OrderActionError(_("The credit memo total cannot be negative."), code="invalid", field="quantities")
    if amounts.grand_total > refundable:
        raise OrderActionError(
            _("The refund of %(total)s is more than what is left to refund (%(max)s).")
            % {"total": format_money(amounts.grand_total, currency), "max": format_money(refundable, currency)},
            code="invalid", field="adjustment_refund" if adj_refund else "quantities",
        )
    return amounts


def creditmemo_preview(*, order: Order, quantities=None, shipping_refund=None, adjustment_refund=0,
                       adjustment_fee=0) -> dict[str, Decimal]:
    """The totals ``creditmemo_create`` would produce now, without writing anything (same validation and rounding;
    ``OrderActionError`` when the refund would be refused)."""
    order = _prefetched(order)
    items = list(order.items.all())
    wanted, shipping, adj_refund, adj_fee = _creditmemo_input(
        order, items, quantities, shipping_refund, adjustment_refund, adjustment_fee)
    return _creditmemo_amounts(order, items, wanted, shipping, adj_refund, adj_fee).as_dict()


# --- Credit memo ---------------------------------------------------------------------------------------------


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
        items = list(locked.items.all())
        wanted, shipping, adj_refund, adj_fee = _creditmemo_input(
            locked, items, quantities, shipping_refund, adjustment_refund, adjustment_fee)
        by_id = {item.pk: item for item in items}
        if return_to_stock is True:
            back_ids = set(by_id)
        else:
            back_ids = set()
            for raw_id in return_to_stock or ():
                item_id = parse_id(str(raw_id).strip())
                if item_id not in by_id:
                    raise OrderActionError(_("Item %(id)s is not an item of this order.") % {"id": raw_id},
                                           code="invalid", field="return_to_stock")
                back_ids.add(item_id)
        amounts = _creditmemo_amounts(locked, items, wanted, shipping, adj_refund, adj_fee)

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
            memo_items.append(CreditMemoItem(
                order_item=item, qty=qty, back_to_stock=item.pk in back_ids, price=item.price, row_total=row,
                tax_amount=tax, discount_amount=discount,
            ))
            item.qty_refunded += qty
            refunded_items.append(item)
        currency = locked.currency
        subtotal, discount, tax = amounts.subtotal, amounts.discount, amounts.tax
        shipping_tax, grand_total = amounts.shipping_tax, amounts.grand_total

        label = _author(actor)[1]
        memo = CreditMemo.objects.create(
            number=_next_number(locked.store, "creditmemo"), order=locked, subtotal=subtotal,
            shipping_amount=shipping, shipping_tax_amount=shipping_tax, discount_amount=discount, tax_amount=tax,
            adjustment_refund=adj_refund, adjustment_fee=adj_fee, grand_total=grand_total,
            reason=(reason or "")[:64], created_by=label,
        )
        for line in memo_items:
            line.creditmemo = memo
        CreditMemoItem.objects.bulk_create(memo_items)
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
        note = _("Credit memo #%(number)s created: %(amount)s refunded offline.") % {
            "number": memo.number, "amount": format_money(grand_total, currency),
        }
        if returned:
            note += " " + _("%(qty)d unit(s) returned to stock.") % {"qty": sum(returned.values())}
        history = [_history(locked, actor, note + _status_note(changed, locked))]
        history += _comment_and_email(locked, actor, comment, notify_customer, "creditmemo", memo.pk,
                                      _("The credit memo #%(number)s email was sent to the customer.")
                                      % {"number": memo.number})
        OrderHistory.objects.bulk_create(history)
        memo.order = locked
        channel_for(locked).after_creditmemo(memo)
        _refresh_caller(order, locked)
    return memo


# --- Cancel, hold, unhold ------------------------------------------------------------------------------------


def order_cancel(*, order: Order, comment: str = "", reason: str = "", actor) -> None:
    """Cancel what is neither invoiced nor shipped; the order becomes canceled unless part of it was invoiced.

    Reservations of the canceled units are released.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.CANCEL)
        items = list(locked.items.all())
        q = quantum(locked.currency)
        canceled_items = []
        release: dict[int, int] = {}
        canceled_amount = ZERO
        for item in items:
            qty = item.qty_to_cancel
            if not qty:
                continue
            canceled_amount += _share(item.row_total_incl_tax, item.qty_ordered, 0, qty, q)
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
        note = _("Order canceled.") if locked.state == OrderState.CANCELED else _(
            "Items not invoiced were canceled.")
        if reason:
            note += " " + _("Reason: %(reason)s.") % {"reason": reason}
        history = [_history(locked, actor, note + _status_note(changed, locked))]
        if (comment or "").strip():
            history.append(_history(locked, actor, comment.strip(), kind=HistoryKind.COMMENT, notified=False))
        OrderHistory.objects.bulk_create(history)
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
        locked.hold_before_state, locked.hold_before_status = locked.state, locked.status
        _set_state(locked, OrderState.HOLDED)
        _save(locked, "state", "status", "hold_before_state", "hold_before_status")
        _record(locked, actor, _("The order was put on hold."))
        _refresh_caller(order, locked)


def order_unhold(*, order: Order, actor) -> None:
    """Release the hold: the order gets back the state and status it had before."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.UNHOLD)
        locked.state = locked.hold_before_state or OrderState.NEW
        locked.status = locked.hold_before_status or _default_status(locked.state)
        locked.hold_before_state = locked.hold_before_status = ""
        _save(locked, "state", "status", "hold_before_state", "hold_before_status")
        _record(locked, actor, _("The hold on the order was released."))
        _refresh_caller(order, locked)


# --- Comment, email, reorder ---------------------------------------------------------------------------------


def order_comment_add(*, order: Order, comment: str, status: str | None = None, notify_customer: bool = False,
                      visible_on_front: bool = False, actor) -> OrderHistory:
    """Add a note to the order, optionally changing its status (to a status of its current state) and emailing it
    to the customer."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.COMMENT)
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
        line = _record(
            locked, actor, text, kind=HistoryKind.COMMENT, notified=bool(notify_customer),
            visible=bool(visible_on_front),
        )
        if notify_customer and text:
            _record(
                locked, actor, _("The comment was emailed to the customer."), kind=HistoryKind.EMAIL, notified=True
            )
            _email_later("comment", locked.pk, text)
        _refresh_caller(order, locked)
    return line


def order_email_send(*, order: Order, actor) -> None:
    """Send the order confirmation email to the customer again."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.EMAIL)
        _record(
            locked, actor, _("The order confirmation email was sent to the customer."), kind=HistoryKind.EMAIL,
            notified=True,
        )
        _save(locked)  # its history changed: "updated since" sees it
        _email_later("order", locked.pk)
        _refresh_caller(order, locked)


def order_reorder(*, order: Order, actor) -> Order:
    """A new order in the same store for the same customer, with the same products and quantities at today's
    catalog prices (tax recomputed with each item's tax percent, no discount). Refused when a product no longer
    exists, is disabled or out of stock."""
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.REORDER)
        items = list(locked.items.all())
        currency = locked.currency
        q = quantum(currency)
        lines = []
        for item in items:
            product = item.product
            price = product.price.quantize(q, rounding=ROUND_HALF_UP)
            lines.append({
                "sku": product.sku, "name": product.name, "qty": item.qty_ordered, "price": price,
                "tax_percent": item.tax_percent,
                "tax_amount": (price * item.qty_ordered * item.tax_percent / 100).quantize(q, rounding=ROUND_HALF_UP),
            })
        addresses = {a.address_type: a for a in locked.addresses.all()}
        payment = OrderPayment.objects.filter(order=locked).first()
        same_payment = locked.origin == "backoffice" and payment is not None

        def address(kind):
            row = addresses.get(kind)
            return {name: getattr(row, name) for name in ADDRESS_FIELDS} if row else {}

        new_order = order_create(
            store=locked.store, items=lines, customer=locked.customer, customer_email=locked.customer_email,
            customer_first_name=locked.customer_first_name, customer_last_name=locked.customer_last_name,
            billing_address=address(AddressType.BILLING), shipping_address=address(AddressType.SHIPPING),
            payment_method_code=payment.method_code if same_payment else "checkmo",
            payment_method_title=payment.method_title if same_payment else "Check / Money order",
            shipping_method_code=locked.shipping_method_code if locked.origin == "backoffice" else "",
            shipping_method_title=locked.shipping_method_title if locked.origin == "backoffice" else "",
            shipping_amount=locked.shipping_amount if locked.origin == "backoffice" else 0,
            shipping_tax_amount=locked.shipping_tax_amount if locked.origin == "backoffice" else 0,
            actor=actor,
        )
        Order.objects.filter(pk=new_order.pk).update(reordered_from=locked)
        new_order.reordered_from = locked
        OrderHistory.objects.bulk_create([
            _history(new_order, actor, _("Reorder of order #%(number)s.") % {"number": locked.number}),
            _history(locked, actor, _("Reordered as order #%(number)s.") % {"number": new_order.number}),
        ])
    return new_order


# --- Statuses ------------------------------------------------------------------------------------------------


STATUS_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def order_status_create(*, code: str, label: str, state: str, actor) -> OrderStatus:
    """A merchant's own status, assigned to ``state`` (not its default)."""
    code = (code or "").strip()
    label = (label or "").strip()
    if not STATUS_CODE.match(code):
        raise OrderActionError(
            _("The status code must be up to 32 lowercase letters, digits, dashes or underscores."), code="invalid",
            field="code",
        )
    if not label or len(label) > 128:
        raise OrderActionError(_("Enter a label of up to 128 characters."), code="invalid", field="label")
    if state not in OrderState.values:
        raise OrderActionError(_('Unknown order state "%(state)s".') % {"state": state}, code="invalid",
                               field="state")
    with transaction.atomic():
        if OrderStatus.objects.filter(code=code).exists():
            raise OrderActionError(_('A status with code "%(code)s" already exists.') % {"code": code},
                                   code="duplicate", field="code")
        return OrderStatus.objects.create(code=code, label=label, state=state, is_default=False)
