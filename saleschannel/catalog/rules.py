"""Rules of the catalog's Commerce stores, the single source for forms, services, commands and the database.

Order-number prefix (``Store.order_number_prefix``, issue 11 finding 8): every document number of a store is its
prefix followed by a nine-digit counter (``saleschannel.sales.numbering``), so two stores sharing a prefix would
hand out the same numbers, and characters such as ``%``, spaces or control characters end up in URLs, file names,
PDFs and Amazon feeds. A prefix is therefore:

* **required**: 1 to 8 characters (an empty prefix used to mean "the store's id", which could equal another
  store's digits-only prefix);
* made of capital letters ``A``–``Z``, digits ``0``–``9`` and hyphens ``-`` only — lowercase, spaces, accents,
  ``%``, ``_``, ``/`` and any other character are refused with a message saying what is allowed;
* **unique** in the installation, case included (backed by the ``store_order_number_prefix_unique`` constraint).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from saleschannel.core.money import MAX_AMOUNT, MONEY_DECIMAL_PLACES, minor_units

# The product fields whose change may let an order that waited for the product go through (services then publish
# ``core.events.PRODUCTS_AVAILABLE``).
SALABLE_FIELDS = frozenset({"sku", "enabled", "is_in_stock", "qty"})

PREFIX_MAX_LENGTH = 8
PREFIX_PATTERN = re.compile(rf"[A-Z0-9-]{{1,{PREFIX_MAX_LENGTH}}}")


def order_number_prefix_problem(prefix, *, store=None) -> str | None:
    """Why ``prefix`` cannot be the order-number prefix of ``store`` (None for a new store), or None when it can."""
    if not isinstance(prefix, str) or not prefix:
        return _("Enter an order number prefix (1 to %(max)d characters: capital letters A–Z, digits and "
                 "hyphens).") % {"max": PREFIX_MAX_LENGTH}
    if len(prefix) > PREFIX_MAX_LENGTH:
        return _("The order number prefix is limited to %(max)d characters.") % {"max": PREFIX_MAX_LENGTH}
    if not PREFIX_PATTERN.fullmatch(prefix):
        return _("The order number prefix may only contain capital letters A–Z, digits 0–9 and hyphens (-).")
    from saleschannel.catalog.models import Store  # import cycle: catalog.models imports these rules

    others = Store.objects.filter(order_number_prefix=prefix)
    if store is not None and store.pk is not None:
        others = others.exclude(pk=store.pk)
    if prefix.isdigit() and not prefix.startswith("0"):  # a store without a prefix numbers with its id
        others = others | Store.objects.filter(pk=int(prefix), order_number_prefix="").exclude(
            pk=getattr(store, "pk", None))
    other = others.order_by("pk").first()
    if other is not None:
        return _('The order number prefix "%(prefix)s" is already used by the store "%(store)s": each store needs '
                 "its own, or their order numbers would collide.") % {"prefix": prefix, "store": other.name}
    return None


def validate_order_number_prefix_format(value) -> None:
    """Field validator (format only; uniqueness needs the store, see ``order_number_prefix_problem``)."""
    if not isinstance(value, str) or not value or len(value) > PREFIX_MAX_LENGTH or not PREFIX_PATTERN.fullmatch(
            value):
        raise ValidationError(order_number_prefix_problem(value if isinstance(value, str) else None),
                              code="invalid_prefix")


# --- Products ----------------------------------------------------------------------------------------------------
#
# The rules of a product's merchant-set fields, shared by the services (screens, commands) and the CSV import; each
# ``clean_*`` function takes what a person typed (a string, or an already typed value from code) and returns the
# value to store, or raises ``ProductRuleError`` with a message written for that person.
#
# * **SKU**: required, 1 to 64 characters (the column's size), no spaces at either end and no control characters
#   (tabs, line breaks). Unique **without regard to case**: "mug-blue" is refused while "MUG-BLUE" exists, because
#   the two would look like one product to people and to Amazon's seller SKU matching, yet be two rows here.
#   Lookups (orders, the import's upserts) stay exact: an import line whose SKU differs from an existing one only
#   by case is refused rather than guessed. The database backs exact uniqueness (``Product.sku`` is unique).
# * **Name**: required, at most 255 characters, no control characters; spaces at either end are dropped.
# * **Price**: a number, not negative, at most ``MAX_AMOUNT`` (anything larger, ``1e30`` included, is refused
#   before it reaches ``Decimal.quantize`` or the database), and with no more decimals than the currency allows.
#   Products have one price and no currency of their own: an order prices them in its store's currency. So the
#   price may have as many decimals as the store currency with the most minor units (2 for USD/EUR, 0 for JPY),
#   or 2 when no store is configured yet (``price_decimals``). Never rounded silently: 9.999 is refused.
# * **Quantity**: a whole number from 0 to ``MAX_QTY``; for a product whose stock is managed, never below the units
#   reserved for orders that have not shipped (``Product.qty_reserved``).

MAX_QTY = 999_999_999
SKU_MAX_LENGTH = 64
NAME_MAX_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")
_TRUE = frozenset({"1", "true", "yes", "y", "on", "oui", "vrai"})
_FALSE = frozenset({"0", "false", "no", "n", "off", "non", "faux"})


class ProductRuleError(ValueError):
    """A value refused by the product rules; ``message`` is written for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def clean_sku(value) -> str:
    """The SKU's format (uniqueness needs the database: ``sku_taken_by``)."""
    sku = value if isinstance(value, str) else ""
    if not sku.strip():
        raise ProductRuleError(_("Enter a SKU."))
    if sku != sku.strip():
        raise ProductRuleError(_("The SKU cannot start or end with a space."))
    if len(sku) > SKU_MAX_LENGTH:
        raise ProductRuleError(_("The SKU is limited to %(max)d characters.") % {"max": SKU_MAX_LENGTH})
    if _CONTROL.search(sku):
        raise ProductRuleError(_("The SKU cannot contain tabs, line breaks or other control characters."))
    return sku


