"""Money helpers: amounts are ``Decimal`` in a currency, rounded to that currency's minor unit.

JPY (and a few others) have no minor unit, so an amount in yen is always a whole number.
"""

from __future__ import annotations

import copy
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import cache

from babel import Locale, numbers
from babel.numbers import NumberPattern
from django.db import models

from saleschannel.core.i18n import babel_locale

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "VND"})

MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2
# The largest amount a money column holds (digits before the point: MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES).
# Anything bigger is refused where it is read (forms, services, imports) instead of failing in the database or
# in ``Decimal.quantize`` (``1e30`` has more digits than the default context's precision).
MAX_AMOUNT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)


def MoneyField(verbose_name, **kwargs):  # noqa: N802 - reads like a field class
    """The one definition of a money column (every app's models use it): Decimal, 0 by default."""
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(verbose_name, max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
                               **kwargs)


@cache
def minor_units(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


@cache
def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def to_money(value, currency: str) -> Decimal:
    """Parse ``value`` (str, int or Decimal; never float) and round it half-up to the currency's minor unit.

    Raises ``ValueError`` for anything that is not a finite number or whose size is above ``MAX_AMOUNT``.
    """
    if isinstance(value, float):
        raise ValueError("money must not be given as float")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value!r} is not an amount")
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount")
    if not in_range(amount):
        raise ValueError(f"{value!r} is too large an amount")
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def max_amount(currency: str) -> Decimal:
    """``MAX_AMOUNT`` in ``currency`` (999,999,999,999 yen)."""
    return MAX_AMOUNT.quantize(quantum(currency), rounding=ROUND_DOWN)


def in_range(amount: Decimal) -> bool:
    """True when ``amount`` (finite) fits a money column: its size is at most ``MAX_AMOUNT``."""
    return abs(amount) <= MAX_AMOUNT


def is_exact(amount: Decimal, currency: str) -> bool:
    """True when ``amount`` has no more decimals than the currency allows (e.g. no ``0.5`` yen).

    Safe for any finite amount, however large (``1e30`` would not quantize in the default context).
    """
    if amount.as_tuple().exponent >= 0:
        return True
    with localcontext() as context:
        context.prec = max(context.prec, amount.adjusted() + minor_units(currency) + 2)
        return amount == amount.quantize(quantum(currency))


def format_money(amount: Decimal | None, currency: str, *, locale: str | None = None) -> str:
    """``amount`` written for a reader: "$6,606.63" in English, "6 606,63 $US" in French.

    Babel (CLDR) places the symbol, the separators and the sign for ``locale`` (a Django language code; the active
    language by default). The number of decimals is the currency's minor unit here (``minor_units``), never
    CLDR's (which gives 3 to a few currencies our columns keep to 2), and the Decimal is never turned into a float.
    Display only: CSV cells, the API and stored amounts use plain numbers.
    """
    if amount is None:
        return ""
    code = (currency or "").upper() or "XXX"
    places = minor_units(code)
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    reader = babel_locale(locale)
    with localcontext() as context:  # room for every digit: ``1e30`` would not quantize in the default context
        if value.is_finite():
            context.prec = max(context.prec, value.adjusted() + places + 2)
            value = value.quantize(quantum(code), rounding=ROUND_HALF_UP)
        return _currency_pattern(reader, places).apply(value, reader, currency=code, currency_digits=False)


def format_number(value, *, locale: str | None = None, places: int | None = None) -> str:
    """A number (quantity, percentage) for a reader: "1,234.5" in English, "1 234,5" in French.

    ``places`` fixes the number of decimals (``format_number(Decimal("8.25"), places=2)`` → "8,25" in French).
    """
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return numbers.format_decimal(number, format=pattern, locale=babel_locale(locale))
    return numbers.format_decimal(number, locale=babel_locale(locale), decimal_quantization=False)


@cache
def _currency_pattern(locale: Locale, places: int) -> NumberPattern:
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (places, places)
    return pattern
