"""The screenshots of the operator's guide (docs/operator-guide.md), taken from the real back office.

``test_operator_guide_screens`` imports a few Amazon orders from the SP-API sandbox (as the Amazon browser tests do:
three that import, one whose SKU is not in the catalog, so it stays in Error; one of them shipped with tracking and
confirmed on Amazon; at the end one shipped without tracking, which Amazon refuses: a dead letter), then walks the
screens the guide shows. Each step asserts what its picture is meant to show,
so a screen that changes fails the test rather than silently giving the guide a wrong picture.

Every picture is written to ``test-artifacts/operator-guide/``; with ``UPDATE_GUIDE_SCREENSHOTS=1`` it is also written
to ``docs/operator-guide/``, where the guide links to it::

    UPDATE_GUIDE_SCREENSHOTS=1 .venv/bin/pytest -q -p no:cacheprovider tests/browser/test_operator_guide.py

``test_guide_references_exactly_the_screenshots`` (no browser) checks that the guide and ``SCREENSHOTS`` agree and
that every picture the guide shows is in the repository.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.sync import sync_store
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.models import Order, OrderState
from saleschannel.sales.services import shipment_create
from tests import factories
from tests.amazon.conftest import (  # noqa: F401 (fixtures)
    amazon_store,
    catalog,
    commerce_store,
    sandbox,
    sandbox_server,
    settle,
)
from tests.amazon.test_outbound import deliver_until_done
from tests.browser.conftest import ARTIFACTS, browser_page
from tests.browser.signing_in import make_browser_user, sign_in

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operator-guide.md"
DOCS_IMAGES = ROOT / "docs" / "operator-guide"
ARTIFACT_IMAGES = ARTIFACTS / "operator-guide"
UPDATE = os.environ.get("UPDATE_GUIDE_SCREENSHOTS") == "1"
VIEWPORT = {"width": 1440, "height": 900}
MAX_BYTES = 300_000

# Every picture of the guide, in the order the test takes them. The guide shows each one, and no other.
SCREENSHOTS = (
    "dashboard.png",
    "order-grid.png",
    "order-view-amazon.png",
    "store-dashboard.png",
    "order-in-error.png",
    "amazon-order-cancel-dialog.png",
    "amazon-order-sync-log.png",
    "outbox.png",
)

S = AmazonOrderStatus


# --- The guide and its pictures (no browser) -----------------------------------------------------------------


def guide_images() -> list[str]:
    """The pictures the guide shows: ``![…](operator-guide/NAME.png)``, in the order they appear."""
    return re.findall(r"!\[[^\]]*\]\(operator-guide/([^)\s]+)\)", GUIDE.read_text(encoding="utf-8"))


def test_guide_references_exactly_the_screenshots():
    assert GUIDE.exists(), "docs/operator-guide.md is missing"
    shown = guide_images()
    assert shown, "the guide shows no screenshot"
    assert len(shown) == len(set(shown)), f"a screenshot is shown twice: {shown}"
    not_taken = sorted(set(shown) - set(SCREENSHOTS))
    assert not not_taken, f"the guide shows pictures no test takes: {not_taken}"
    not_shown = sorted(set(SCREENSHOTS) - set(shown))
    assert not not_shown, f"the test takes pictures the guide does not show: {not_shown}"
    missing = [name for name in shown if not (DOCS_IMAGES / name).is_file()]
    assert not missing, (f"missing in docs/operator-guide/: {missing}; run UPDATE_GUIDE_SCREENSHOTS=1 .venv/bin/pytest "
                         "tests/browser/test_operator_guide.py")
    too_big = [name for name in shown if (DOCS_IMAGES / name).stat().st_size > MAX_BYTES]
    assert not too_big, f"screenshots over {MAX_BYTES // 1000} KB: {too_big}"
    # Its links to other files and to its own sections resolve too.
    text = GUIDE.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?!https?:|#|mailto:)[^)\s#]+)", text):
        assert (GUIDE.parent / target).exists(), f"broken link in the guide: {target}"
    sections = {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
                for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in sections, f"the guide links to a section it does not have: #{anchor}"


# --- The screens, in a real browser --------------------------------------------------------------------------


@pytest.fixture
def guide_page(browser, request):
    """A 1440×900 page in English (the guide's size); a failing step leaves a full-page picture in test-artifacts/."""
    yield from browser_page(browser, request, viewport=VIEWPORT, locale="en-US", timezone_id="UTC")


@pytest.fixture
def shop(sandbox, amazon_store, commerce_store):  # noqa: F811
    """Three Amazon orders imported (one of them shipped with tracking, confirmed on Amazon), one kept in Error
    (its SKU is not in the catalog), two orders from elsewhere, and an Operator to sign in as."""
    ids = {}
    for buyer in ("Alice Martin", "Bruno Durand", "Chloé Nguyen"):
        [ids[buyer]] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                                             lines=1, buyer_name=buyer, prime=False, replacement=False)
    [error_id] = sandbox.create_orders(marketplace="US", fulfillment="MFN", status="Unshipped",
                                       buyer_name="Dora Petit", items=[{"sku": "GARDEN-HOSE-25M", "qty": 1}])
    settle()
    run = sync_store(store=amazon_store)
    assert (run.orders_created, run.orders_failed) == (3, 1), run.error
    orders = {buyer: AmazonOrder.objects.select_related("commerce_order").get(amazon_order_id=i)
              for buyer, i in ids.items()}
    error = AmazonOrder.objects.get(amazon_order_id=error_id)
    assert error.status == S.ERROR

    user = make_browser_user("olivia", OPERATOR)

    # Chloé's order is shipped in Commerce with a tracking number; the outbox confirms it on Amazon, and the next
    # sync brings Amazon's new status back (Shipped: the Amazon order is Completed).
    chloe = orders["Chloé Nguyen"]
    shipment_create(order=chloe.commerce_order, tracks=[{"carrier_code": "ups", "title": "UPS",
                                                          "number": "1Z999AA10123456784"}], actor=user)
    message = OutboxMessage.objects.get(amazon_order=chloe, kind=OutboxKind.SHIPMENT)
    assert deliver_until_done(message).state == OutboxState.ACCEPTED
    settle()
    sync_store(store=amazon_store)
    chloe.refresh_from_db()
    assert (chloe.amazon_status, chloe.status) == (S.SHIPPED, S.COMPLETED)

    for first, last, email in (("Zoë", "Lefèvre", "zoe@example.com"), ("Hugo", "Bernard", "hugo@example.com")):
        factories.make_order(store=commerce_store, customer_first_name=first, customer_last_name=last,
                             customer_email=email, billing_address=dict(factories.ADDRESS, first_name=first,
                                                                        last_name=last))
    for order in orders.values():
        order.refresh_from_db()
    return {"orders": orders, "error": error}


