"""Money helpers: amounts are ``Decimal`` in a currency, rounded to that currency's minor unit.

JPY (and a few others) have no minor unit, so an amount in yen is always a whole number.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
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
    if value.is_finite() and in_range(value):
        writer = _money_writer(reader, code, places)
        if writer is not None:  # the usual case: the same text as Babel's, without its per-call cost
            return writer(value.quantize(quantum(code), rounding=ROUND_HALF_UP))
    with localcontext() as context:  # room for every digit: ``1e30`` would not quantize in the default context
        if value.is_finite():
            context.prec = max(context.prec, value.adjusted() + places + 2)
            value = value.quantize(quantum(code), rounding=ROUND_HALF_UP)
        return _currency_pattern(reader, places).apply(value, reader, currency=code, currency_digits=False)


def money_formatter(currency: str, *, locale: str | None = None) -> Callable[[Decimal | None], str]:
    """``format_money`` for many amounts of one currency in one locale (pages of 10,000 lines): the locale and the
    writer are looked up once; every amount gets the same text as from ``format_money``."""
    code = (currency or "").upper() or "XXX"
    the_quantum = quantum(code)
    writer = _money_writer(babel_locale(locale), code, minor_units(code))

    def write(amount: Decimal | None) -> str:
        if writer is not None and type(amount) is Decimal and amount.is_finite() and in_range(amount):
            return writer(amount.quantize(the_quantum, rounding=ROUND_HALF_UP))
        return format_money(amount, currency, locale=locale)

    return write


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


# Amounts a fast writer must write exactly as Babel does before it is used (signs, zero, grouping, the largest).
_PROBES = ("0", "-0", "1", "-1", "0.5", "-0.05", "12.34", "999", "1000", "-1234.5", "12345.67", "1234567.89",
           "-98765432101.99", str(MAX_AMOUNT), str(-MAX_AMOUNT))


@cache
def _money_writer(locale: Locale, code: str, places: int):
    """A writer of quantized amounts of ``code`` giving Babel's text for ``locale`` (Babel's pattern costs about
    50 µs an amount: 60,000 amounts on a 10,000-line order page), or None when this locale's pattern is not the
    simple case it handles (3-digit groups, the sign and symbol around the number): then Babel writes every amount.
    The writer is checked against Babel on ``_PROBES`` first, so it is never used where it would differ."""
    pattern = _currency_pattern(locale, places)
    if tuple(pattern.grouping) != (3, 3):
        return None
    decimal, group = numbers.get_decimal_symbol(locale), numbers.get_group_symbol(locale)
    table = str.maketrans({",": group, ".": decimal})
    spec = f",.{places}f"

    def babel(value: Decimal) -> str:
        return pattern.apply(value, locale, currency=code, currency_digits=False)

    one = Decimal(1).quantize(quantum(code))
    body = format(one, spec).translate(table)
    affixes = []
    for text in (babel(one), babel(-one)):
        at = text.find(body)
        if at < 0:
            return None
        affixes.append((text[:at], text[at + len(body):]))
    (plus_prefix, plus_suffix), (minus_prefix, minus_suffix) = affixes

    def write(value: Decimal) -> str:
        digits = format(abs(value), spec).translate(table)
        if value.is_signed():
            return minus_prefix + digits + minus_suffix
        return plus_prefix + digits + plus_suffix

    for probe in _PROBES:
        value = Decimal(probe).quantize(quantum(code), rounding=ROUND_HALF_UP)
        if write(value) != babel(value):
            return None
    return write
