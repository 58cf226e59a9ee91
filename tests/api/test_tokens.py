"""Personal API tokens: shown once and stored hashed, expiry, revocation, last use; the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from saleschannel.api.models import ApiToken
from saleschannel.api.tokens import ApiTokenError, hash_token, token_create, token_revoke
from tests.api.conftest import ApiClient

ORDERS = "/api/v1/orders"


def test_token_is_stored_hashed_and_works_once_created(operator):
    new = token_create(user=operator, name="Warehouse", expires_days=30)
    stored = ApiToken.objects.get(pk=new.token.pk)
    assert new.secret.startswith(stored.prefix + "_")
    assert stored.token_hash == hash_token(new.secret)
    assert new.secret not in {stored.token_hash, stored.prefix, stored.name}
    assert timedelta(days=29) < stored.expires_at - timezone.now() <= timedelta(days=30)
    assert stored.last_used_at is None

    response = ApiClient(new.secret).get(ORDERS)
    assert response.status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer sc_nope_nope", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000, "Bearer sc_\u0663\u0663",
])
def test_missing_or_unknown_token_is_401_problem(db, header):
    client = ApiClient(None)
    response = client.get(ORDERS, headers={"Authorization": header} if header else None)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


def test_expired_revoked_and_inactive_tokens_are_refused(operator, viewer):
    expired = token_create(user=operator, name="old", expires_days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = ApiClient(expired.secret).get(ORDERS)
    assert refused.status_code == 401 and refused["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "unauthorized"

    revoked = token_create(user=operator, name="revoked")
    assert ApiClient(revoked.secret).get(ORDERS).status_code == 200
    token_revoke(token=revoked.token)
    assert ApiClient(revoked.secret).get(ORDERS).status_code == 401

    inactive = token_create(user=viewer, name="viewer")
    viewer.is_active = False
    viewer.save()
    assert ApiClient(inactive.secret).get(ORDERS).status_code == 401


def test_a_browser_session_does_not_open_the_api(operator):
    from django.test import Client

    browser = Client()
    browser.force_login(operator)
    assert browser.get(ORDERS).status_code == 401


@pytest.mark.parametrize(("name", "days"), [("", None), ("x" * 101, None), ("ok", 0), ("ok", 100000)])
def test_bad_names_and_expiries_are_refused(operator, name, days):
    with pytest.raises(ApiTokenError):
        token_create(user=operator, name=name, expires_days=days)
    assert not ApiToken.objects.exists()


def test_cli_expires_in_days(operator, capsys):
    call_command("api", "token", "create", "--user", operator.username, "--name", "ERP", "--expires-in-days", "90")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert ApiClient(secret).get(ORDERS).status_code == 200
    call_command("api", "token", "list")
    assert timezone.localtime(token.expires_at).strftime("%Y-%m-%d") in capsys.readouterr().out
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert ApiClient(secret).get(ORDERS).status_code == 401
    call_command("api", "token", "list")
    assert "expired" in capsys.readouterr().out


def test_cli_says_when_a_token_never_expires(operator, capsys):
    call_command("api", "token", "create", "--user", operator.username, "--name", "Forever")
    assert "(Operator), never expires." in capsys.readouterr().out
    call_command("api", "token", "create", "--user", operator.username, "--name", "Week", "--expires-days", "7")
    week = ApiToken.objects.get(name="Week")
    assert f"expires {timezone.localtime(week.expires_at):%Y-%m-%d %H:%M}." in capsys.readouterr().out


def test_cli_create_list_revoke(operator, capsys):
    call_command("api", "token", "create", "--user", operator.username, "--name", "WMS", "--expires-days", "7")
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(secret) and token.name == "WMS" and token.user == operator
    assert "Operator" in out and "will not be shown again" in out
    assert ApiClient(secret).get(ORDERS).status_code == 200

    call_command("api", "token", "list")
    listing = capsys.readouterr().out
    assert token.prefix in listing and "WMS" in listing and "active" in listing
    assert secret not in listing

    call_command("api", "token", "revoke", token.prefix)
    assert "Revoked" in capsys.readouterr().out
    assert ApiClient(secret).get(ORDERS).status_code == 401
    call_command("api", "token", "list", "--user", operator.username)
    assert "revoked" in capsys.readouterr().out


def test_cli_refusals(operator):
    with pytest.raises(CommandError, match="No user"):
        call_command("api", "token", "create", "--user", "ghost", "--name", "x")
    with pytest.raises(CommandError, match="No API token"):
        call_command("api", "token", "revoke", "sc_missing")
    with pytest.raises(CommandError, match="between 1 and"):
        call_command("api", "token", "create", "--user", operator.username, "--name", "x", "--expires-days", "0")


def test_the_console_script_has_the_api_command():
    from django.core.management import get_commands

    assert get_commands()["api"] == "saleschannel.api"


def test_posts_with_a_token_need_no_csrf_token(operator, order):
    """Programs send no CSRF token: the API authenticates by bearer token only, never by the session cookie."""
    from django.test import Client

    secret = token_create(user=operator, name="csrf").secret
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/api/v1/orders/{order.pk}/hold", "{}", content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.content


def test_administrators_revoke_tokens_in_the_django_admin(administrator, operator):
    from django.test import Client

    new = token_create(user=operator, name="Warehouse")
    browser = Client()
    browser.force_login(administrator)
    listing = browser.get("/django-admin/api/apitoken/")
    assert listing.status_code == 200 and new.token.prefix in listing.content.decode()
    assert new.secret not in listing.content.decode()
    assert browser.get("/django-admin/api/apitoken/add/").status_code == 403
    revoked = browser.post("/django-admin/api/apitoken/", {"action": "revoke", "_selected_action": [new.token.pk]},
                           follow=True)
    assert "1 token revoked." in revoked.content.decode()
    new.token.refresh_from_db()
    assert new.token.revoked_at is not None
    assert ApiClient(new.secret).get(ORDERS).status_code == 401
