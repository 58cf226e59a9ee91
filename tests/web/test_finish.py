"""The back office's finish: styled error pages, a favicon, one active menu item, coloured status badges."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import RequestFactory
from django.utils import timezone, translation
from django.views import defaults

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.services import amazon_store_create
from saleschannel.core.roles import ADMINISTRATOR, VIEWER
from saleschannel.sales.models import Order, OrderState
from saleschannel.web.templatetags import backoffice
from tests import factories
from tests.factories import client_for, make_role_user

APP_CSS = Path(finders.find("web/app.css"))


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False  # Django's technical 404 page only shows in debug mode


@pytest.fixture
def amazon_store(store):
    return amazon_store_create(
        name="Amazon US", seller_id="A1SELLER", region="NA", marketplace_ids=["ATVPDKIKX0DER"], store=store,
        client_id="client", client_secret="secret", refresh_token="refresh",  # noqa: S106
        endpoint_override="http://127.0.0.1:9", token_url_override="http://127.0.0.1:9/auth/o2/token",
    )


def _amazon_order(amazon_store, status, commerce_order=None, number="111-0000001-0000001"):
    return AmazonOrder.objects.create(
        store=amazon_store, amazon_order_id=number, status=status, amazon_status=status,
        commerce_order=commerce_order, buyer_name="Alice Martin", currency="USD", order_total="10.00",
        purchase_date=timezone.now(), notes="Cannot create sales order: out of stock",
    )


# --- Error pages and favicon ---------------------------------------------------------------------------------------

def test_a_missing_page_gives_the_styled_404(db):
    client = client_for(make_role_user(ADMINISTRATOR))
    response = client.get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'class="panel error-page"' in page and "Page not found" in page and "What you can do" in page
    assert 'class="sidebar"' in page and 'id="error-home" href="/"' not in page  # the back office's own look
    assert "/no/such/page/" in page
    # A missing object behind a real URL too.
    response = client.get("/sales/orders/999999/")
    assert response.status_code == 404 and "error-page" in response.content.decode()


def test_the_404_page_in_french_and_for_a_visitor(client, db):
    client.cookies["django_language"] = "fr"
    page = client.get("/no/such/page/").content.decode()
    assert "Page non trouvée" in page and "Ce que vous pouvez faire" in page
    assert '<html lang="fr">' in page
    assert 'href="/login/"' in page  # a visitor is offered to sign in, and sees no user menu
    assert "Déconnexion" not in page and "Sign out" not in page


def test_a_forbidden_action_gives_the_styled_403(order):
    client = client_for(make_role_user(VIEWER))
    response = client.post(f"/sales/orders/{order.pk}/hold/")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="panel error-page"' in page and "Access denied" in page and "Nothing was changed." in page
    assert Order.objects.get(pk=order.pk).state != OrderState.HOLDED
    assert client.get("/settings/users/").status_code == 403


def test_django_permission_denied_renders_the_styled_403(db):
    request = RequestFactory().get("/somewhere/")
    request.user = make_role_user(VIEWER)
    response = defaults.permission_denied(request, PermissionDenied())
    assert response.status_code == 403 and "error-page" in response.content.decode()


def test_the_500_template_renders_without_context_or_database():
    # No database fixture: pytest-django fails the test if rendering touches the database.
    page = loader.get_template("500.html").render()
    response = defaults.server_error(RequestFactory().get("/"))
    assert "Something went wrong on our side" in page and "What you can do" in page and "favicon.svg" in page
    assert response.status_code == 500 and "error-page" in response.content.decode()
    with translation.override("fr"):
        page = loader.get_template("500.html").render()
    assert '<html lang="fr">' in page and "Un problème est survenu de notre côté" in page


def test_every_page_links_the_favicon(db):
    assert finders.find("web/favicon.svg")
    assert "<svg" in Path(finders.find("web/favicon.svg")).read_text()
    client = client_for(make_role_user(ADMINISTRATOR))
    for url in ("/", "/login/"):
        page = client.get(url, follow=True).content.decode()
        assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in page, url


# --- One active menu item ------------------------------------------------------------------------------------------

ACTIVE = re.compile(r'<a href="([^"]+)" class="active" aria-current="page">')


def test_exactly_one_menu_item_is_active_on_every_page(order, amazon_store):
    amazon_order = _amazon_order(amazon_store, AmazonOrderStatus.UNSHIPPED)
    client = client_for(make_role_user(ADMINISTRATOR))
    expected = {
        "/": "/",
        "/sales/orders/": "/sales/orders/",
        f"/sales/orders/{order.pk}/": "/sales/orders/",
        f"/sales/orders/{order.pk}/invoice/new/": "/sales/orders/",
        "/sales/invoices/": "/sales/invoices/",
        "/catalog/products/": "/catalog/products/",
        "/customers/": "/customers/",
        "/amazon/": "/amazon/",
        f"/amazon/stores/{amazon_store.pk}/": "/amazon/",
        "/amazon/orders/": "/amazon/orders/",
        f"/amazon/orders/{amazon_order.pk}/": "/amazon/orders/",
        "/settings/users/": "/settings/users/",
        "/settings/stores/new/": "/settings/stores/",
    }
    for url, active in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert ACTIVE.findall(response.content.decode()) == [active], url


def test_single_active_picks_the_longest_matching_url():
    menu = [{"key": "amazon", "items": [{"url": "/amazon/", "active": True}, {"url": "/amazon/orders/",
                                                                               "active": True}]},
            {"key": "dashboard", "items": [{"url": "/", "active": False}]}]
    marked = backoffice.single_active(menu, "/amazon/orders/12/")
    assert [item["active"] for section in marked for item in section["items"]] == [False, True, False]
    marked = backoffice.single_active(menu, "/password/")
    assert not any(item["active"] for section in marked for item in section["items"])


# --- Status badges -------------------------------------------------------------------------------------------------

def _contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        colour = colour.lstrip("#")
        if len(colour) == 3:
            colour = "".join(c * 2 for c in colour)
        channels = [int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_state_has_a_badge_family_with_readable_colours():
    assert set(backoffice.ORDER_STATE_BADGES) == set(OrderState.values)
    assert set(backoffice.AMAZON_STATUS_BADGES) == set(AmazonOrderStatus.values)
    used = set(backoffice.ORDER_STATE_BADGES.values()) | set(backoffice.AMAZON_STATUS_BADGES.values())
    assert used <= set(backoffice.BADGE_FAMILIES)
    # The families the issue names are told apart.
    families = {backoffice.ORDER_STATE_BADGES[s] for s in ("new", "processing", "complete", "closed", "canceled",
                                                           "holded")}
    assert len(families) == 6 and backoffice.AMAZON_STATUS_BADGES["Error"] == "error"
    css = APP_CSS.read_text()
    for family in backoffice.BADGE_FAMILIES:
        pattern = r"\.badge\.state-" + family + r" \{ background:(#[0-9a-f]{3,6}); color:(#[0-9a-f]{3,6}); \}"
        rule = re.search(pattern, css)
        assert rule, family
        assert _contrast(rule.group(2), rule.group(1)) >= 4.5, family  # WCAG AA for normal text
    assert backoffice.state_badge("holded") == "badge state-hold"
    assert backoffice.amazon_badge("Error") == "badge state-error"
    assert backoffice.state_badge("no-such-state") == "badge state-closed"


def test_pages_show_the_status_badges(order, amazon_store, store, products):
    client = client_for(make_role_user(ADMINISTRATOR))
    held = factories.make_order(store=store, items=[factories.line(products[1], 1)])
    client.post(f"/sales/orders/{held.pk}/hold/")
    assert Order.objects.get(pk=held.pk).state == OrderState.HOLDED
    failed = _amazon_order(amazon_store, AmazonOrderStatus.ERROR)
    _amazon_order(amazon_store, AmazonOrderStatus.SHIPPED, commerce_order=order, number="111-0000002-0000002")

    grid = client.get("/sales/orders/").content.decode()
    assert f'class="badge state-{backoffice.badge_family(order.state)}"' in grid
    assert 'class="badge state-hold"' in grid
    view = client.get(f"/sales/orders/{held.pk}/").content.decode()
    assert re.search(r'<span class="badge state-hold" data-state="holded" id="order-status">', view)
    dashboard = client.get("/").content.decode()
    assert 'class="badge state-hold"' in dashboard
    amazon_grid = client.get("/amazon/orders/").content.decode()
    assert 'class="badge state-error"' in amazon_grid and 'class="badge state-complete"' in amazon_grid
    store_dashboard = client.get(f"/amazon/stores/{amazon_store.pk}/").content.decode()
    assert 'class="badge state-error"' in store_dashboard
    detail = client.get(f"/amazon/orders/{failed.pk}/").content.decode()
    assert 'class="badge state-error"' in detail
