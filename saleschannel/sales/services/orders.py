"""Placing orders: ``order_create`` one at a time, ``order_prepare`` + ``orders_create_many`` in batches, and
``order_reorder``.

An ``OrderDraft`` says what the order is; the services check it (``OrderActionError`` before anything is written),
build the order's rows and write them in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from saleschannel.catalog.models import Product, Store
from saleschannel.catalog.services import StockError, product_unsalable_reason, stock_reserve_new
from saleschannel.core.bulk import insert_new, link
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import format_money, quantum
from saleschannel.sales import history, inputs
from saleschannel.sales.amounts import ZERO
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import (
    AddressType,
    Invoice,
    Order,
    OrderAddress,
    OrderHistory,
    OrderItem,
    OrderPayment,
    OrderState,
)
from saleschannel.sales.numbering import next_numbers, refuse_taken_numbers
from saleschannel.sales.rules import Action
from saleschannel.sales.services import _events
from saleschannel.sales.services._common import (
    _email_later,
    _lock,
    _require,
    _status_note,
    _stock_by_product,
    stock_reference,
)
from saleschannel.sales.services.invoices import invoice_new_order
from saleschannel.sales.services.statuses import _default_status, _state_of_status

# States an order may be created in (with a status of that state).
CREATION_STATES = frozenset(s.value for s in (OrderState.NEW, OrderState.PENDING_PAYMENT, OrderState.PROCESSING))


@dataclass(frozen=True, kw_only=True)
class OrderDraft:
    """An order to place, as ``order_create`` and ``order_prepare`` take it: the values as given, checked only when
    the order is prepared.

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
    """

    store: Store
    items: list[dict]
    customer_email: str
    customer_first_name: str
    customer_last_name: str
    billing_address: dict
    shipping_address: dict | None = None
    payment_method_code: str = "checkmo"
    payment_method_title: str = "Check / Money order"
    payment_additional_information: dict | None = None
    shipping_method_code: str = ""
    shipping_method_title: str = ""
    shipping_amount: Any = 0
    shipping_tax_amount: Any = 0
    discount_amount: Any = 0
    customer: Any = None
    origin: str = "backoffice"
    external_order_number: str = ""
    number: str | None = None
    created_at: datetime | None = None
    status: str | None = None
    reserve_stock: bool = True
    check_stock: bool = True
    send_email: bool = True
    expected_grand_total: Any = None
    invoice: bool = False

    def with_values(self, **changes) -> OrderDraft:
        """A copy of this draft with ``changes`` (e.g. the customer account found once the draft was built)."""
        return replace(self, **changes)


def order_create(*, draft: OrderDraft, products: Mapping[str, Product] | None = None, actor) -> Order:
    """Place the order ``draft`` describes, in its store's currency (see ``OrderDraft``).

    ``products`` ({sku: Product}) are products the caller has just read (a batch importer reads a page's products
    once): they save the query for those SKUs. Stock is still enforced by the reservation's conditional ``UPDATE``.
    """
    return orders_create_many(new_orders=[order_prepare(draft=draft, products=products, actor=actor)])[0]


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


def order_prepare(*, draft: OrderDraft, products: Mapping[str, Product] | None = None, check_number: bool = True,
                  actor) -> NewOrder:
    """Check everything ``order_create`` checks and build the order's rows without writing anything.

    Same arguments as ``order_create``, plus ``check_number``: False leaves a duplicate ``number`` to the unique
    index when the rows are written (a batch checks its numbers itself). Raises ``OrderActionError``.
    """
    currency = draft.store.currency
    email = (draft.customer_email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise OrderActionError(_("Enter a valid customer email address."), code="invalid", field="customer_email")
    first_name, last_name = (draft.customer_first_name or "").strip(), (draft.customer_last_name or "").strip()
    if not first_name:
        raise OrderActionError(_("Enter the customer's first name."), code="invalid", field="customer_first_name")
    if not last_name:
        raise OrderActionError(_("Enter the customer's last name."), code="invalid", field="customer_last_name")

    skus = set()
    if isinstance(draft.items, list | tuple):
        skus = {str(item.get("sku") or "").strip() for item in draft.items if isinstance(item, Mapping)}
    known = {sku: products[sku] for sku in skus if products and sku in products}
    missing = skus - set(known)
    products = {**known, **({p.sku: p for p in Product.objects.filter(sku__in=missing)} if missing else {})}
    lines = inputs.order_lines(draft.items, currency, products, allow_missing=not draft.check_stock)
    if draft.check_stock:
        wanted: dict[str, int] = defaultdict(int)
        for line in lines:
            wanted[line.sku] += line.qty_ordered
        for index, line in enumerate(lines):
            reason = product_unsalable_reason(line.product, sku=line.sku, qty=wanted[line.sku])
            if reason:
                raise OrderActionError(reason, code="not_salable", field=f"items.{index}.sku")

    shipping = inputs.money(draft.shipping_amount, currency, field="shipping_amount", label=_("The shipping amount"))
    shipping_tax = inputs.money(draft.shipping_tax_amount, currency, field="shipping_tax_amount",
                                label=_("The shipping tax"))
    order_discount = inputs.money(draft.discount_amount, currency, field="discount_amount", label=_("The discount"))
    subtotal = sum((line.row_total for line in lines), ZERO)
    discount = sum((line.discount_amount for line in lines), ZERO) + order_discount
    tax = sum((line.tax_amount for line in lines), ZERO) + shipping_tax
    grand_total = subtotal + shipping - discount + tax
    if grand_total < 0:
        raise OrderActionError(_("The discount is more than the order total."), code="invalid", field="discount_amount")
    if draft.expected_grand_total is not None:
        expected = inputs.money(draft.expected_grand_total, currency, field="expected_grand_total",
                          label=_("The expected grand total"), allow_negative=True)
        if expected != grand_total:
            raise OrderActionError(
                _("The order total %(total)s does not match the expected total %(expected)s.")
                % {"total": format_money(grand_total, currency),
                   "expected": format_money(expected, currency)},
                code="total_mismatch", field="expected_grand_total",
            )

    state = OrderState.NEW
    if draft.status:
        state_of_status = _state_of_status(draft.status)
        if state_of_status is None:
            raise OrderActionError(_('Unknown order status "%(status)s".') % {"status": draft.status}, code="invalid",
                                   field="status")
        if state_of_status not in CREATION_STATES:
            raise OrderActionError(
                _("A new order can only have a status of the New, Pending Payment or Processing state."),
                code="invalid", field="status",
            )
        state = state_of_status
    number = draft.number
    if number is not None:
        number = str(number).strip()
        if not number or len(number) > Order._meta.get_field("number").max_length:
            raise OrderActionError(_("The order number is empty or too long."), code="invalid", field="number")
        if check_number and Order.objects.filter(number=number).exists():
            raise OrderActionError(
                _("An order numbered %(number)s already exists.") % {"number": number}, code="duplicate",
                field="number",
            )
    billing = inputs.address(draft.billing_address, AddressType.BILLING, default_first=first_name,
                             default_last=last_name)
    shipping_addr = inputs.address(
        draft.shipping_address if draft.shipping_address is not None else draft.billing_address, AddressType.SHIPPING,
        default_first=first_name, default_last=last_name,
    )

    order = Order(
        number=number or "",  # from the store's sequence when written (orders_create_many)
        store=draft.store,
        state=state,
        status=draft.status or _default_status(state),
        origin=draft.origin,
        external_order_number=draft.external_order_number or "",
        currency=currency,
        customer=draft.customer,
        customer_is_guest=draft.customer is None,
        customer_email=email,
        customer_first_name=first_name,
        customer_last_name=last_name,
        shipping_method_code=draft.shipping_method_code or "",
        shipping_method_title=draft.shipping_method_title or "",
        subtotal=subtotal,
        shipping_amount=shipping,
        shipping_tax_amount=shipping_tax,
        discount_amount=discount,
        tax_amount=tax,
        grand_total=grand_total,
        created_at=draft.created_at or timezone.now(),
    )
    notes = [history.order_created(order, actor)]
    if draft.send_email:
        notes.append(history.confirmation_emailed(order, actor))
    payment = OrderPayment(method_code=draft.payment_method_code, method_title=draft.payment_method_title,
                           additional_information=draft.payment_additional_information or {})
    for row in (*lines, billing, shipping_addr, payment):
        link(row, "order", order)
    return NewOrder(
        order=order, lines=lines, addresses=[billing, shipping_addr], payment=payment, history=notes,
        invoice=invoice_new_order(order, lines, actor) if draft.invoice else None, reserve_stock=draft.reserve_stock,
        send_email=draft.send_email, actor=actor, explicit_number=bool(number),
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
                new.history.append(history.invoice_created(
                    new.order, new.actor, new.invoice,
                    status_note=_status_note(new.invoice.status_changed, new.order)))
                new.order.created_invoice = new.invoice
        insert_new([line for new in new_orders for line in new.history])
        _events.publish_created(orders)
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
            return {name: getattr(row, name) for name in inputs.ADDRESS_FIELDS} if row else {}

        new_order = order_create(draft=OrderDraft(
            store=locked.store, items=lines, customer=locked.customer, customer_email=locked.customer_email,
            customer_first_name=locked.customer_first_name, customer_last_name=locked.customer_last_name,
            billing_address=address(AddressType.BILLING), shipping_address=address(AddressType.SHIPPING),
            payment_method_code=payment.method_code if same_payment else "checkmo",
            payment_method_title=payment.method_title if same_payment else "Check / Money order",
            shipping_method_code=locked.shipping_method_code if locked.origin == "backoffice" else "",
            shipping_method_title=locked.shipping_method_title if locked.origin == "backoffice" else "",
            shipping_amount=locked.shipping_amount if locked.origin == "backoffice" else 0,
            shipping_tax_amount=locked.shipping_tax_amount if locked.origin == "backoffice" else 0,
        ), actor=actor)
        Order.objects.filter(pk=new_order.pk).update(reordered_from=locked)
        new_order.reordered_from = locked
        OrderHistory.objects.bulk_create([
            history.reorder_of(new_order, actor, number=locked.number),
            history.reordered_as(locked, actor, number=new_order.number),
        ])
    return new_order
