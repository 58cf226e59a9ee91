from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from saleschannel.core.i18n import babel_locale
from saleschannel.core.money import (
    _currency_pattern,
    format_money,
    format_number,
    is_exact,
    minor_units,
    money_formatter,
    quantum,
    to_money,
)


def test_jpy_has_no_minor_unit():
    assert minor_units("JPY") == 0
    assert to_money("1234.5", "JPY") == Decimal("1235")
    assert not is_exact(Decimal("0.5"), "JPY")
    assert format_money(Decimal("1235"), "JPY") == "¥1,235"


def test_two_decimal_currencies_round_half_up():
    assert to_money("0.125", "USD") == Decimal("0.13")
    assert to_money(Decimal("10"), "EUR") == Decimal("10.00")
    assert format_money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_money(Decimal("3"), "CHF") == "CHF3.00"  # Babel (CLDR) writes the code where there is no symbol


def test_money_is_written_for_the_reader_with_babel():
    assert format_money(Decimal("6606.63"), "USD") == "$6,606.63"
    assert format_money(Decimal("-1"), "USD") == "-$1.00"
    with translation.override("fr"):
        assert format_money(Decimal("6606.63"), "USD") == "6\u202f606,63\xa0$US"
        assert format_money(Decimal("1234.5"), "EUR") == "1\u202f234,50\xa0€"
        assert format_money(Decimal("1235"), "JPY") == "1\u202f235\xa0JPY"
    assert format_money(Decimal("6606.63"), "USD", locale="fr") == "6\u202f606,63\xa0$US"
    assert format_money(None, "USD") == ""


def test_money_keeps_the_currency_decimals_exactly():
    assert format_money(Decimal("1.5"), "KWD") == "KWD1.50"  # CLDR gives KWD 3 decimals; the columns keep 2
    assert format_money(Decimal("0.125"), "USD") == "$0.13"  # half up, as ``to_money``
    assert format_money(Decimal("12345678901.99"), "EUR") == "€12,345,678,901.99"  # never through a float
    assert format_money(Decimal("1e30"), "USD").endswith(",000.00")


def test_numbers_are_written_for_the_reader():
    assert format_number(Decimal("1234.5")) == "1,234.5"
    with translation.override("fr"):
        assert format_number(Decimal("1234.5")) == "1\u202f234,5"
        assert format_number(Decimal("8.256"), places=2) == "8,26"


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", "1,5", None])
def test_bad_amounts_are_refused(bad):
    with pytest.raises(ValueError):
        to_money(bad, "USD")


def test_float_is_refused():
    with pytest.raises(ValueError, match="float"):
        to_money(0.1, "USD")


@given(
    st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=6),
    st.sampled_from(["USD", "GBP", "EUR", "JPY"]),
)
def test_rounding_is_idempotent_and_close(amount, currency):
    rounded = to_money(amount, currency)
    assert is_exact(rounded, currency)
    assert to_money(rounded, currency) == rounded
    assert abs(rounded - amount) <= Decimal(1).scaleb(-minor_units(currency)) / 2


@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=20), st.sampled_from(["USD", "JPY"]))
def test_sums_of_rounded_amounts_stay_exact(cents, currency):
    scale = Decimal(1).scaleb(-minor_units(currency))
    amounts = [to_money(Decimal(c) * scale, currency) for c in cents]
    assert is_exact(sum(amounts, Decimal(0)), currency)


@pytest.mark.parametrize("language", ["en", "fr", "de", "ja", "hi", "de-ch"])
@pytest.mark.parametrize("currency", ["USD", "EUR", "GBP", "JPY", "CHF", "INR"])
@given(cents=st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1))
def test_money_formatter_writes_what_babel_writes(language, currency, cents):
    """``money_formatter`` (and ``format_money``'s fast path) give the text of Babel's pattern (what ``format_money``
    wrote before it had a fast path) for every amount a column holds, in locales the fast writer handles and in
    those it leaves to Babel (Indian grouping, Swiss separators)."""
    amount = (Decimal(cents) / 100).quantize(quantum(currency))
    reader = babel_locale(language)
    expected = _currency_pattern(reader, minor_units(currency)).apply(amount, reader, currency=currency,
                                                                      currency_digits=False)
    assert money_formatter(currency, locale=language)(amount) == expected
    assert format_money(amount, currency, locale=language) == expected