def sku_taken_by(sku: str, *, product=None):
    """The other product whose SKU equals ``sku`` without regard to case, or None."""
    from saleschannel.catalog.models import Product  # import cycle: catalog.models imports these rules

    others = Product.objects.filter(sku__iexact=sku)
    if product is not None and product.pk is not None:
        others = others.exclude(pk=product.pk)
    return others.order_by("pk").first()


def sku_taken_message(sku: str, other) -> str:
    if other.sku == sku:
        return _('The SKU "%(sku)s" is already used by another product.') % {"sku": sku}
    return _('The SKU "%(sku)s" differs only by upper or lower case from the existing product "%(other)s"; SKUs '
             "must differ by more than case.") % {"sku": sku, "other": other.sku}


def clean_name(value) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ProductRuleError(_("Enter a product name."))
    if len(name) > NAME_MAX_LENGTH:
        raise ProductRuleError(_("The product name is limited to %(max)d characters.") % {"max": NAME_MAX_LENGTH})
    if _CONTROL.search(name):
        raise ProductRuleError(_("The product name cannot contain tabs, line breaks or other control characters."))
    return name


def price_decimals() -> int:
    """How many decimals a product price may have: the most of any store's currency, or 2 without stores."""
    from saleschannel.catalog.models import Store  # import cycle: catalog.models imports these rules

    currencies = set(Store.objects.values_list("currency", flat=True).distinct())
    if not currencies:
        return MONEY_DECIMAL_PLACES
    return min(max(minor_units(currency) for currency in currencies), MONEY_DECIMAL_PLACES)


