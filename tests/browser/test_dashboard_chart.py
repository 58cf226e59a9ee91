"""The dashboard's chart draws its bars in every language: SVG coordinates are never localised ("12,5" in French is
an invalid attribute, which gave no bars and a console error per attribute)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from saleschannel.core.roles import ADMINISTRATOR
from saleschannel.sales.models import Order
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def orders_this_month(transactional_db):
    store = factories.make_store(code="us", currency="USD", prefix="US")
    product = factories.make_product(sku="CHART-1", price="1234.56", qty=500)
    # 1, 2 and 3 orders on three days: bar heights that are not whole numbers (and 30 bars of 18.xx px wide).
    for days_ago, count in ((1, 1), (4, 2), (9, 3)):
        for _ in range(count):
            order = factories.make_order(store=store, items=[factories.line(product, 1)])
            Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - datetime.timedelta(days=days_ago))


@pytest.fixture
def admin_context(browser, live_server, orders_this_month):
    client = factories.client_for(factories.make_role_user(ADMINISTRATOR))
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_chart_draws_its_bars(live_server, admin_context, language):
    admin_context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language,
                                "url": live_server.url, "sameSite": "Lax"}])
    page = admin_context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    bars = page.locator("svg.chart rect")
    expect(bars).to_have_count(30)
    attributes = bars.evaluate_all(
        "rects => rects.map(r => ['x', 'y', 'width', 'height'].map(name => r.getAttribute(name)))")
    for values in attributes:
        for value in values:
            assert "," not in value, f"localised SVG coordinate {value!r}"
            float(value)  # a plain number
    # The browser read every coordinate: the bars of the days with orders have a real size.
    sizes = bars.evaluate_all("rects => rects.map(r => { const box = r.getBBox(); "
                              "return [box.width, box.height, Number(r.dataset.count)]; })")
    assert all(width > 0 for width, _height, _count in sizes)
    drawn = [(height, count) for _width, height, count in sizes if count]
    assert sorted(count for _height, count in drawn) == [1, 2, 3]
    assert all(height > 0 for height, _count in drawn)
    assert max(drawn)[1] == 3  # the tallest bar is the busiest day
    for rect_box in (bars.nth(i).bounding_box() for i in range(30) if sizes[i][2]):
        assert rect_box is not None and rect_box["width"] > 0 and rect_box["height"] > 0
    assert not errors, errors
