"""Settings › Webhooks: administrators only; the secret shown once; edit, disable, delete after confirmation; the
delivery log with its Redeliver button; the notice of an endpoint disabled after failures."""

from __future__ import annotations

import pytest

from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.api.webhooks import webhook_endpoint_create
from saleschannel.core import events
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests import factories
from tests.api.test_webhooks import Receiver
from tests.factories import client_for, make_role_user

LIST = "/settings/webhooks/"


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.API_WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def admin_client(db):
    return client_for(make_role_user(ADMINISTRATOR, username="admin-hooks"))


@pytest.fixture
def endpoint(db):
    return webhook_endpoint_create(url="https://wms.example.com/hooks", events=["shipment.created"]).endpoint


@pytest.mark.parametrize("role", [OPERATOR, VIEWER])
def test_only_administrators_see_and_use_the_screens(db, endpoint, role):
    client = client_for(make_role_user(role))
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id="0" * 32, kind="shipment.created",
                                              payload={}, occurred_at=endpoint.created_at)
    for url in (LIST, f"{LIST}new/", f"{LIST}{endpoint.pk}/", f"{LIST}{endpoint.pk}/deliveries/",
                f"{LIST}{endpoint.pk}/delete/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{LIST}{endpoint.pk}/delete/").status_code == 403
    assert client.post(f"{LIST}{endpoint.pk}/disable/").status_code == 403
    assert client.post(f"{LIST}deliveries/{delivery.pk}/redeliver/").status_code == 403
    assert client.post(f"{LIST}new/", {"url": "https://evil.example.com/"}).status_code == 403
    assert WebhookEndpoint.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    endpoint.refresh_from_db()
    assert endpoint.active
    assert LIST not in client.get("/").content.decode()  # not in their menu


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_empty_states_say_what_will_appear(admin_client, db):
    page = admin_client.get(LIST).content.decode()
    assert 'id="webhook-empty"' in page and "appear here" in page
    assert LIST in admin_client.get("/").content.decode()  # Settings › Webhooks in the menu
    endpoint = webhook_endpoint_create(url="https://erp.example.com/in").endpoint
    page = admin_client.get(f"{LIST}{endpoint.pk}/deliveries/").content.decode()
    assert 'id="deliveries-empty"' in page


def test_creation_shows_the_secret_once(admin_client, db):
    response = admin_client.post(f"{LIST}new/", {"url": "https://erp.example.com/in", "description": "ERP",
                                                  "events": ["invoice.created", "creditmemo.created"], "active": "on"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    secret = page.split('id="webhook-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    assert endpoint.events == ["invoice.created", "creditmemo.created"]
    assert endpoint.created_by.get_username() == "admin-hooks"
    for url in (LIST, f"{LIST}{endpoint.pk}/", f"{LIST}{endpoint.pk}/deliveries/"):
        assert secret not in admin_client.get(url).content.decode()


def test_bad_url_is_refused_next_to_the_field(admin_client, db):
    response = admin_client.post(f"{LIST}new/", {"url": "http://example.com/in", "active": "on"})
    assert response.status_code == 400
    assert "https://" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_edit_disable_and_delete_after_confirmation(admin_client, endpoint):
    response = admin_client.post(f"{LIST}{endpoint.pk}/", {"url": "https://wms.example.com/v2", "active": "on",
                                                            "events": ["order.created"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.active) == ("https://wms.example.com/v2", ["order.created"], True)

    assert admin_client.post(f"{LIST}{endpoint.pk}/disable/").status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert admin_client.get(f"{LIST}{endpoint.pk}/disable/").status_code == 405

    confirm = admin_client.get(f"{LIST}{endpoint.pk}/delete/")
    assert confirm.status_code == 200 and 'id="webhook-delete-confirm"' in confirm.content.decode()
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()  # asking deletes nothing
    assert admin_client.post(f"{LIST}{endpoint.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_delivery_log_and_redeliver_button(admin_client, store, products, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        receiver.statuses = [500, 200]
        endpoint = webhook_endpoint_create(url=receiver.url).endpoint
        with django_capture_on_commit_callbacks(execute=True):
            factories.make_order(store=store, items=[factories.line(products[0], 1)])
        delivery = WebhookDelivery.objects.get()
        page = admin_client.get(f"{LIST}{endpoint.pk}/deliveries/").content.decode()
        assert f'id="delivery-{delivery.pk}"' in page
        assert "order.created" in page and "500" in page and f'id="redeliver-{delivery.pk}"' in page
        failed_only = admin_client.get(f"{LIST}{endpoint.pk}/deliveries/", {"state": "delivered"}).content.decode()
        assert f'id="delivery-{delivery.pk}"' not in failed_only

        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"{LIST}deliveries/{delivery.pk}/redeliver/")
        assert response.status_code == 302
        again = WebhookDelivery.objects.latest("id")
        assert again.pk != delivery.pk and again.event_id == delivery.event_id and again.state == "delivered"
        assert len(receiver.received) == 2


def test_an_endpoint_disabled_after_failures_shows_a_notice_to_administrators(admin_client, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False,
                                                          disabled_reason="Disabled after 5 failed deliveries.")
    assert "Disabled after 5 failed deliveries." in admin_client.get("/").content.decode()
    operator_page = client_for(make_role_user(OPERATOR)).get("/").content.decode()
    assert "Disabled after 5 failed deliveries." not in operator_page


def test_the_screens_speak_french(admin_client, endpoint):
    admin_client.cookies["django_language"] = "fr"
    pages = {url: admin_client.get(url).content.decode() for url in (
        LIST, f"{LIST}new/", f"{LIST}{endpoint.pk}/", f"{LIST}{endpoint.pk}/deliveries/",
        f"{LIST}{endpoint.pk}/delete/", "/account/api-tokens/")}
    assert "Ajouter un point de terminaison" in pages[LIST]
    assert "Journal des envois" in pages[f"{LIST}{endpoint.pk}/deliveries/"]
    assert "Supprimer le point de terminaison de webhook ?" in pages[f"{LIST}{endpoint.pk}/delete/"]
    assert "Créer le jeton" in pages["/account/api-tokens/"]
    assert "Jetons d&#x27;API" in pages[LIST] or "Jetons d'API" in pages[LIST]  # the user menu link
    for page in pages.values():
        assert "Delivery log" not in page and "No webhook endpoints yet" not in page and "Create Token" not in page


def test_the_form_offers_every_kind_with_when_it_is_sent(admin_client, db):
    page = admin_client.get(f"{LIST}new/").content.decode()
    for kind in events.KINDS:
        assert f'value="{kind}"' in page, kind
    assert "invoice.created — an invoice is created" in page
    assert "outbox.dead — a message to Amazon failed for good (dead-lettered)" in page
    assert events.PRODUCTS_AVAILABLE not in page  # internal, never offered
