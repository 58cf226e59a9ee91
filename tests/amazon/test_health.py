"""Sync health: a refused pass is recorded with Amazon's message, the next pass retries, three in a row alert the
administrators once (notice and e-mail), and the next successful pass clears it all. Failures are real: the sandbox
refuses a revoked refresh token, or a marketplace the seller does not sell on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from saleschannel.amazon.health import ALERT_AFTER_FAILURES, failing_text, store_health
from saleschannel.amazon.models import AmazonStore, SyncRunKind, SyncRunState
from saleschannel.amazon.services import amazon_store_update
from saleschannel.amazon.sync import sync_store
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from saleschannel.sales.models import Order
from tests.amazon.conftest import US, connect_store, settle
from tests.factories import make_role_user, make_staff

pytestmark = pytest.mark.django_db

CANADA = "A2EUQ1WTGCTBG2"  # a marketplace the sandbox seller does not sell on
REVOKED = "Atzr|revoked-by-the-seller"


def revoke(amazon_store: AmazonStore) -> None:
    """What a seller does in Seller Central: the refresh token stops working (Amazon's login service refuses it)."""
    amazon_store_update(amazon_store=amazon_store, refresh_token=REVOKED)


def restore(amazon_store: AmazonStore, sandbox) -> None:
    amazon_store_update(amazon_store=amazon_store, refresh_token=sandbox.credentials["refresh_token"])


def fresh(amazon_store: AmazonStore) -> AmazonStore:
    return AmazonStore.objects.get(pk=amazon_store.pk)


@pytest.fixture
def people(db):
    """Two administrators with an address, one without, one inactive, a superuser without a role group; an operator
    and a viewer (never e-mailed)."""
    users = {}
    for username, role, email, active in (("ada", ADMINISTRATOR, "ada@example.com", True),
                                          ("bob", ADMINISTRATOR, "bob@example.com", True),
                                          ("nomail", ADMINISTRATOR, "", True),
                                          ("gone", ADMINISTRATOR, "gone@example.com", False),
                                          ("olga", OPERATOR, "olga@example.com", True),
                                          ("vic", VIEWER, "vic@example.com", True)):
        user = make_role_user(role, username=username)
        get_user_model().objects.filter(pk=user.pk).update(email=email, is_active=active)
        users[username] = user
    users["root"] = make_staff(username="root", superuser=True)  # created by createsuperuser: no role group
    return users


@pytest.fixture
def run_pass(django_capture_on_commit_callbacks):
    """One sync pass, with what it enqueues on commit run (Huey runs tasks at once in the tests)."""
    def run(amazon_store, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return sync_store(store=fresh(amazon_store), **kwargs)
    return run


def test_three_failed_passes_alert_the_administrators_once_and_a_success_clears_it(
        amazon_store, sandbox, people, mailoutbox, run_pass):
    revoke(amazon_store)

    first = run_pass(amazon_store)
    assert first.state == SyncRunState.FAILED and "refused the credentials" in first.error
    store = fresh(amazon_store)
    assert store.last_error == first.error and store.sync_failures_in_row == 1
    assert store.sync_failing_since == first.started_at and store.sync_alerted_at is None

    second = run_pass(amazon_store)  # the next pass retries (and fails again): still no alert after two
    assert second.state == SyncRunState.FAILED
    store = fresh(amazon_store)
    assert store.sync_failures_in_row == 2 and store.sync_failing_since == first.started_at
    assert store.sync_alerted_at is None and mailoutbox == []

    third = run_pass(amazon_store)
    assert third.state == SyncRunState.FAILED
    store = fresh(amazon_store)
    assert store.sync_failures_in_row == ALERT_AFTER_FAILURES == 3 and store.sync_alerted_at is not None
    # One e-mail to each active administrator with an address; operators and viewers are not e-mailed.
    assert sorted(address for mail in mailoutbox for address in mail.to) == [
        "ada@example.com", "bob@example.com", "root@example.com"]
    mail = mailoutbox[0]
    assert "Amazon store Sandbox US: sync failing since" in mail.subject
    assert third.error in mail.body and "What to do:" in mail.body
    assert 'saleschannel amazon sync --store "Sandbox US"' in mail.body
    assert f"/amazon/stores/{store.pk}/" in mail.body
    assert "cleared by the next successful sync" in mail.body

    run_pass(amazon_store)  # a fourth failure: the streak goes on, the alert is not sent again
    assert fresh(amazon_store).sync_failures_in_row == 4
    assert len(mailoutbox) == 3

    restore(amazon_store, sandbox)
    settle()
    ok = run_pass(amazon_store)
    assert ok.state == SyncRunState.SUCCEEDED, ok.error
    store = fresh(amazon_store)
    assert (store.sync_failures_in_row, store.sync_failing_since, store.sync_alerted_at, store.last_error) == (
        0, None, None, "")
    assert store.last_successful_sync_at >= ok.started_at
    assert not store_health(store).failing and failing_text(store) == ""

    # A new streak starts from its own first failure and alerts again (once) at its own third.
    revoke(amazon_store)
    runs = [run_pass(amazon_store) for _ in range(3)]
    store = fresh(amazon_store)
    assert store.sync_failing_since == runs[0].started_at and store.sync_alerted_at is not None
    assert len(mailoutbox) == 6


def test_amazon_refuses_a_page_the_message_is_recorded_and_the_next_pass_imports_the_window(
        amazon_store, sandbox, run_pass):
    ids = sandbox.create_orders(count=3, marketplace="US", fulfillment="MFN", status="Unshipped")
    settle()
    # The seller lists a marketplace it does not sell on (set behind the service's back, as an old row could be).
    AmazonStore.objects.filter(pk=amazon_store.pk).update(marketplace_ids=[US, CANADA])
    refused = run_pass(amazon_store)
    assert refused.state == SyncRunState.FAILED
    assert refused.error.startswith("Amazon refused the request:") and CANADA in refused.error
    store = fresh(amazon_store)
    assert store.last_error == refused.error
    assert failing_text(store).startswith("Sync failing since ") and failing_text(store).endswith(refused.error)
    assert not Order.objects.filter(external_order_number__in=ids).exists()

    AmazonStore.objects.filter(pk=amazon_store.pk).update(marketplace_ids=[US])
    retried = run_pass(amazon_store)
    assert retried.state == SyncRunState.SUCCEEDED, retried.error
    assert set(Order.objects.values_list("external_order_number", flat=True)) == set(ids)
    assert fresh(amazon_store).sync_failures_in_row == 0


def test_backfill_failures_count_in_the_same_streak(amazon_store, sandbox, people, mailoutbox, run_pass):
    revoke(amazon_store)
    since = datetime.now(UTC) - timedelta(days=3)
    run_pass(amazon_store)
    run_pass(amazon_store)
    backfill = run_pass(amazon_store, since=since, kind=SyncRunKind.BACKFILL)
    assert backfill.kind == SyncRunKind.BACKFILL and backfill.state == SyncRunState.FAILED
    assert "refused the credentials" in backfill.error
    store = fresh(amazon_store)
    assert store.sync_failures_in_row == 3 and store.sync_alerted_at is not None and len(mailoutbox) == 3

    restore(amazon_store, sandbox)
    settle()
    assert run_pass(amazon_store, since=since, kind=SyncRunKind.BACKFILL).state == SyncRunState.SUCCEEDED
    assert fresh(amazon_store).sync_alerted_at is None


def test_a_pass_skipped_by_the_lock_counts_neither_way(amazon_store, sandbox, run_pass):
    from saleschannel.amazon.locks import lock_acquire

    revoke(amazon_store)
    run_pass(amazon_store)
    assert lock_acquire(store=amazon_store, owner="another worker")
    skipped = run_pass(amazon_store)
    assert skipped.state == SyncRunState.SKIPPED
    assert fresh(amazon_store).sync_failures_in_row == 1


def test_the_alert_email_is_in_the_language_of_the_store(sandbox, catalog, people, mailoutbox, run_pass):
    from tests.factories import make_store

    france = make_store(code="fr", currency="EUR", locale="fr", name="Boutique France")
    amazon_store = connect_store(sandbox, france, name="Amazon FR", region="EU", marketplace_ids=["A13V1IB3VIYZZH"])
    revoke(amazon_store)
    for _ in range(ALERT_AFTER_FAILURES):
        run_pass(amazon_store)
    assert len(mailoutbox) == 3
    assert "Boutique Amazon Amazon FR : synchronisation en échec depuis" in mailoutbox[0].subject
    assert "Que faire :" in mailoutbox[0].body
    with translation.override("fr"):
        assert failing_text(fresh(amazon_store)).startswith("Synchronisation en échec depuis ")


def test_no_administrator_no_email_but_the_alert_stands(amazon_store, sandbox, mailoutbox, run_pass):
    revoke(amazon_store)
    for _ in range(ALERT_AFTER_FAILURES):
        run_pass(amazon_store)
    assert mailoutbox == [] and fresh(amazon_store).sync_alerted_at is not None


def test_the_french_catalog_of_the_amazon_channel_is_complete_and_compiled():
    """Every French message of the channel (these included) is translated, keeps its placeholders and is compiled."""
    import gettext

    import saleschannel.amazon
    from tests.sales.test_translations import PLACEHOLDER, read_po

    po = Path(saleschannel.amazon.__file__).parent / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    entries = read_po(po)
    assert [e.msgid for e in entries if not e.msgstr or not all(e.msgstr.values()) or "fuzzy" in e.flags] == []
    with po.with_suffix(".mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    for entry in entries:
        for index, msgstr in entry.msgstr.items():
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(source)), entry.msgid
        if entry.msgid_plural:
            assert catalog.ngettext(entry.msgid, entry.msgid_plural, 5) == entry.msgstr[1], entry.msgid
        elif entry.msgctxt is None:
            assert catalog.gettext(entry.msgid) == entry.msgstr[0], entry.msgid
