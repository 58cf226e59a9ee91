"""The user menu's API tokens screen: a user's own tokens, created (shown once) and revoked after confirmation."""

from __future__ import annotations

from saleschannel.api.models import ApiToken
from saleschannel.api.tokens import token_create
from saleschannel.core.i18n import short_datetime
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests.api.conftest import ApiClient
from tests.factories import client_for, make_role_user

TOKENS = "/account/api-tokens/"


def test_the_user_menu_links_to_the_screen(db):
    page = client_for(make_role_user(VIEWER)).get("/").content.decode()
    assert f'href="{TOKENS}"' in page


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(TOKENS).status_code == 302


def test_a_created_token_is_shown_once_and_works(db):
    user = make_role_user(OPERATOR)
    client = client_for(user)
    page = client.get(TOKENS).content.decode()
    assert 'id="tokens-empty"' in page

    response = client.post(TOKENS, {"name": "Warehouse", "expires_days": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.content.decode().split('id="token-secret">')[1].split("<")[0]
    token = ApiToken.objects.get(user=user)
    assert secret.startswith(token.prefix + "_") and token.name == "Warehouse" and token.expires_at

    listing = client.get(TOKENS).content.decode()
    assert token.prefix in listing and "Warehouse" in listing
    assert short_datetime(token.expires_at) in listing  # the expiry is shown
    assert secret not in listing  # never shown again
    assert ApiClient(secret).get("/api/v1/stores").status_code == 200


def test_bad_input_is_refused(db):
    client = client_for(make_role_user(VIEWER))
    assert client.post(TOKENS, {"name": ""}).status_code == 400
    assert client.post(TOKENS, {"name": "x", "expires_days": "0"}).status_code == 400
    assert not ApiToken.objects.exists()


def test_revoke_asks_then_revokes(db):
    user = make_role_user(VIEWER)
    new = token_create(user=user, name="ERP")
    client = client_for(user)
    confirm = client.get(f"{TOKENS}{new.token.pk}/revoke/")
    assert confirm.status_code == 200 and 'id="token-revoke-confirm"' in confirm.content.decode()
    assert ApiClient(new.secret).get("/api/v1/stores").status_code == 200  # asking revokes nothing

    assert client.post(f"{TOKENS}{new.token.pk}/revoke/").status_code == 302
    new.token.refresh_from_db()
    assert new.token.revoked_at is not None
    assert ApiClient(new.secret).get("/api/v1/stores").status_code == 401
    assert "Revoked" in client.get(TOKENS).content.decode()


def test_nobody_sees_or_revokes_another_users_tokens(db):
    owner = make_role_user(OPERATOR)
    theirs = token_create(user=owner, name="Owner's WMS")
    admin = client_for(make_role_user(ADMINISTRATOR))
    assert "Owner&#x27;s WMS" not in admin.get(TOKENS).content.decode()
    assert admin.get(f"{TOKENS}{theirs.token.pk}/revoke/").status_code == 404
    assert admin.post(f"{TOKENS}{theirs.token.pk}/revoke/").status_code == 404
    theirs.token.refresh_from_db()
    assert theirs.token.revoked_at is None
