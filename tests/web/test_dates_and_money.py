"""One date style (grid: short, in the reader's time zone, named under it; views: long; CSV: ISO 8601 with the offset),
money for the reader's locale, plural forms, and chart coordinates that are never localised."""

from __future__ import annotations

import csv
import datetime
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from saleschannel.core import i18n
from saleschannel.core.roles import ADMINISTRATOR
from saleschannel.sales.models import Order
from saleschannel.web.views import svg_number
from tests import factories

MOMENT = datetime.datetime(2026, 11, 29, 21, 19, tzinfo=datetime.UTC)


def test_the_date_styles():
    with timezone.override(ZoneInfo("Europe/Paris")):
        assert i18n.short_datetime(MOMENT) == "11/29/26, 10:19\u202fPM"
        assert i18n.long_datetime(MOMENT) == "November 29, 2026, 10:19\u202fPM (Europe/Paris)"
        assert i18n.iso_datetime(MOMENT) == "2026-11-29T22:19:00+01:00"
        assert i18n.short_date(MOMENT) == "11/29/26" and i18n.day_month(MOMENT.date()) == "11/29"
        with translation.override("fr"):
            assert i18n.short_datetime(MOMENT) == "29/11/2026 22:19"
            assert i18n.long_datetime(MOMENT) == "29 novembre 2026, 22:19 (Europe/Paris)"
            assert i18n.day_month(MOMENT.date()) == "29/11"
            assert i18n.iso_datetime(MOMENT) == "2026-11-29T22:19:00+01:00"  # machines read the same in every language
    assert i18n.short_datetime(None) == i18n.long_datetime(None) == i18n.iso_datetime(None) == ""


@pytest.fixture
def paris_order(db):
    order = factories.make_order(store=factories.make_store(code="us", prefix="US"))
    Order.objects.filter(pk=order.pk).update(created_at=MOMENT)
    return order


@pytest.fixture
def paris_client(db):
    client = factories.client_for(factories.make_role_user(ADMINISTRATOR))
    client.cookies["tz"] = "Europe/Paris"
    return client


def test_the_grid_shows_short_dates_in_the_readers_zone_and_names_it(paris_client, paris_order):
    page = paris_client.get("/sales/orders/").content.decode()
    assert re.search(r'data-column="created_at">11/29/26, 10:19\u202fPM</td>', page)
    assert "Times in Europe/Paris." in page
    paris_client.cookies["django_language"] = "fr"
    page = paris_client.get("/sales/orders/").content.decode()
    assert 'data-column="created_at">29/11/2026 22:19</td>' in page
    assert "Heures dans le fuseau horaire Europe/Paris." in page


def test_the_order_view_shows_the_long_date(paris_client, paris_order):
    page = paris_client.get(f"/sales/orders/{paris_order.pk}/").content.decode()
    assert "November 29, 2026, 10:19\u202fPM (Europe/Paris)" in page
    paris_client.cookies["django_language"] = "fr"
    page = paris_client.get(f"/sales/orders/{paris_order.pk}/").content.decode()
    assert "29 novembre 2026, 22:19 (Europe/Paris)" in page


def test_the_csv_export_writes_iso_8601_with_the_offset(paris_client, paris_order):
    for language in ("en", "fr"):
        paris_client.cookies["django_language"] = language
        response = paris_client.get("/sales/orders/export.csv?cols=number,created_at")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[1] == [paris_order.number, "2026-11-29T22:19:00+01:00"], language


def test_the_dashboard_in_french_localises_money_but_not_the_chart(paris_client, paris_order):
    Order.objects.filter(pk=paris_order.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))
    paris_client.cookies["django_language"] = "fr"
    page = paris_client.get("/").content.decode()
    assert "36,50\u00a0$US" in page and "$36.50" not in page
    assert "1 commande" in page and "7 derniers jours" in page
    chart = page[page.index('<svg class="chart"'):page.index("</svg>")]
    rects = re.findall(r"<rect [^>]*>", chart)
    assert len(rects) == 30
    numbers = re.findall(r'\s(?:x|y|width|height)="([^"]*)"', " ".join(rects))
    assert numbers and all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in numbers), numbers


def test_svg_numbers_use_a_point():
    with translation.override("fr"):
        assert svg_number(18.0) == "18" and svg_number(18.666) == "18.67" and svg_number(0.0) == "0"
        assert svg_number(-0.001) == "0"


def test_plural_forms_in_french():
    with translation.override("fr"):
        one = i18n.ngettext("%(qty)d unit returned to stock.", "%(qty)d units returned to stock.", 1) % {"qty": 1}
        two = i18n.ngettext("%(qty)d unit returned to stock.", "%(qty)d units returned to stock.", 2) % {"qty": 2}
        assert (one, two) == ("1 unité remise en stock.", "2 unités remises en stock.")
        printed = translation.ngettext("Printed the documents of %(count)d order.",
                                       "Printed the documents of %(count)d orders.", 1) % {"count": 1}
        assert printed == "Documents de 1 commande imprimés."
