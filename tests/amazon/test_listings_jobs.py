"""Reading a store's listings in the background (listings_jobs.py, the task, the page that follows the read):
start, run, done or failed, idempotent, bound to its store and to the roles that may import listings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from saleschannel.amazon import listings, listings_jobs, tasks
from saleschannel.amazon.listings_models import ListingsRead, ListingsReadState
from saleschannel.amazon.tasks import amazon_listings_read
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests.amazon.conftest import connect_store
from tests.factories import client_for, make_role_user

pytestmark = pytest.mark.django_db

US = "ATVPDKIKX0DER"
FATAL = {listings.LISTINGS_REPORT: {"FATAL": 1.0}}


def _files() -> set[str]:
    folder = Path(settings.DATA_DIR) / "imports"
    return {path.name for path in folder.glob("listings-*.json")} if folder.exists() else set()


def _report_requests(sandbox) -> int:
    return len(sandbox.requests(operation="createReport"))


def test_start_run_done_then_the_preview_with_the_token(amazon_store, sandbox, django_capture_on_commit_callbacks):
    sandbox.set_listings("US", [{"sku": "JOB-1", "title": "Bol", "price": "7.25", "quantity": 4}])
    user = make_role_user(OPERATOR)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # the task runs at once in tests
        read = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=None, actor=user)
    assert len(callbacks) == 1
    read.refresh_from_db()
    assert (read.state, read.marketplace_id, read.requested_by, read.error) == ("done", US, user, "")
    assert read.finished_at is not None and f"listings-{read.token}.json" in _files()
    marketplace, found = listings_jobs.listings_load(read.token)
    assert marketplace == US and "JOB-1" in {listing.seller_sku for listing in found}

    client = client_for(user)
    page = client.get(f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}")
    assert page.status_code == 302 and page["Location"] == (
        f"/amazon/stores/{amazon_store.pk}/listings/?token={read.token}")
    preview = client.get(page["Location"])
    assert preview.status_code == 200 and preview.context["token"] == read.token
    assert "JOB-1" in {row.listing.seller_sku for row in preview.context["rows"]}
    # Another session has not followed the read: the token alone does not open the preview.
    stranger = client_for(make_role_user(ADMINISTRATOR))
    assert stranger.get(page["Location"]).context["preview"] is None


def test_a_second_start_while_one_is_queued_returns_the_same_read(amazon_store, sandbox):
    user = make_role_user(ADMINISTRATOR)
    first = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=user)  # not run: queued
    assert first.state == ListingsReadState.QUEUED
    assert listings_jobs.listings_read_start(store=amazon_store, marketplace_id="", actor=user).pk == first.pk
    client = client_for(user)
    response = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {"marketplace": US})
    assert response["Location"] == f"/amazon/stores/{amazon_store.pk}/listings/?read={first.pk}"
    assert ListingsRead.objects.count() == 1
    # Back on the page without the read's id: it is followed again.
    page = client.get(f"/amazon/stores/{amazon_store.pk}/listings/").content.decode()
    assert 'id="listings-read"' in page and 'hx-trigger="every 3s"' in page
    assert "Amazon usually takes a few minutes; you can leave this page" in page
    assert f'href="/amazon/stores/{amazon_store.pk}/listings/?read={first.pk}" id="refresh-read"' in page


def test_a_refused_marketplace_writes_nothing(amazon_store):
    with pytest.raises(listings.ListingsError, match="not a marketplace"):
        listings_jobs.listings_read_start(store=amazon_store, marketplace_id="A1PA6795UKMFR9", actor=None)
    client = client_for(make_role_user(ADMINISTRATOR))
    page = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {"marketplace": "A1PA6795UKMFR9"}, follow=True)
    assert "is not a marketplace of the Amazon store" in page.content.decode()
    assert not ListingsRead.objects.exists()


def test_a_failed_read_shows_the_message_and_writes_no_file(amazon_store, sandbox,
                                                            django_capture_on_commit_callbacks):
    sandbox.set_report_faults(FATAL)
    before = _files()
    client = client_for(make_role_user(ADMINISTRATOR))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {"marketplace": US})
    read = ListingsRead.objects.get()
    assert (read.state, read.token) == ("failed", "") and "FATAL" in read.error and read.finished_at
    assert _files() == before
    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200 and read.error in text and 'id="read-again"' in text
    assert 'hx-trigger' not in text.split('id="listings-read"')[1]  # no more polling
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert "HX-Redirect" not in fragment and 'id="read-again"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    # Read again: a new read, which succeeds once Amazon does.
    sandbox.set_report_faults({})
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/amazon/stores/{amazon_store.pk}/listings/", {"marketplace": US})
    assert again["Location"] != response["Location"]
    assert ListingsRead.objects.order_by("pk").last().state == ListingsReadState.DONE


def test_running_twice_is_a_no_op_and_a_read_left_reading_is_taken_again(amazon_store, sandbox):
    read = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    ListingsRead.objects.filter(pk=read.pk).update(state=ListingsReadState.READING)  # its worker died
    assert listings_jobs.listings_read_run(read_id=read.pk) == "done"
    read.refresh_from_db()
    token, finished, calls, files = read.token, read.finished_at, _report_requests(sandbox), _files()
    assert amazon_listings_read.call_local(read.pk) == "done"  # Huey delivered it twice
    read.refresh_from_db()
    assert (read.token, read.finished_at, _report_requests(sandbox), _files()) == (token, finished, calls, files)
    assert listings_jobs.listings_read_run(read_id=read.pk + 1000) == "gone"

    sandbox.set_report_faults(FATAL)
    failed = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    assert listings_jobs.listings_read_run(read_id=failed.pk) == "failed"
    calls = _report_requests(sandbox)
    assert listings_jobs.listings_read_run(read_id=failed.pk) == "failed" and _report_requests(sandbox) == calls


def test_a_read_whose_worker_stopped_is_taken_up_by_the_next_start(amazon_store, sandbox,
                                                                   django_capture_on_commit_callbacks):
    read = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    ListingsRead.objects.filter(pk=read.pk).update(
        state=ListingsReadState.READING, updated_at=timezone.now() - listings_jobs.STALE_AFTER - timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        again = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    assert again.pk == read.pk
    read.refresh_from_db()
    assert read.state == ListingsReadState.DONE and ListingsRead.objects.count() == 1


def test_the_sweep_takes_up_reads_whose_worker_stopped_and_leaves_the_others(amazon_store, sandbox,
                                                                            django_capture_on_commit_callbacks):
    sandbox.set_listings("US", [{"sku": "SWEPT-1", "title": "Pot", "price": "3.10", "quantity": 1}])
    stopped = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    ListingsRead.objects.filter(pk=stopped.pk).update(
        state=ListingsReadState.READING, updated_at=timezone.now() - listings_jobs.STALE_AFTER - timedelta(1))
    recent = ListingsRead.objects.create(store=amazon_store, marketplace_id="A2EUQ1WTGCTBG2",
                                         state=ListingsReadState.READING)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.amazon_listings_reads_resume.call_local() == 1
    assert len(callbacks) == 1
    stopped.refresh_from_db()
    recent.refresh_from_db()
    assert stopped.state == ListingsReadState.DONE and "SWEPT-1" in {
        listing.seller_sku for listing in listings_jobs.listings_load(stopped.token)[1]}
    assert recent.state == ListingsReadState.READING  # its worker may still be waiting for Amazon
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert listings_jobs.listings_reads_resume() == 0
    assert callbacks == []


def test_the_htmx_fragment_polls_then_redirects_to_the_preview(amazon_store, sandbox):
    read = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    client = client_for(make_role_user(ADMINISTRATOR))
    url = f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}"
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in text and "HX-Redirect" not in fragment
    assert f'hx-get="{url}" hx-trigger="every 3s"' in text and "Reading the listings from Amazon" in text
    listings_jobs.listings_read_run(read_id=read.pk)  # the worker
    read.refresh_from_db()
    done = client.get(url, HTTP_HX_REQUEST="true")
    preview_url = f"/amazon/stores/{amazon_store.pk}/listings/?token={read.token}"
    assert done.status_code == 200 and done["HX-Redirect"] == preview_url
    assert client.get(preview_url).context["preview"] is not None


def test_a_read_of_another_store_is_not_found(amazon_store, sandbox, commerce_store):
    other = connect_store(sandbox, commerce_store, name="Sandbox US 2")
    read = listings_jobs.listings_read_start(store=other, marketplace_id=US, actor=None)
    client = client_for(make_role_user(ADMINISTRATOR))
    assert client.get(f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}").status_code == 404
    assert client.get(f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}",
                      HTTP_HX_REQUEST="true").status_code == 404
    for bad in ("abc", "0", "-1", str(2**63), "٣"):
        assert client.get(f"/amazon/stores/{amazon_store.pk}/listings/", {"read": bad}).status_code == 404
    assert client.get(f"/amazon/stores/{other.pk}/listings/?read={read.pk}").status_code == 200


def test_a_viewer_may_neither_start_nor_follow_a_read(amazon_store):
    read = listings_jobs.listings_read_start(store=amazon_store, marketplace_id=US, actor=None)
    viewer = client_for(make_role_user(VIEWER))
    url = f"/amazon/stores/{amazon_store.pk}/listings/"
    assert viewer.get(url).status_code == 403
    assert viewer.get(f"{url}?read={read.pk}").status_code == 403
    assert viewer.post(url, {"marketplace": US}).status_code == 403
    assert ListingsRead.objects.count() == 1
