"""Ship-by deadlines in a real browser (issue 15): imported orders carry their Latest Ship Date; the grid's Ship by
filter, the badges, the dashboard counts that open the filtered grid, and the Commerce order view's badge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder
from saleschannel.amazon.sync import sync_store
from saleschannel.core.roles import OPERATOR
from tests.amazon.conftest import Clock, settle
from tests.browser.signing_in import make_browser_user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def test_ship_by_filter_badges_and_dashboard_counts(live_server, page, sandbox, amazon_store):
    ids = sandbox.create_orders(count=2, marketplace="US", fulfillment="MFN", status="Unshipped", lines=1,
                                prime=False, replacement=False)
    settle()
    assert sync_store(store=amazon_store).orders_created == 2
    orders = list(AmazonOrder.objects.filter(amazon_order_id__in=ids))
    assert all(o.latest_ship_date and o.earliest_ship_date and o.latest_delivery_date for o in orders)
    make_browser_user("olivia", OPERATOR)

    sign_in(page, live_server, "/amazon/orders/", "olivia")
    expect(page).to_have_url(re.compile(r"/amazon/orders/$"))
    page.select_option("#id_ship_by", "48h")
    page.click("#apply-filters")
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(2)
    expect(page.locator('#active-filters .chip:has-text("Ship by")')).to_contain_text("48 hours")
    page.select_option("#id_ship_by", "overdue")
    page.click("#apply-filters")
    expect(page.locator("#orders-empty")).to_be_visible()

    # The product's clock three days on (the live server runs in this process): past the Latest Ship Date, two days
    # after purchase. No sync runs after this, so the sandbox's clock may stay.
    Clock.offset += timedelta(days=3)
    page.goto(f"{live_server.url}/")
    expect(page.locator('[data-testid="ship-overdue"]')).to_have_text("2 overdue")
    page.click('[data-testid="ship-overdue"]')
    expect(page).to_have_url(re.compile(r"ship_by=overdue"))
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(2)
    expect(page.locator('[data-testid="ship-by-badge"][data-state="overdue"]')).to_have_count(2)

    page.goto(f"{live_server.url}/sales/orders/{orders[0].commerce_order_id}/")
    expect(page.locator('[data-testid="channel-badge"]')).to_contain_text("Overdue")
