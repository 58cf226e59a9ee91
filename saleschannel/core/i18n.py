"""``gettext`` remembered per language, for code that translates the same few messages thousands of times a second
(the Amazon import writes several history lines and notes per order). Translations are loaded once per process, so
a message's translation in a language never changes while it runs.

Use as ``from saleschannel.core.i18n import gettext as _``: ``makemessages`` still finds the ``_("...")`` messages.

Also the one place dates are written for a reader (``short_datetime``, ``long_datetime``, ``iso_datetime``...) and
the Babel locale of the active language (``babel_locale``, used by ``core.money`` too).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError, dates
from django.conf import settings
from django.utils import timezone, translation


def gettext(message: str) -> str:
    return _translated(translation.get_language(), message)


@lru_cache(maxsize=4096)
def _translated(language: str | None, message: str) -> str:
    return translation.gettext(message)


def ngettext(singular: str, plural: str, number: int) -> str:
    """``ngettext`` remembered per language, like ``gettext`` above (``makemessages`` finds it by name)."""
    return _translated_plural(translation.get_language(), singular, plural, number)


@lru_cache(maxsize=4096)
def _translated_plural(language: str | None, singular: str, plural: str, number: int) -> str:
    return translation.ngettext(singular, plural, number)


# --- Dates and locales for the reader ------------------------------------------------------------------------------
# One date style for every screen (issue 12): lists and grids show the short date and time, detail pages the long
# date and time, both in the reader's time zone (the active one: ``core.access`` activates the browser's); CSV
# exports write ISO 8601 with the offset. Babel (CLDR) writes them for the active language.


def babel_locale(language: str | None = None) -> Locale:
    """The Babel locale of a Django language code (the active language by default; English when unknown)."""
    return _babel_locale(language or translation.get_language() or settings.LANGUAGE_CODE)


@lru_cache(maxsize=64)
def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en")


def _local(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return timezone.localtime(value)


def short_datetime(value: datetime | None) -> str:
    """"11/29/26, 9:19 PM" / "29/11/2026 21:19", in the reader's time zone (grids and lists)."""
    if not value:
        return ""
    return dates.format_datetime(_local(value), "short", locale=babel_locale())


def long_datetime(value: datetime | None) -> str:
    """"November 29, 2026, 9:19 PM (Europe/Paris)" / "29 novembre 2026, 21:19 (Europe/Paris)" (detail pages)."""
    if not value:
        return ""
    local, locale = _local(value), babel_locale()
    when = (str(locale.datetime_formats["long"]).replace("'", "")
            .replace("{1}", dates.format_date(local, "long", locale=locale))
            .replace("{0}", dates.format_time(local, "short", locale=locale)))
    return f"{when} ({time_zone_name()})"


def short_date(value: date | datetime | None) -> str:
    """"11/29/26" / "29/11/2026" (a datetime is taken in the reader's time zone)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return dates.format_date(value, "short", locale=babel_locale())


def day_month(value: date | datetime | None) -> str:
    """"11/29" / "29/11": a chart's axis label."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return dates.format_skeleton("Md", value, locale=babel_locale())


def iso_datetime(value: datetime | None) -> str:
    """ISO 8601 with the offset of the reader's time zone, for machines (CSV): "2026-11-29T22:19:00+01:00"."""
    if not value:
        return ""
    return _local(value).isoformat(timespec="seconds")


def time_zone_name() -> str:
    """The name of the time zone dates are shown in ("Europe/Paris")."""
    return timezone.get_current_timezone_name()
