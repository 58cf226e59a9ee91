"""The "Import your listings" page follows a background read in a real browser: it polls (htmx) while Amazon
prepares the report, goes on to the preview once the worker is done, and shows Amazon's refusal with "Read again"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saleschannel.amazon import listings, listings_jobs
from saleschannel.amazon.listings_models import ListingsRead
from saleschannel.core.roles import OPERATOR
from tests.amazon.conftest import US
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, path: str) -> None:
    make_browser_user("olivia", OPERATOR)
    sign_in(page, live_server, path, "olivia")


def test_the_page_polls_the_read_then_shows_the_preview(live_server, page, sandbox, amazon_store):
    sandbox.set_listings("US", [{"sku": "POLL-TEAPOT", "title": "Théière", "price": "34.90", "quantity": 2}])
    # A read the worker has not taken yet (the tests' Huey runs tasks at once, so it is written as queued).
    read = ListingsRead.objects.create(store=amazon_store, marketplace_id=US)
    path = f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}"
    _login(page, live_server, path)
    panel = page.locator("#listings-read")
    expect(panel).to_contain_text("Reading the listings from Amazon")
    expect(panel).to_contain_text("you can leave this page")
    expect(panel).to_have_attribute("hx-trigger", "every 3s")

    assert listings_jobs.listings_read_run(read_id=read.pk) == "done"  # the worker
    expect(page.locator("#listings-preview")).to_be_visible(timeout=15_000)  # the next poll leads there
    expect(page).to_have_url(re.compile(r"\?token=[A-Za-z0-9_-]+$"))
    expect(page.locator('tr[data-sku="POLL-TEAPOT"] select')).to_have_value("create")


def test_a_failed_read_shows_amazons_refusal_and_read_again(live_server, page, sandbox, amazon_store):
    sandbox.set_report_faults({listings.LISTINGS_REPORT: {"FATAL": 1.0}})
    read = ListingsRead.objects.create(store=amazon_store, marketplace_id=US)
    _login(page, live_server, f"/amazon/stores/{amazon_store.pk}/listings/?read={read.pk}")
    expect(page.locator("#listings-read")).to_contain_text("Reading the listings from Amazon")
    assert listings_jobs.listings_read_run(read_id=read.pk) == "failed"
    expect(page.locator("#read-error")).to_contain_text("FATAL", timeout=15_000)

    sandbox.set_report_faults({})
    page.click("#read-again button")  # the read runs at once here (Huey immediate), then the page follows it
    expect(page.locator("#listings-preview")).to_be_visible()