def clean_price(value, *, decimals: int) -> Decimal:
    """``value`` (str, int or Decimal; never float) as a price with at most ``decimals`` decimals."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ProductRuleError(_("Enter the price as a number such as 19.99."))
    text = value.strip() if isinstance(value, str) else value
    if text == "" or text is None:
        raise ProductRuleError(_("Enter a price."))
    if isinstance(text, str):
        if not _NUMBER.fullmatch(text):
            raise ProductRuleError(_('"%(value)s" is not a price: enter a number such as 19.99.') % {
                "value": text[:40]})
        if "," in text:  # a decimal comma (French spreadsheets), never a thousands separator
            if re.fullmatch(r"[+-]?\d+,\d{3}", text):
                raise ProductRuleError(
                    _('"%(value)s" is ambiguous (a thousands separator or a decimal comma?): write 1000 for a '
                      "thousand, and a point for decimals (1.5).") % {"value": text})
            text = text.replace(",", ".")
    try:
        price = text if isinstance(text, Decimal) else Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise ProductRuleError(_('"%(value)s" is not a price: enter a number such as 19.99.') % {
            "value": str(value)[:40]})
    if not price.is_finite():
        raise ProductRuleError(_('"%(value)s" is not a price: enter a number such as 19.99.') % {"value": value})
    if price < 0:
        raise ProductRuleError(_("The price cannot be negative."))
    if price > MAX_AMOUNT:
        raise ProductRuleError(_("The price is limited to %(max)s.") % {"max": MAX_AMOUNT})
    if price.as_tuple().exponent < -decimals and price != price.quantize(Decimal(1).scaleb(-decimals)):
        if decimals == 0:
            raise ProductRuleError(_("The price must be a whole number: the stores' currency has no decimals."))
        raise ProductRuleError(_("The price may have at most %(decimals)d decimals.") % {"decimals": decimals})
    return price.quantize(Decimal(1).scaleb(-2))


def clean_qty(value) -> int:
    """A stock quantity: a whole number from 0 to ``MAX_QTY``."""
    if isinstance(value, bool):
        raise ProductRuleError(_("Enter the quantity as a whole number."))
    if isinstance(value, int):
        qty = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise ProductRuleError(_("Enter a quantity."))
        if not _INTEGER.fullmatch(text) or len(text) > 12:
            if _INTEGER.fullmatch(text):
                raise ProductRuleError(_("The quantity is limited to %(max)s.") % {"max": f"{MAX_QTY:,}"})
            raise ProductRuleError(_('"%(value)s" is not a quantity: enter a whole number such as 12.') % {
                "value": text[:40]})
        qty = int(text)
    if qty < 0:
        raise ProductRuleError(_("The quantity cannot be negative."))
    if qty > MAX_QTY:
        raise ProductRuleError(_("The quantity is limited to %(max)s.") % {"max": f"{MAX_QTY:,}"})
    return qty


def clean_flag(value) -> bool:
    """A yes/no value: 1/0, true/false, yes/no, y/n, on/off (oui/non, vrai/faux), any case."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ProductRuleError(_('"%(value)s" is not yes or no: use 1 or 0 (true/false, yes/no also work).') % {
        "value": str(value)[:40]})


def stock_problem(*, qty: int, qty_reserved: int, manage_stock: bool) -> str | None:
    """Why ``qty`` cannot be the stock of a product holding ``qty_reserved`` units, or None."""
    if manage_stock and qty < qty_reserved:
        return _("%(reserved)d units are reserved for orders that have not shipped; the quantity cannot be "
                 "lower.") % {"reserved": qty_reserved}
    return None


# Fields a merchant sets on a product (screens, services, CSV columns), each with its rule. ``price`` is cleaned by
# ``clean_price`` with the decimals of ``price_decimals()``.
PRODUCT_FIELDS = ("sku", "name", "price", "qty", "enabled", "manage_stock", "is_in_stock")
PRODUCT_REQUIRED = ("sku", "name", "price")
PRODUCT_DEFAULTS = {"qty": 0, "enabled": True, "manage_stock": True, "is_in_stock": True}
_CLEANERS = {"sku": clean_sku, "name": clean_name, "qty": clean_qty, "enabled": clean_flag,
             "manage_stock": clean_flag, "is_in_stock": clean_flag}


def clean_product_fields(values, *, decimals: int) -> tuple[dict, dict]:
    """Clean every field given in ``values`` ({field: raw value}): ``(cleaned, {field: message})``."""
    cleaned, errors = {}, {}
    for field, value in values.items():
        try:
            if field == "price":
                cleaned[field] = clean_price(value, decimals=decimals)
            else:
                cleaned[field] = _CLEANERS[field](value)
        except ProductRuleError as error:
            errors[field] = error.message
    return cleaned, errors