def save_screenshot(page, name: str, *, full_page: bool = False) -> None:
    assert name in SCREENSHOTS, name
    ARTIFACT_IMAGES.mkdir(parents=True, exist_ok=True)
    path = ARTIFACT_IMAGES / name
    page.mouse.move(0, 0)  # no hover effect in the picture
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    assert path.stat().st_size < MAX_BYTES, f"{name} is {path.stat().st_size} bytes"
    if UPDATE:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        DOCS_IMAGES.chmod(0o755)  # the product's umask is 077; these files belong to the repository
        shutil.copyfile(path, DOCS_IMAGES / name)
        (DOCS_IMAGES / name).chmod(0o644)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operator_guide_screens(live_server, guide_page, shop, amazon_store):  # noqa: F811
    page = guide_page
    orders, error = shop["orders"], shop["error"]
    alice, bruno, chloe = orders["Alice Martin"], orders["Bruno Durand"], orders["Chloé Nguyen"]
    taken = []

    def shot(name: str, **options) -> None:
        save_screenshot(page, name, **options)
        taken.append(name)

    # Sign in: the dashboard, with the banner about the order that cannot be imported.
    sign_in(page, live_server, "/", "olivia")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#notices")).to_contain_text("has orders that cannot be imported")
    expect(page.locator(f'#notices a:text("{amazon_store.name}")')).to_be_visible()
    expect(page.locator("svg.chart rect").first).to_be_attached()
    expect(page.locator("main")).to_contain_text(f"{alice.commerce_order.number}")
    shot("dashboard.png")

    # The order grid: Amazon orders carry their Amazon order number, in the Channel column.
    page.goto(f"{live_server.url}/sales/orders/")
    row = page.locator(f'#order-grid tr[data-order="{alice.commerce_order.number}"]')
    expect(row.locator('td[data-column="channel"]')).to_have_text(f"Amazon {alice.amazon_order_id}")
    expect(page.locator('#order-grid th[data-column="external_order_number"]')).to_have_count(0)
    expect(page.locator("#order-grid tbody tr")).to_have_count(5)
    expect(page.locator("#mass-action")).to_have_value("")
    shot("order-grid.png")

    # A Commerce order of Amazon origin: its Amazon number under Payment & Shipping Method.
    page.click(f'#order-grid tr[data-order="{alice.commerce_order.number}"] a:text("View")')
    expect(page.locator("h1")).to_have_text(f"#{alice.commerce_order.number}")
    payment = page.locator("#payment-method")
    expect(payment).to_contain_text("Amazon Channel Payment")
    expect(payment).to_contain_text(f"Amazon Order Number: {alice.amazon_order_id}")
    expect(payment.locator('a:text("View or Cancel Amazon Order")')).to_be_visible()
    expect(payment.locator('a:text("View all Amazon Orders")')).to_be_visible()
    expect(page.locator('[data-action="ship"]')).to_be_enabled()
    shot("order-view-amazon.png", full_page=True)

    # The Amazon store's dashboard: sync health, the outbox tile, Recent Orders with the order in Error.
    page.goto(f"{live_server.url}/amazon/")
    page.click(f'#amazon-stores a:text("{amazon_store.name}")')
    expect(page.locator("h1")).to_have_text(amazon_store.name)
    expect(page.locator('[data-testid="sync-status"]')).to_have_text("OK")
    expect(page.locator('[data-testid="queued-outbound"]')).to_have_text("0")
    expect(page.locator("#outbox-link")).to_have_attribute("href", re.compile(r"^/amazon/outbox/\?"))
    expect(page.locator("#sync-health")).to_contain_text("1 order in error")
    expect(page.locator("#amazon-orders tbody tr")).to_have_count(4)
    error_row = page.locator(f'#amazon-orders tr[data-order="{error.amazon_order_id}"]')
    expect(error_row).to_contain_text("Error")
    expect(error_row).to_contain_text('Cannot create sales order: Product "GARDEN-HOSE-25M"')
    expect(page.locator(f'#amazon-orders tr[data-order="{chloe.amazon_order_id}"]')).to_contain_text("Completed")
    shot("store-dashboard.png")

    # The order in Error, opened from Recent Orders: its status and why.
    error_row.locator(f'a:text("{error.amazon_order_id}")').click()
    expect(page.locator("#amazon-status")).to_contain_text("Error")
    expect(page.locator("#order-notes")).to_contain_text(
        'Cannot create sales order: Product "GARDEN-HOSE-25M" in order is not salable: it does not exist in the '
        "catalog.")
    expect(page.locator("#commerce-order-link")).to_have_count(0)
    shot("order-in-error.png")

    # Amazon Order Details of an Unshipped order with the cancel dialog open (not confirmed).
    page.goto(f"{live_server.url}/amazon/orders/{bruno.pk}/")
    expect(page.locator("#amazon-status")).to_contain_text("Unshipped")
    expect(page.locator("#commerce-order-link")).to_have_text(f"Commerce order #{bruno.commerce_order.number}")
    page.click("#cancel-order")
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#cancel-consequences")).to_contain_text("Amazon is told the order is canceled")
    page.select_option("#id_reason", "NoInventory")
    expect(page.locator("#id_reason")).to_have_value("NoInventory")
    expect(page.locator("#confirm-cancel")).to_have_text("Cancel the order on Amazon")
    shot("amazon-order-cancel-dialog.png")
    page.click("#close-cancel")
    expect(dialog).to_be_hidden()

    # The shipped order's Sync log: the shipment confirmation, accepted by Amazon.
    page.goto(f"{live_server.url}/amazon/orders/{chloe.pk}/?tab=log")
    expect(page.locator('#outbox tr[data-kind="shipment"]')).to_have_attribute("data-state", "accepted")
    expect(page.locator("#amazon-status")).to_have_count(0)  # the Sync log tab
    log = page.locator("#sync-log")
    expect(log).to_contain_text("Tracking information has been submitted to Amazon.")
    expect(log).to_contain_text("Status updated to Shipped.")
    expect(log.locator('tr[data-kind="outbox_queued"]')).to_contain_text("olivia")
    expect(page.locator("#cancel-order")).to_be_disabled()
    shot("amazon-order-sync-log.png")

    # Messages to Amazon, across stores: Alice's order shipped without a tracking number is refused by Amazon at
    # once (a dead letter, with the banner on every page); Chloé's shipment was accepted.
    shipment_create(order=alice.commerce_order, tracks=[], actor=get_user_model().objects.get(username="olivia"))
    dead = OutboxMessage.objects.get(amazon_order=alice, kind=OutboxKind.SHIPMENT)
    assert deliver_until_done(dead).state == OutboxState.DEAD
    page.goto(f"{live_server.url}/")
    expect(page.locator("#notices")).to_contain_text("Amazon did not accept 1 change after repeated attempts")
    page.click('nav a:text("Messages to Amazon")')
    expect(page.locator("h1")).to_have_text("Messages to Amazon")
    dead_row = page.locator(f'#outbox-list tr[data-message="{dead.pk}"]')
    expect(dead_row).to_have_attribute("data-state", "dead")
    expect(dead_row).to_contain_text("Amazon needs a tracking number for every package")
    expect(dead_row.locator(f'button[data-retry="{dead.pk}"]')).to_have_text("Retry")
    expect(page.locator('#outbox-list tr[data-state="accepted"]')).to_contain_text(chloe.amazon_order_id)
    shot("outbox.png")

    assert tuple(taken) == SCREENSHOTS
    # Only looked at: the cancel dialog was closed without canceling.
    assert Order.objects.get(pk=bruno.commerce_order_id).state != OrderState.CANCELED
    assert AmazonOrder.objects.get(pk=bruno.pk).status == S.UNSHIPPED
