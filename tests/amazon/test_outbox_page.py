"""The outbox page: every message to Amazon across stores, filters, permissions, Retry by the rule, empty state."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from saleschannel.amazon import services
from saleschannel.amazon.models import ChannelSettings, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.services import amazon_store_create
from saleschannel.core.roles import OPERATOR, VIEWER
from tests import factories
from tests.amazon.test_views import make_amazon_order
from tests.factories import client_for, make_role_user

URL = "/amazon/outbox/"
_keys = iter(range(1, 10**6))


@pytest.fixture
def operator(db):
    return client_for(make_role_user(OPERATOR))


@pytest.fixture
def viewer(db):
    return client_for(make_role_user(VIEWER))


def _store(store, name: str, seller: str):
    return amazon_store_create(name=name, seller_id=seller, marketplace_ids=["ATVPDKIKX0DER"], store=store,
                               client_id="c", client_secret="s", refresh_token="r",
                               endpoint_override="http://127.0.0.1:9/",
                               token_url_override="http://127.0.0.1:9/auth/o2/token")


@pytest.fixture
def stores(store):
    return _store(store, "Seller US", "A1US"), _store(store, "Seller CA", "A1CA")


def _message(order, kind=OutboxKind.SHIPMENT, state=OutboxState.QUEUED, **fields) -> OutboxMessage:
    key = next(_keys)
    if kind == OutboxKind.SHIPMENT:
        fields.setdefault("package_reference_id", key)
    return OutboxMessage.objects.create(amazon_order=order, kind=kind, state=state,
                                        idempotency_key=f"page-{key}", **fields)


def _rows(page: str) -> int:
    return page.count("data-message=")


def test_lists_every_store_with_links_and_filters(viewer, stores):
    us, ca = stores
    us_order, ca_order = make_amazon_order(us), make_amazon_order(ca, invoiced=False)
    shipped = _message(us_order)
    dead = _message(ca_order, kind=OutboxKind.CANCEL, state=OutboxState.DEAD, last_error="bad reason")
    old = _message(us_order, kind=OutboxKind.REFUND, state=OutboxState.ACCEPTED)
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))

    page = viewer.get(URL).content.decode()
    assert _rows(page) == 3 and "3 records found" in page
    assert f'href="/amazon/orders/{us_order.pk}/?tab=log"' in page and us_order.amazon_order_id in page
    assert f'href="/sales/orders/{us_order.commerce_order_id}/"' in page
    assert "Seller US" in page and "Seller CA" in page and "bad reason" in page

    page = viewer.get(URL, {"state": ["dead"]}).content.decode()
    assert _rows(page) == 1 and f'data-message="{dead.pk}"' in page
    page = viewer.get(URL, {"store": us.pk}).content.decode()
    assert _rows(page) == 2 and f'data-message="{dead.pk}"' not in page
    page = viewer.get(URL, {"kind": ["shipment", "cancel"]}).content.decode()
    assert _rows(page) == 2 and f'data-message="{old.pk}"' not in page
    today = timezone.localdate()
    page = viewer.get(URL, {"created_from": (today - timedelta(days=1)).isoformat()}).content.decode()
    assert _rows(page) == 2 and f'data-message="{old.pk}"' not in page
    page = viewer.get(URL, {"created_to": (today - timedelta(days=5)).isoformat()}).content.decode()
    assert _rows(page) == 1 and f'data-message="{old.pk}"' in page
    page = viewer.get(URL, {"state": ["sending"]}).content.decode()
    assert _rows(page) == 0 and "No message matches these filters." in page
    assert viewer.get(URL, {"created_from": "2026-02-02", "created_to": "2026-02-01"}).status_code == 400
    assert viewer.get(URL, {"state": ["nonsense"]}).status_code == 400
    assert shipped.pk  # listed above


def test_pagination(viewer, stores):
    order = make_amazon_order(stores[0])
    for _n in range(55):
        _message(order, kind=OutboxKind.CANCEL)
    page = viewer.get(URL).content.decode()
    assert _rows(page) == 50 and "Page 1 of 2" in page
    assert _rows(viewer.get(URL, {"page": 2}).content.decode()) == 5


def test_viewing_needs_the_view_permission(db, stores):
    user = factories.make_staff()  # may process orders, but not read the outbox
    user.user_permissions.add(Permission.objects.get(codename="view_amazonorder"))
    assert client_for(user).get(URL).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_outboxmessage"))
    assert client_for(type(user).objects.get(pk=user.pk)).get(URL).status_code == 200


def test_viewers_see_no_retry_and_cannot_retry(viewer, stores):
    order = make_amazon_order(stores[0])
    failed = _message(order, state=OutboxState.FAILED)
    page = viewer.get(URL).content.decode()
    assert "data-retry" not in page
    assert viewer.post(f"/amazon/outbox/{failed.pk}/retry/", {"next": URL}).status_code == 403


def test_retry_where_the_rule_allows_it_and_its_reason_elsewhere(operator, stores):
    order = make_amazon_order(stores[0])
    dead = _message(order, state=OutboxState.DEAD, attempts=8)
    accepted = _message(order, kind=OutboxKind.CANCEL, state=OutboxState.ACCEPTED)
    page = operator.get(URL).content.decode()
    assert f'data-retry="{dead.pk}"' in page and f'data-retry="{accepted.pk}"' not in page
    assert "Only a failed message can be retried; this one is Accepted." in page

    ChannelSettings.objects.update_or_create(pk=1, defaults={"read_only": True})  # keep the retry queued
    response = operator.post(f"/amazon/outbox/{dead.pk}/retry/", {"next": f"{URL}?state=dead"})
    assert response.status_code == 302 and response["Location"] == f"{URL}?state=dead"
    dead.refresh_from_db()
    assert dead.state == OutboxState.QUEUED and dead.attempts == 0
    response = operator.post(f"/amazon/outbox/{accepted.pk}/retry/", {"next": URL}, follow=True)
    assert "Only a failed message can be retried" in response.content.decode()
    assert response.redirect_chain[-1][0] == URL
    response = operator.post(f"/amazon/outbox/{accepted.pk}/retry/", {"next": "https://evil.example/"})
    assert response["Location"].startswith(f"/amazon/orders/{order.pk}/")


def test_a_risky_retry_asks_for_confirmation_and_comes_back(operator, stores, monkeypatch):
    order = make_amazon_order(stores[0])
    refund = _message(order, kind=OutboxKind.REFUND, state=OutboxState.FAILED, outcome_unknown=True,
                      feed_submitted_at=timezone.now(), payload={"creditmemo_number": "C1", "total": "5.00",
                                                                 "currency": "USD"})
    page = operator.get(URL).content.decode()
    assert f'data-retry="{refund.pk}"' in page and "data-needs-confirmation" in page

    def needs_confirmation(*, message, actor, confirmed=False):
        raise services.RetryNeedsConfirmation("Sending it again may refund the buyer twice.")

    monkeypatch.setattr(services, "outbox_retry", needs_confirmation)
    response = operator.post(f"/amazon/outbox/{refund.pk}/retry/", {"next": f"{URL}?kind=refund"})
    page = response.content.decode()
    assert response.status_code == 409 and "may refund the buyer twice" in page
    assert f'name="next" value="{URL}?kind=refund"' in page  # the confirmation comes back to the outbox page


def test_empty_state_says_nothing_yet_and_what_will_appear(viewer, db):
    page = viewer.get(URL).content.decode()
    assert "Nothing sent to Amazon yet." in page and "will appear here" in page
    assert "Nothing sent to Amazon yet." not in viewer.get(URL, {"state": ["dead"]}).content.decode()
    orders = viewer.get("/amazon/orders/").content.decode()
    assert "No Amazon orders yet." in orders


def test_empty_state_in_french(viewer, db):
    viewer.cookies["django_language"] = "fr"
    page = viewer.get(URL).content.decode()
    assert "Rien n'a encore été envoyé à Amazon." in page or "Rien n&#x27;a encore été envoyé à Amazon." in page


def test_store_dashboard_tile_links_to_the_page(viewer, stores):
    order = make_amazon_order(stores[0])
    _message(order)
    page = viewer.get(f"/amazon/stores/{stores[0].pk}/").content.decode()
    assert 'id="outbox-link"' in page
    assert f"/amazon/outbox/?store={stores[0].pk}&amp;state=queued" in page


def test_the_page_is_in_the_navigation(viewer):
    assert 'href="/amazon/outbox/"' in viewer.get("/").content.decode()


def test_query_count_does_not_grow_with_the_rows(viewer, stores, django_assert_num_queries):
    us, ca = stores
    for store in (us, ca):
        for _n in range(3):
            order = make_amazon_order(store)
            _message(order, state=OutboxState.FAILED)
            _message(order, kind=OutboxKind.CANCEL, state=OutboxState.ACCEPTED)
    viewer.get(URL)  # warm the session and caches
    with django_assert_num_queries(QUERIES):
        page = viewer.get(URL, {"state": ["failed", "accepted"]}).content.decode()
    assert _rows(page) == 12


QUERIES = 12  # session, user, 2 × permissions, stores, count, the page; 5 for the layout's notices (ship-by: 1)


def test_only_its_menu_item_is_active(viewer):
    page = viewer.get(URL).content.decode()
    assert re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', page) == [URL]
