"""The parsers of what staff, the API and channels give the sales services: amounts, quantities, addresses, order
lines, tracking numbers and credit memo input.

Each returns clean values or raises ``OrderActionError`` naming the offending ``field`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation

from saleschannel.catalog.models import Product
from saleschannel.catalog.services import product_unsalable_reason
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import format_money, in_range, is_exact, max_amount, quantum
from saleschannel.sales.amounts import ZERO
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import Carrier, Order, OrderAddress, OrderItem, ShipmentTrack

MAX_QUANTITY = 2**31 - 1  # quantities are 32-bit integer columns

ADDRESS_FIELDS = frozenset(
    f.name for f in OrderAddress._meta.concrete_fields if f.name not in ("id", "order", "address_type")
)
ADDRESS_LIMITS = {f.name: f.max_length for f in OrderAddress._meta.concrete_fields}
ITEM_KEYS = frozenset({"sku", "qty", "price", "original_price", "tax_amount", "tax_percent", "discount_amount",
                       "name", "external_item_id", "row_total"})


def _text(label: str | Callable[[], str]) -> str:
    return label() if callable(label) else label


def money(value, currency: str, *, field: str, label: str | Callable[[], str],
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


def whole_number(value, *, field: str, label: str) -> int:
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


def item_quantities(quantities, items: list[OrderItem], limit: str, too_many: str) -> dict[int, int]:
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
        qty = 0 if raw_qty is None or raw_qty == "" else whole_number(raw_qty, field=field, label=f'"{item.sku}"')
        available = getattr(item, limit)
        total = wanted.get(item.pk, 0) + qty  # the same item may be named twice ("3" and 3)
        if total > available:
            raise OrderActionError(
                too_many % {"max": available, "sku": item.sku, "qty": total}, code="invalid", field=field
            )
        if total:
            wanted[item.pk] = total
    return wanted


def invoice_quantities(quantities, items: list[OrderItem]) -> dict[int, int]:
    """{order item id: qty > 0} to invoice; refuses an invoice of nothing."""
    wanted = item_quantities(quantities, items, "qty_to_invoice",
                             _('Only %(max)d of "%(sku)s" can be invoiced (%(qty)d asked).'))
    if not wanted:
        raise OrderActionError(_("Enter a quantity to invoice for at least one item."), code="invalid",
                               field="quantities")
    return wanted


def address(data, kind: str, *, default_first: str, default_last: str) -> OrderAddress:
    """An unsaved ``OrderAddress`` of ``kind`` from its fields (names default to the customer's)."""
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


def order_lines(items, currency: str, products: dict[str, Product], *, allow_missing: bool) -> list[OrderItem]:
    """Unsaved ``OrderItem`` rows from a new order's ``items`` (see ``OrderDraft``); ``products`` by SKU."""
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
        qty = whole_number(data.get("qty"), field=f"{field}.qty", label=label)
        if qty <= 0:
            raise OrderActionError(
                _("The quantity of %(label)s must be at least 1.") % {"label": label}, code="invalid",
                field=f"{field}.qty",
            )
        if data.get("price") in (None, ""):
            raise OrderActionError(
                _("The price of %(label)s is missing.") % {"label": label}, code="invalid", field=f"{field}.price"
            )
        price = money(data["price"], currency, field=f"{field}.price",
                       label=lambda label=label: _("The price of %s") % label)
        row_total = (
            money(data["row_total"], currency, field=f"{field}.row_total",
                   label=lambda label=label: _("The row total of %s") % label)
            if data.get("row_total") not in (None, "") else price * qty
        )
        tax = money(data.get("tax_amount"), currency, field=f"{field}.tax_amount",
                     label=lambda label=label: _("The tax of %s") % label)
        discount = money(
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
                money(original, currency, field=f"{field}.original_price",
                       label=lambda label=label: _("The original price of %s") % label)
                if original not in (None, "") else price
            ),
            row_total=row_total,
            tax_amount=tax,
            tax_percent=tax_percent.quantize(Decimal("0.0001")),
            discount_amount=discount,
        ))
    return lines


def tracks(tracks) -> list[ShipmentTrack]:
    """Unsaved ``ShipmentTrack`` rows from ``[{carrier_code, title, number}]`` (None: no tracking)."""
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


def creditmemo_input(order: Order, items, quantities, shipping_refund, adjustment_refund, adjustment_fee):
    """(wanted quantities, shipping refund, adjustment refund, adjustment fee) validated for the order."""
    currency = order.currency
    wanted = item_quantities(quantities, items, "qty_to_refund",
                             _('Only %(max)d of "%(sku)s" can be refunded (%(qty)d asked).'))
    shipping_left = order.shipping_invoiced - order.shipping_refunded
    if shipping_refund is None or (isinstance(shipping_refund, str) and not shipping_refund.strip()):
        shipping = shipping_left
    else:
        shipping = money(shipping_refund, currency, field="shipping_refund", label=_("The shipping refund"))
    if shipping > shipping_left:
        raise OrderActionError(
            _("The shipping refund cannot be more than %(max)s.") % {"max": format_money(shipping_left, currency)},
            code="invalid", field="shipping_refund",
        )
    adj_refund = money(adjustment_refund, currency, field="adjustment_refund", label=_("The adjustment refund"))
    adj_fee = money(adjustment_fee, currency, field="adjustment_fee", label=_("The adjustment fee"))
    return wanted, shipping, adj_refund, adj_fee


def return_to_stock_ids(return_to_stock, items: list[OrderItem]) -> set[int]:
    """The ids of the order items whose refunded units go back to stock (``True``: every item)."""
    by_id = {item.pk: item for item in items}
    if return_to_stock is True:
        return set(by_id)
    back_ids = set()
    for raw_id in return_to_stock or ():
        item_id = parse_id(str(raw_id).strip())
        if item_id not in by_id:
            raise OrderActionError(_("Item %(id)s is not an item of this order.") % {"id": raw_id},
                                   code="invalid", field="return_to_stock")
        back_ids.add(item_id)
    return back_ids
