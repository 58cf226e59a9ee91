"""The seller metrics panel of the Amazon store dashboard in a real browser: status colours, the trend chart, the
orders behind a metric one click away."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from saleschannel.core.roles import VIEWER
from tests.amazon.test_metrics import UPS, _import, _ship, amazon_store, later  # noqa: F401
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = 86_400


def test_metrics_with_their_orders(live_server, page, sandbox, amazon_store, staff_user):  # noqa: F811
    on_time, late = _import(sandbox, amazon_store, 2)
    _ship(on_time, UPS, staff_user)
    later(3 * DAY)
    _ship(late, UPS, staff_user)
    make_browser_user("vera", VIEWER)

    path = f"/amazon/stores/{amazon_store.pk}/"
    sign_in(page, live_server, path, "vera")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))

    lsr = page.locator('#seller-metrics tr[data-metric="lsr_30"]')
    expect(lsr).to_have_attribute("data-status", "bad")
    expect(lsr.locator('[data-testid="metric-status"]')).to_have_text("Bad")
    assert "rgb(180, 35, 24)" in lsr.locator('[data-testid="metric-status"]').evaluate(
        "e => getComputedStyle(e).color")
    expect(lsr.locator("svg polyline")).to_have_count(1)
    expect(page.locator('#seller-metrics tr[data-metric="otdr_14"]')).to_contain_text("Not available")
    lsr.locator('[data-testid="metric-orders"]').click()
    expect(page.locator("h1")).to_have_text("Late Shipment Rate (30 days)")
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(1)
    expect(page.locator("#amazon-orders")).to_contain_text(late.amazon_order_id)
