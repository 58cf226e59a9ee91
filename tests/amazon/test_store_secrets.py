"""Secrets stay home (issue 11, finding 6; DESIGN.md §4.1).

- Changing the endpoint or LWA token URL override needs the client id, client secret and refresh token again, in the
  same save: through the service, the back-office form and the CLI.
- Overrides are https, or http on loopback only; Amazon's hosts are suggested.
- Test connection never sends stored secrets to a URL they were not saved with: a real HTTP server on loopback plays
  the attacker and must receive nothing.
- Every change of a store's connection is recorded (who, when, which fields), never a value.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.parse import parse_qs

import pytest
from django.core.management import CommandError, call_command

from saleschannel.amazon.destinations import override_url_problem
from saleschannel.amazon.models import AmazonStore, AmazonStoreChange
from saleschannel.amazon.services import (
    AmazonChannelError,
    amazon_store_create,
    amazon_store_order_settings_update,
    amazon_store_test_connection,
    amazon_store_update,
)
from saleschannel.core.roles import ADMINISTRATOR
from tests.factories import client_for, make_role_user

pytestmark = pytest.mark.django_db

CLIENT_ID = "amzn1.application-oa2-client.stored"
SECRET = "amzn1.oa2-cs.v1.stored-client-secret"
REFRESH = "Atzr|stored-refresh-token"
NEW = {"client_id": "amzn1.application-oa2-client.new", "client_secret": "amzn1.oa2-cs.v1.new-secret",
       "refresh_token": "Atzr|new-refresh-token"}
ENDPOINT = "http://127.0.0.1:9"
TOKEN_URL = "http://127.0.0.1:9/auth/o2/token"


# --- The attacker: a real HTTP server on loopback that records what it receives ------------------------------------


class Attacker:
    def __init__(self):
        self.requests: list[dict] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                received.append({"method": self.command, "path": self.path, "body": body,
                                 "headers": dict(self.headers)})
                payload = json.dumps({"error": "invalid_client", "error_description": "nope"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    def everything_received(self) -> str:
        return json.dumps(self.requests)


@pytest.fixture
def attacker():
    server = Attacker()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(5)


@pytest.fixture
def amazon_store(store):
    return amazon_store_create(name="Seller US", seller_id="A1SELLER", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                               client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH,
                               endpoint_override=ENDPOINT, token_url_override=TOKEN_URL, actor="setup")


@pytest.fixture
def admin(db):
    return client_for(make_role_user(ADMINISTRATOR))


def _saved(amazon_store) -> AmazonStore:
    return AmazonStore.objects.get(pk=amazon_store.pk)


def _changes(amazon_store) -> list[AmazonStoreChange]:
    return list(AmazonStoreChange.objects.filter(store=amazon_store).order_by("at", "id"))


# --- Service: a new destination needs the secrets again ------------------------------------------------------


@pytest.mark.parametrize("field", ["endpoint_override", "token_url_override"])
@pytest.mark.parametrize("missing", ["client_id", "client_secret", "refresh_token", "all"])
def test_changing_an_override_without_every_secret_is_refused_and_changes_nothing(amazon_store, attacker, field,
                                                                                    missing):
    target = attacker.url if field == "endpoint_override" else attacker.token_url
    given = {} if missing == "all" else {k: v for k, v in NEW.items() if k != missing}
    with pytest.raises(AmazonChannelError) as refused:
        amazon_store_update(amazon_store=amazon_store, **{field: target}, **given)
    assert "enter the LWA client id, client secret and refresh token again" in refused.value.message
    assert refused.value.field == (missing if missing != "all" else "client_id")
    fresh = _saved(amazon_store)
    assert (fresh.endpoint_override, fresh.token_url_override) == (ENDPOINT, TOKEN_URL)
    assert fresh.credentials().client_secret == SECRET and fresh.credentials().refresh_token == REFRESH
    assert len(_changes(amazon_store)) == 1  # the creation only
    assert attacker.requests == []


@pytest.mark.parametrize("field", ["endpoint_override", "token_url_override"])
def test_changing_an_override_with_every_secret_is_saved_and_recorded(amazon_store, attacker, field):
    target = attacker.url if field == "endpoint_override" else attacker.token_url
    amazon_store_update(amazon_store=amazon_store, **{field: target}, **NEW, actor="alice")
    fresh = _saved(amazon_store)
    assert getattr(fresh, field) == target
    assert fresh.credentials().client_secret == NEW["client_secret"]
    change = _changes(amazon_store)[-1]
    assert change.actor == "alice" and not change.created
    assert change.fields == [field, "client_id", "client_secret", "refresh_token"]
    assert attacker.requests == []  # saving sends nothing


def test_clearing_an_override_is_a_change_too(amazon_store):
    with pytest.raises(AmazonChannelError):
        amazon_store_update(amazon_store=amazon_store, token_url_override="")
    amazon_store_update(amazon_store=amazon_store, token_url_override="", **NEW)
    assert _saved(amazon_store).token_url == "https://api.amazon.com/auth/o2/token"


def test_the_same_destination_needs_no_secret(amazon_store):
    amazon_store_update(amazon_store=amazon_store, endpoint_override=ENDPOINT + "/", token_url_override=TOKEN_URL,
                        name="Renamed", sync_frequency_minutes=7)
    fresh = _saved(amazon_store)
    assert fresh.name == "Renamed" and fresh.credentials().client_secret == SECRET
    assert _changes(amazon_store)[-1].fields == ["name", "endpoint_override"]  # the slash is recorded, not refused


def test_only_the_database_counts_not_an_object_changed_in_memory(amazon_store, attacker):
    amazon_store.token_url_override = attacker.token_url  # as a careless caller might
    with pytest.raises(AmazonChannelError):
        amazon_store_update(amazon_store=amazon_store, name="X")
    with pytest.raises(AmazonChannelError):
        amazon_store_test_connection(amazon_store=amazon_store)
    assert attacker.requests == []
    assert _saved(amazon_store).token_url_override == TOKEN_URL


# --- Service: overrides are https, or http on loopback ----------------------------------------------------------


GOOD_URLS = ["", "https://sellingpartnerapi-eu.amazon.com", "https://sandbox.sellingpartnerapi-na.amazon.com",
             "https://api.amazon.com/auth/o2/token", "https://proxy.example.com:8443/spapi", "http://127.0.0.1:8100",
             "http://127.5.6.7/auth/o2/token", "http://[::1]:9/auth/o2/token", "http://localhost:8100",
             "HTTP://LOCALHOST:8100"]
BAD_URLS = ["http://example.com", "http://sellingpartnerapi-na.amazon.com", "http://10.0.0.1:8100",
            "http://192.168.1.2/auth/o2/token", "ftp://127.0.0.1/token", "https://", "https:///auth/o2/token",
            "https://user:pw@api.amazon.com/auth/o2/token", "https://token@api.amazon.com/auth/o2/token",
            "https://api.amazon.com/auth/o2/token#frag", "https://api.amazon.com/auth/o2/token?x=1",
            "http://127.0.0.1.evil.com/", "http://localhost.evil.com", "http://2130706433/", "javascript:alert(1)",
            "api.amazon.com/auth/o2/token", "https://api.amazon.com:99999/", "https://api.amazon.com /x"]


@pytest.mark.parametrize("url", GOOD_URLS)
def test_https_and_loopback_overrides_are_accepted(store, url):
    assert override_url_problem(url) is None
    created = amazon_store_create(name="S", seller_id="A1", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                                  client_id="c", client_secret="s", refresh_token="r", endpoint_override=url,
                                  token_url_override=url)
    assert created.token_url_override == url.strip()


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("field", ["endpoint_override", "token_url_override"])
def test_other_overrides_are_refused_everywhere(store, amazon_store, url, field):
    assert override_url_problem(url)
    with pytest.raises(AmazonChannelError) as refused:
        amazon_store_create(name="S", seller_id="A1", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                            client_id="c", client_secret="s", refresh_token="r", **{field: url})
    assert refused.value.field == field
    assert not AmazonStore.objects.filter(name="S").exists()
    with pytest.raises(AmazonChannelError) as refused:
        amazon_store_update(amazon_store=amazon_store, **{field: url}, **NEW)  # secrets given: still refused
    assert refused.value.field == field
    assert getattr(_saved(amazon_store), field) in (ENDPOINT, TOKEN_URL)


def test_plain_http_elsewhere_says_why(store):
    assert "use https://" in override_url_problem("http://example.com/auth/o2/token")
    assert "user name or password" in override_url_problem("https://a:b@api.amazon.com/")
    assert "fragment" in override_url_problem("https://api.amazon.com/#x")
    assert "https://" in override_url_problem("ftp://api.amazon.com/")
    assert "host" in override_url_problem("https:///x")


# --- Service: Test connection --------------------------------------------------------------------------------


def test_test_with_a_changed_token_url_and_no_secrets_sends_nothing(amazon_store, attacker):
    for changes in ({"token_url_override": attacker.token_url}, {"endpoint_override": attacker.url},
                    {"token_url_override": attacker.token_url, "endpoint_override": attacker.url}):
        with pytest.raises(AmazonChannelError) as refused:
            amazon_store_test_connection(amazon_store=amazon_store, changes=changes)
        assert "Stored secrets are never sent to a new address" in refused.value.message
        with pytest.raises(AmazonChannelError):  # two of three is not enough either
            amazon_store_test_connection(amazon_store=amazon_store, changes=changes,
                                         client_secret=NEW["client_secret"], refresh_token=NEW["refresh_token"])
    assert attacker.requests == []
    assert _saved(amazon_store).token_url_override == TOKEN_URL


def test_test_with_entered_secrets_goes_to_the_entered_url_with_those_secrets_only(amazon_store, attacker):
    ok, message = amazon_store_test_connection(amazon_store=amazon_store,
                                               changes={"token_url_override": attacker.token_url}, **NEW)
    assert not ok and "refused the credentials" in message
    assert attacker.requests and attacker.requests[0]["path"] == "/auth/o2/token"
    form = parse_qs(attacker.requests[0]["body"])
    assert form["client_secret"] == [NEW["client_secret"]] and form["refresh_token"] == [NEW["refresh_token"]]
    received = attacker.everything_received()
    assert SECRET not in received and REFRESH not in received and CLIENT_ID not in received
    fresh = _saved(amazon_store)
    assert fresh.token_url_override == TOKEN_URL and fresh.credentials().client_secret == SECRET  # saved nothing
    assert len(_changes(amazon_store)) == 1


def test_test_of_an_unchanged_store_uses_the_stored_secrets_where_they_were_saved(store, attacker):
    saved = amazon_store_create(name="To attacker", seller_id="A1", marketplace_ids=["ATVPDKIKX0DER"], store=store,
                                client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH,
                                endpoint_override=attacker.url, token_url_override=attacker.token_url)
    ok, _message = amazon_store_test_connection(amazon_store=saved, changes={"name": "To attacker"})
    assert not ok
    assert parse_qs(attacker.requests[0]["body"])["client_secret"] == [SECRET]  # saved with them: allowed


def test_test_refuses_a_bad_url_before_sending(amazon_store):
    with pytest.raises(AmazonChannelError) as refused:
        amazon_store_test_connection(amazon_store=None, changes={
            "name": "New", "seller_id": "A1", "marketplace_ids": "ATVPDKIKX0DER", "store": amazon_store.store,
            "token_url_override": "http://example.com/auth/o2/token"}, **NEW)
    assert refused.value.field == "token_url_override"


# --- Service: who changed what, never a value -----------------------------------------------------------------


def test_every_connection_change_is_recorded_without_values(amazon_store, fr_store, caplog):
    caplog.set_level(logging.DEBUG)
    first = _changes(amazon_store)[0]
    assert first.created and first.actor == "setup"
    assert {"name", "endpoint_override", "token_url_override", "client_secret", "refresh_token"} <= set(first.fields)

    amazon_store_update(amazon_store=amazon_store, name="Renamed", seller_id="A2", actor="bob")
    amazon_store_update(amazon_store=amazon_store, refresh_token="Atzr|rotated", actor="bob")
    amazon_store_update(amazon_store=amazon_store, refresh_token="Atzr|rotated", actor="bob")  # same: no change
    amazon_store_update(amazon_store=amazon_store, region="EU", marketplace_ids=["A13V1IB3VIYZZH"], store=fr_store,
                        api_version="v0")
    amazon_store_order_settings_update(amazon_store=amazon_store, sync_frequency_minutes=9)  # not the connection
    amazon_store_update(amazon_store=amazon_store, name="Renamed")  # nothing changed
    rows = [(c.actor, c.fields) for c in _changes(amazon_store)[1:]]
    assert rows == [("bob", ["name", "seller_id"]), ("bob", ["refresh_token"]),
                    ("system", ["region", "marketplace_ids", "store", "api_version"])]
    stored = json.dumps([c.fields for c in _changes(amazon_store)]) + " ".join(c.actor for c in _changes(amazon_store))
    for value in (SECRET, REFRESH, CLIENT_ID, "Atzr|rotated", TOKEN_URL):
        assert value not in stored and value not in caplog.text
    assert "Amazon store" in caplog.text and "refresh_token" in caplog.text


def test_a_refused_change_records_nothing(amazon_store):
    with pytest.raises(AmazonChannelError):
        amazon_store_update(amazon_store=amazon_store, name="Renamed", sync_frequency_minutes=61)
    with pytest.raises(AmazonChannelError):
        amazon_store_update(amazon_store=amazon_store, name="Renamed", token_url_override="https://evil.example/t")
    assert len(_changes(amazon_store)) == 1 and _saved(amazon_store).name == "Seller US"


# --- The back-office form ----------------------------------------------------------------------------------------


def _form(amazon_store, **changes) -> dict:
    data = {"name": amazon_store.name, "seller_id": amazon_store.seller_id, "region": amazon_store.region,
            "marketplace_ids": ", ".join(amazon_store.marketplace_ids), "store": amazon_store.store_id,
            "endpoint_override": amazon_store.endpoint_override,
            "token_url_override": amazon_store.token_url_override, "api_version": amazon_store.api_version,
            "time_scale": "1", "pacing_enabled": "on", "is_active": "on"}
    data.update(changes)
    return data


def test_form_refuses_a_new_token_url_without_secrets_then_saves_it_with_them(admin, amazon_store, attacker):
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    response = admin.post(url, _form(amazon_store, token_url_override=attacker.token_url))
    assert response.status_code == 400
    page = response.content.decode()
    assert "enter the LWA client id, client secret and refresh token again in the same save" in page
    assert attacker.token_url in page  # the form keeps what was typed
    assert _saved(amazon_store).token_url_override == TOKEN_URL and len(_changes(amazon_store)) == 1
    response = admin.post(url, _form(amazon_store, endpoint_override=attacker.url, client_secret="only-one"))
    assert response.status_code == 400 and _saved(amazon_store).endpoint_override == ENDPOINT

    response = admin.post(url, _form(amazon_store, token_url_override=attacker.token_url, **NEW))
    assert response.status_code == 302
    fresh = _saved(amazon_store)
    assert fresh.token_url_override == attacker.token_url and fresh.credentials().client_id == NEW["client_id"]
    change = _changes(amazon_store)[-1]
    assert change.actor == "administrator"
    assert change.fields == ["token_url_override", "client_id", "client_secret", "refresh_token"]
    assert attacker.requests == []


def test_form_refuses_plain_http_to_another_host_and_suggests_amazons_hosts(admin, amazon_store):
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    for bad in ("http://example.com", "ftp://127.0.0.1/x", "https://u:p@api.amazon.com/auth/o2/token",
                "https://api.amazon.com/auth/o2/token#x"):
        response = admin.post(url, _form(amazon_store, token_url_override=bad, **NEW))
        assert response.status_code == 400, bad
        assert _saved(amazon_store).token_url_override == TOKEN_URL
    page = admin.post(url, _form(amazon_store, endpoint_override="http://example.com", **NEW)).content.decode()
    assert "Plain http:// is allowed only on this machine" in page
    response = admin.post(url, _form(amazon_store, endpoint_override="https://sellingpartnerapi-eu.amazon.com",
                                     token_url_override="", **NEW))
    assert response.status_code == 302
    assert _saved(amazon_store).endpoint == "https://sellingpartnerapi-eu.amazon.com"

    page = admin.get(url).content.decode()
    assert 'list="amazon-endpoints"' in page and 'list="amazon-token-urls"' in page
    for host in ("https://sellingpartnerapi-na.amazon.com", "https://sellingpartnerapi-eu.amazon.com",
                 "https://sellingpartnerapi-fe.amazon.com", "https://api.amazon.com/auth/o2/token"):
        assert f'<option value="{host}">' in page


def test_form_test_button_with_a_changed_token_url_and_no_secrets_sends_nothing(admin, amazon_store, attacker):
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    for changes in ({"token_url_override": attacker.token_url}, {"endpoint_override": attacker.url},
                    {"token_url_override": attacker.token_url, "client_secret": "typed-one-only"}):
        response = admin.post(url, _form(amazon_store, test="1", **changes))
        page = response.content.decode()
        assert response.status_code == 400
        assert 'id="connection-result"' in page and "Not tested, nothing was sent:" in page
        assert "Stored secrets are never sent to a new address" in page
    assert attacker.requests == []
    assert _saved(amazon_store).token_url_override == TOKEN_URL


def test_form_test_button_with_entered_secrets_goes_to_the_entered_url(admin, amazon_store, attacker):
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    page = admin.post(url, _form(amazon_store, test="1", token_url_override=attacker.token_url,
                                 **NEW)).content.decode()
    assert "Connection failed:" in page
    assert attacker.requests and parse_qs(attacker.requests[0]["body"])["client_secret"] == [NEW["client_secret"]]
    received = attacker.everything_received()
    assert SECRET not in received and REFRESH not in received
    assert NEW["client_secret"] not in page and SECRET not in page
    assert _saved(amazon_store).token_url_override == TOKEN_URL  # testing saves nothing


def test_form_test_button_with_a_changed_endpoint_and_secrets_reaches_the_sandbox(admin, amazon_store, sandbox):
    creds = sandbox.credentials
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    data = _form(amazon_store, test="1", seller_id=creds["seller_id"], endpoint_override=sandbox.url,
                 token_url_override=sandbox.token_url, time_scale="600", client_id=creds["client_id"],
                 client_secret=creds["client_secret"], refresh_token=creds["refresh_token"])
    page = admin.post(url, data).content.decode()
    assert "Connection succeeded:" in page, page[page.find("connection-result"):][:400]
    del data["client_id"]
    page = admin.post(url, data).content.decode()
    assert "Not tested, nothing was sent:" in page


def test_edit_page_lists_connection_changes_without_values(admin, amazon_store, attacker):
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    assert admin.post(url, _form(amazon_store, name="Renamed", token_url_override=attacker.token_url,
                                 **NEW)).status_code == 302
    page = admin.get(url).content.decode()
    section = page[page.index('id="connection-changes"'):]
    assert "Connection changes" in section and section.count('data-testid="connection-change"') == 2
    assert "administrator" in section and "Name, LWA token URL override, LWA client id, LWA client secret" in section
    assert "Store connected:" in section and "setup" in section
    for value in (SECRET, REFRESH, NEW["client_secret"], NEW["refresh_token"], attacker.token_url):
        assert value not in section


@pytest.fixture
def _restore_language():
    from django.utils import translation

    yield
    translation.activate("en")


def test_refusals_speak_french(admin, amazon_store, attacker, _restore_language):
    admin.cookies.load({"django_language": "fr"})
    url = f"/amazon/stores/{amazon_store.pk}/edit/"
    page = admin.post(url, _form(amazon_store, token_url_override=attacker.token_url),
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "ressaisissez" in page
    page = admin.post(url, _form(amazon_store, token_url_override="http://example.com/t", **NEW),
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "uniquement sur cette machine" in page
    page = admin.post(url, _form(amazon_store, test="1", endpoint_override=attacker.url),
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Non testé, rien n'a été envoyé :" in page and "Les secrets enregistrés ne sont jamais envoyés" in page
    page = admin.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Modifications de la connexion" in page
    assert attacker.requests == []


# --- The command line ------------------------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("amazon", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_cli_edit_refuses_a_new_token_url_without_secrets_then_saves_it_with_them(amazon_store, attacker,
                                                                                   monkeypatch):
    with pytest.raises(CommandError, match="enter the LWA client id, client secret and refresh token again"):
        run("store", "edit", "Seller US", "--token-url", attacker.token_url)
    monkeypatch.setenv("NEW_SECRET", NEW["client_secret"])
    monkeypatch.setenv("NEW_REFRESH", NEW["refresh_token"])
    with pytest.raises(CommandError, match="enter the LWA client id"):  # two of three
        run("store", "edit", "Seller US", "--endpoint", attacker.url, "--client-secret-env", "NEW_SECRET",
            "--refresh-token-env", "NEW_REFRESH")
    assert _saved(amazon_store).token_url_override == TOKEN_URL and len(_changes(amazon_store)) == 1

    out = run("store", "edit", "Seller US", "--token-url", attacker.token_url, "--client-id", NEW["client_id"],
              "--client-secret-env", "NEW_SECRET", "--refresh-token-env", "NEW_REFRESH")
    assert "saved" in out and NEW["client_secret"] not in out
    fresh = _saved(amazon_store)
    assert fresh.token_url_override == attacker.token_url and fresh.credentials().refresh_token == NEW["refresh_token"]
    change = _changes(amazon_store)[-1]
    assert change.actor.startswith("cli:")
    assert change.fields == ["token_url_override", "client_id", "client_secret", "refresh_token"]
    run("store", "edit", "Seller US", "--frequency", "10")  # not a destination: no secret needed
    assert attacker.requests == []


def test_cli_refuses_plain_http_to_another_host(store, amazon_store, monkeypatch):
    monkeypatch.setenv("NEW_SECRET", NEW["client_secret"])
    monkeypatch.setenv("NEW_REFRESH", NEW["refresh_token"])
    secrets = ["--client-id", NEW["client_id"], "--client-secret-env", "NEW_SECRET", "--refresh-token-env",
               "NEW_REFRESH"]
    with pytest.raises(CommandError, match="Plain http:// is allowed only on this machine"):
        run("store", "edit", "Seller US", "--endpoint", "http://example.com", *secrets)
    with pytest.raises(CommandError, match="user name or password"):
        run("store", "edit", "Seller US", "--token-url", "https://u:p@api.amazon.com/auth/o2/token", *secrets)
    with pytest.raises(CommandError, match="must start with https://"):
        run("store", "add", "--name", "X", "--seller-id", "A1", "--marketplace", "ATVPDKIKX0DER", "--store",
            store.code, "--token-url", "ftp://127.0.0.1/x", *secrets)
    assert not AmazonStore.objects.filter(name="X").exists()
    assert _saved(amazon_store).endpoint_override == ENDPOINT
    run("store", "edit", "Seller US", "--endpoint", "https://sellingpartnerapi-eu.amazon.com", *secrets)
    assert _saved(amazon_store).endpoint_override == "https://sellingpartnerapi-eu.amazon.com"
