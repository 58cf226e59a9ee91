"""The back office's layout at a common laptop width (1,440 × 900): tiles in one row, grids without side-scrolling."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.services import amazon_store_create
from saleschannel.core.roles import ADMINISTRATOR
from saleschannel.sales import services
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1440, 900


@pytest.fixture
def busy_shop(transactional_db):
    """Orders in several states, with long names and big totals, half of them from Amazon."""
    store = factories.make_store(code="us", currency="USD", prefix="US", name="United States Store View")
    amazon_store = amazon_store_create(
        name="Amazon US Marketplace", seller_id="A1SELLER", region="NA", marketplace_ids=["ATVPDKIKX0DER"],
        store=store, client_id="client", client_secret="secret", refresh_token="refresh",  # noqa: S106
        endpoint_override="http://127.0.0.1:9", token_url_override="http://127.0.0.1:9/auth/o2/token",
    )
    lamp = factories.make_product(sku="LAMP-ARTICULATED-DESK-1", name="Articulated Desk Lamp", price="1245.00",
                                  qty=500)
    statuses = list(AmazonOrderStatus.values)
    for i in range(12):
        order = factories.make_order(
            store=store, items=[factories.line(lamp, 9)], shipping_amount="99.99",
            customer_email=f"maximilienne.delacroix-{i}@example.com", customer_first_name="Maximilienne-Charlotte",
            customer_last_name="de la Tour-Delacroix",
            billing_address=dict(factories.ADDRESS, first_name="Maximilienne-Charlotte",
                                 last_name="de la Tour-Delacroix"),
            origin="amazon" if i % 2 else "backoffice",
            external_order_number=f"114-{1000000 + i}-{2000000 + i}" if i % 2 else "",
        )
        if i % 3 == 1:
            services.order_hold(order=order, actor="tests")
        if i % 2:
            AmazonOrder.objects.create(
                store=amazon_store, amazon_order_id=order.external_order_number, commerce_order=order,
                status=statuses[i % len(statuses)], amazon_status=statuses[i % len(statuses)],
                buyer_name="Maximilienne-Charlotte de la Tour-Delacroix", currency="USD",
                order_total=Decimal("11305.00"), purchase_date=timezone.now() - datetime.timedelta(hours=i),
                notes="Cannot create sales order: Product \"LAMP-ARTICULATED-DESK-1\" in order is not salable",
            )
    return {"store": store, "amazon_store": amazon_store}


@pytest.fixture
def wide_page(browser, live_server, busy_shop):
    user = factories.make_role_user(ADMINISTRATOR)
    client = factories.client_for(user)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="en-US")
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _no_horizontal_scroll(page):
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    widest = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .concat([...document.querySelectorAll('table.grid th')].map(e => e.textContent.trim().slice(0, 20) + ':'
                + Math.round(e.getBoundingClientRect().width)))""", WIDTH)
    assert scroll_width <= WIDTH, f"{page.url} is {scroll_width}px wide; past the edge: {widest}"


def _one_row(page, selector: str, count: int):
    tiles = page.locator(selector)
    expect(tiles).to_have_count(count)
    tops = {round(box["y"]) for box in (tiles.nth(i).bounding_box() for i in range(count))}
    assert len(tops) == 1, f"{selector} on {page.url} wraps onto {len(tops)} rows"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_dashboards_and_order_grid_fit_1440px(live_server, wide_page, busy_shop, language):
    page = wide_page
    page.context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language,
                               "url": live_server.url}])

    page.goto(f"{live_server.url}/")
    _one_row(page, ".stats > .stat", 3)
    _no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/amazon/stores/{busy_shop['amazon_store'].pk}/")
    _one_row(page, "#sync-health > .stat", 5)
    _no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/sales/orders/")
    expect(page.locator("#order-grid tbody tr")).to_have_count(12)
    _no_horizontal_scroll(page)
    # Nothing in the grid is cut off either: the table fits its scroll box, and "View" is on screen.
    assert page.evaluate("(() => { const box = document.querySelector('.table-scroll');"
                         " return box.scrollWidth <= box.clientWidth; })()")
    view = page.locator("#order-grid tbody tr").first.locator("a", has_text="View" if language == "en" else "Afficher")
    box = view.bounding_box()
    assert box["x"] + box["width"] <= WIDTH
    # The status badges are coloured by state.
    expect(page.locator("#order-grid tbody .badge.state-hold").first).to_be_visible()
    expect(page.locator("#order-grid tbody .badge.state-new").first).to_be_visible()

    page.goto(f"{live_server.url}/amazon/orders/")
    _no_horizontal_scroll(page)
