"""Sign-in, throttling, password change, language switch, dashboard, notices, navigation and settings screens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from saleschannel.catalog.models import Store
from saleschannel.core import navigation, notices
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER, assign_role, ensure_roles, role_of
from saleschannel.sales import services
from saleschannel.sales.models import OrderStatus
from saleschannel.web import throttle
from tests import factories
from tests.factories import ROLE_USER_PASSWORD as PASSWORD
from tests.factories import client_for, make_role_user


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()
    yield
    cache.clear()


def test_every_page_requires_login(client):
    for url in ("/", "/sales/orders/", "/catalog/products/", "/customers/", "/settings/users/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_login_and_logout(db):
    user = make_role_user(OPERATOR)
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # logging out is a POST (CSRF-protected)
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_throttled_after_repeated_failures(db):
    user = make_role_user(OPERATOR)
    client = Client()
    for _ in range(throttle.MAX_FAILURES):
        response = client.post("/login/", {"username": user.username, "password": "wrong"})
        assert response.status_code == 200 and b"correct" in response.content
    # Now even the right password is refused for a while.
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    cache.clear()
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302


def test_login_is_throttled_per_address_too(db):
    make_role_user(OPERATOR)
    client = Client()
    for i in range(throttle.ADDRESS_MAX_FAILURES):  # a spray: many names from one address
        client.post("/login/", {"username": f"guess{i}", "password": "wrong"})
    response = client.post("/login/", {"username": "operator", "password": PASSWORD})
    assert b"Too many failed sign-in attempts" in response.content


def test_password_change(db):
    user = make_role_user(VIEWER)
    client = client_for(user)
    response = client.post("/password/", {"old_password": PASSWORD, "new_password1": "Fresh-secret-99",
                                          "new_password2": "Fresh-secret-99"}, follow=True)
    assert b"Your password was changed." in response.content
    user.refresh_from_db()
    assert user.check_password("Fresh-secret-99")
    response = client.post("/password/", {"old_password": "nope", "new_password1": "a", "new_password2": "a"})
    assert response.status_code == 200 and b"errorlist" in response.content


def test_switch_to_french(db):
    client = client_for(make_role_user(OPERATOR))
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/sales/orders/"}, follow=True)
    page = response.content.decode()
    assert '<html lang="fr">' in page
    for french in ("Tableau de bord", "Commandes", "Exporter en CSV", "Appliquer les filtres", "Avoirs"):
        assert french in page, french
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    assert "Dashboard" in response.content.decode()


def test_dashboard_figures_exclude_canceled_orders(store, products):
    tshirt, mug, _cap = products
    factories.make_order(store=store, items=[factories.line(tshirt, 1, price="10.00")])
    factories.make_order(store=store, items=[factories.line(mug, 1, price="20.00")],
                         created_at=timezone.now() - dt.timedelta(days=3))
    factories.make_order(store=store, items=[factories.line(mug, 1, price="40.00")],
                         created_at=timezone.now() - dt.timedelta(days=20))
    canceled = factories.make_order(store=store, items=[factories.line(tshirt, 1, price="1000.00")])
    services.order_cancel(order=canceled, actor="tests")
    response = client_for(make_role_user(VIEWER)).get("/")
    periods = {period["days"]: period for period in response.context["periods"]}
    assert (periods[1]["order_count"], periods[1]["revenue"]) == (1, ["$10.00"])
    assert (periods[7]["order_count"], periods[7]["revenue"]) == (2, ["$30.00"])
    assert (periods[30]["order_count"], periods[30]["revenue"]) == (3, ["$70.00"])
    bars = response.context["bars"]
    assert len(bars) == 30 and sum(bar["count"] for bar in bars) == 3
    page = response.content.decode()
    assert "<svg" in page and canceled.number in page  # latest orders list every order, canceled included


def test_notices_area_shows_registered_notices(db):
    def banner(request):
        return [notices.Notice("Your Amazon store(s) has orders that cannot be imported.", level="error",
                               links=[("EU store", "/amazon/stores/1/")])]

    def broken(request):
        raise RuntimeError("provider bug")

    notices.register(banner)
    notices.register(broken)
    try:
        page = client_for(make_role_user(VIEWER)).get("/").content.decode()
    finally:
        notices.unregister(banner)
        notices.unregister(broken)
    assert "cannot be imported" in page and 'href="/amazon/stores/1/"' in page


def test_navigation_has_every_section_and_an_extensible_amazon_section(db):
    user = make_role_user(ADMINISTRATOR)
    titles = [str(section["title"]) for section in navigation.menu_for(user)]
    assert titles == ["Dashboard", "Sales", "Catalog", "Customers", "Amazon", "Settings"]
    before = [item["label"] for s in navigation.menu_for(user) if s["key"] == "amazon" for item in s["items"]]
    navigation.register("amazon", "Test Amazon Entry", "sales:order_list", permission="sales.view_order", order=999)
    try:
        amazon = next(s for s in navigation.menu_for(user) if s["key"] == "amazon")
        assert [item["label"] for item in amazon["items"]] == [*before, "Test Amazon Entry"]
        viewer = make_role_user(VIEWER)
        hidden = [item["label"] for s in navigation.menu_for(viewer) if s["key"] == "settings" for item in s["items"]]
        assert hidden == []
    finally:
        navigation._entries[:] = [e for e in navigation._entries if e.label != "Test Amazon Entry"]
    sales = next(s for s in navigation.menu_for(user) if s["key"] == "sales")
    assert [str(i["label"]) for i in sales["items"]] == ["Orders", "Invoices", "Shipments", "Credit Memos"]


def test_roles_are_groups_with_permissions(db):
    groups = ensure_roles()
    assert set(groups) == {ADMINISTRATOR, OPERATOR, VIEWER}
    user = get_user_model().objects.create_user(username="u1", password=PASSWORD)
    assign_role(user=user, role=OPERATOR)
    user = get_user_model().objects.get(pk=user.pk)
    assert user.has_perm("sales.process_order") and not user.has_perm("auth.change_user")
    assign_role(user=user, role=VIEWER)
    user = get_user_model().objects.get(pk=user.pk)
    assert role_of(user) == VIEWER and user.has_perm("sales.view_order") and not user.has_perm("sales.process_order")
    assert list(user.groups.values_list("name", flat=True)) == [VIEWER]
    assert Group.objects.get(name=ADMINISTRATOR).permissions.filter(codename="change_orderstatus").exists()
    with pytest.raises(ValueError):
        assign_role(user=user, role="Pirate")


def test_createadmin_assigns_the_administrator_role(db):
    from django.core.management import call_command

    call_command("createadmin", username="chief", password="Chief-pass-123", stdout=open("/dev/null", "w"))
    assert role_of(get_user_model().objects.get(username="chief")) == ADMINISTRATOR


def test_settings_order_status_create(db):
    client = client_for(make_role_user(ADMINISTRATOR))
    response = client.post("/settings/statuses/", {"code": "packed", "label": "Packed", "state": "processing"},
                           follow=True)
    assert "You saved the order status." in response.content.decode()
    assert OrderStatus.objects.get(code="packed").state == "processing"
    response = client.post("/settings/statuses/", {"code": "packed", "label": "Again", "state": "processing"})
    assert response.status_code == 400


def test_settings_stores(db):
    client = client_for(make_role_user(ADMINISTRATOR))
    response = client.post("/settings/stores/new/", {"code": "de", "name": "Deutschland", "currency": "eur",
                                                     "locale": "en", "order_number_prefix": "DE",
                                                     "is_active": "on"}, follow=True)
    assert "You saved the store." in response.content.decode()
    store = Store.objects.get(code="de")
    assert store.currency == "EUR"
    response = client.post(f"/settings/stores/{store.pk}/", {"code": "de", "name": "Germany", "currency": "E1R",
                                                            "locale": "en"})
    assert response.status_code == 400 and b"three-letter" in response.content


def test_settings_users(db):
    admin = make_role_user(ADMINISTRATOR)
    client = client_for(admin)
    response = client.post("/settings/users/new/", {"username": "olivia", "email": "o@example.com", "role": OPERATOR,
                                                    "is_active": "on", "password": "Olivia-pass-2024"}, follow=True)
    assert "You saved the user." in response.content.decode()
    olivia = get_user_model().objects.get(username="olivia")
    assert role_of(olivia) == OPERATOR and olivia.check_password("Olivia-pass-2024")
    response = client.post(f"/settings/users/{olivia.pk}/", {"username": "olivia", "role": VIEWER})
    assert response.status_code == 302
    olivia.refresh_from_db()
    assert role_of(olivia) == VIEWER and not olivia.is_active and olivia.check_password("Olivia-pass-2024")
    # No locking yourself out.
    response = client.post(f"/settings/users/{admin.pk}/", {"username": admin.username, "role": VIEWER,
                                                           "is_active": "on"})
    assert response.status_code == 400
    assert "olivia" in client.get("/settings/users/?q=oliv").content.decode()


def test_dates_are_shown_in_the_browsers_time_zone(store, products):
    order = factories.make_order(store=store, items=[factories.line(products[0], 1)],
                                 created_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    client = client_for(make_role_user(VIEWER))
    assert "March 1, 2026" in client.get(f"/sales/orders/{order.pk}/").content.decode().replace("Mar.", "March")
    client.cookies["tz"] = "Asia/Tokyo"
    assert "March 2, 2026" in client.get(f"/sales/orders/{order.pk}/").content.decode().replace("Mar.", "March")
    client.cookies["tz"] = "Not/AZone"
    assert client.get(f"/sales/orders/{order.pk}/").status_code == 200
