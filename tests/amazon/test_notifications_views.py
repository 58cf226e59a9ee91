"""The "Real-time notifications" page of an Amazon store and the dashboard's panel (no Amazon needed: the setup
itself is tested against the sandbox in test_notifications.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from saleschannel.amazon.models import NotificationDeadLetter, StoreNotifications
from saleschannel.amazon.services import amazon_store_create
from saleschannel.core.roles import ADMINISTRATOR, VIEWER
from tests.factories import client_for, make_role_user

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/amazon-orders"


@pytest.fixture
def amazon_store(store):
    return amazon_store_create(name="Seller US", seller_id="A1SELLER", marketplace_ids=["ATVPDKIKX0DER"],
                               store=store, client_id="amzn1.application-oa2-client.x", client_secret="s3cr3t",
                               refresh_token="Atzr|x", endpoint_override="http://127.0.0.1:9/",
                               token_url_override="http://127.0.0.1:9/auth/o2/token")


def test_administrators_configure_aws_and_secrets_stay_hidden(db, amazon_store):
    admin = client_for(make_role_user(ADMINISTRATOR))
    page = f"/amazon/stores/{amazon_store.pk}/notifications/"
    assert admin.get(page).status_code == 200
    response = admin.post(page, {"mode": "aws", "queue_url": QUEUE, "aws_region": "eu-west-1"})
    assert response.status_code == 400  # AWS needs the keys
    response = admin.post(page, {"mode": "aws", "queue_url": QUEUE, "aws_region": "eu-west-1",
                                 "access_key_id": "AKIAEXAMPLE", "secret_access_key": "the-secret"})
    assert response.status_code == 302
    settings = StoreNotifications.objects.get(store=amazon_store)
    assert settings.mode == "aws" and settings.aws_keys() == ("AKIAEXAMPLE", "the-secret")
    assert "the-secret" not in settings.secret_access_key_encrypted
    html = admin.get(page).content.decode()
    assert "the-secret" not in html and "AKIAEXAMPLE" not in html and "•••• set" in html
    # Saving again without the keys keeps them.
    assert admin.post(page, {"mode": "aws", "queue_url": QUEUE, "aws_region": "eu-west-1"}).status_code == 302
    assert StoreNotifications.objects.get(store=amazon_store).aws_keys() == ("AKIAEXAMPLE", "the-secret")
    viewer = client_for(make_role_user(VIEWER))
    assert viewer.get(page).status_code == 403


def test_dashboard_shows_the_health_of_notifications(db, amazon_store):
    viewer = client_for(make_role_user(VIEWER))
    dashboard = f"/amazon/stores/{amazon_store.pk}/"
    assert 'id="notifications-health"' not in viewer.get(dashboard).content.decode()  # off: nothing shown
    StoreNotifications.objects.create(store=amazon_store, mode="sandbox", queue_url=QUEUE, subscription_id="s-1",
                                      last_poll_at=timezone.now(), last_received_at=timezone.now(),
                                      last_lag_seconds=2.5, sweep_unannounced_total=3)
    NotificationDeadLetter.objects.create(store=amazon_store, message_id="m-1", note="Unreadable message")
    html = viewer.get(dashboard).content.decode()
    assert 'id="notifications-health"' in html and "2.5 s" in html
    assert 'data-testid="notifications-unannounced">3<' in html and "1 dead letter" in html
    assert "every 15 min" in html
    StoreNotifications.objects.filter(store=amazon_store).update(queue_error="EndpointConnectionError: refused")
    html = viewer.get(dashboard).content.decode()
    assert "Not working" in html and "EndpointConnectionError" in html and "every 5 min" in html
