"""Money helpers: amounts are ``Decimal`` in a currency, rounded to that currency's minor unit.

JPY (and a few others) have no minor unit, so an amount in yen is always a whole number.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import cache

from django.db import models

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


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    places = minor_units(currency)
    text = f"{amount:,.{places}f}"
    symbols = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥"}
    symbol = symbols.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
