"""Issue 12 on Commerce screens: mass actions have no default and confirm what is irreversible; the order view's
buttons follow the rules visibly (refused: disabled with the rule's reason); tax percent shown from one place."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from saleschannel.core.roles import OPERATOR, VIEWER
from saleschannel.sales import rules, services
from saleschannel.sales.models import OrderState
from tests import factories
from tests.factories import client_for, make_role_user

CSS = Path(__file__).resolve().parents[2] / "saleschannel" / "web" / "static" / "web" / "app.css"


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


# --- Mass actions ----------------------------------------------------------------------------------------------


def test_mass_action_select_starts_on_a_placeholder(client, order):
    page = client.get("/sales/orders/").content.decode()
    select = page[page.index('<select name="action" id="mass-action"'):]
    select = select[:select.index("</select>")]
    first = select[select.index("<option"):]
    assert first.startswith('<option value="" selected>Choose an action</option>')
    assert select.count(" selected") == 1


def test_submit_without_an_action_does_nothing_and_says_so(client, order):
    response = client.post("/sales/orders/mass-action/", {"action": "", "order_ids": [order.pk],
                                                          "next": "/sales/orders/"}, follow=True)
    assert "Choose an action first: nothing was done." in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.NEW


def test_mass_cancel_asks_with_the_count_and_the_consequence(client, order, store):
    other = factories.make_order(store=store)
    invoiced = factories.make_order(store=store)
    services.invoice_create(order=invoiced, actor="tests")  # fully invoiced: cannot be canceled
    ids = [order.pk, other.pk, invoiced.pk]
    response = client.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": ids,
                                                          "next": "/sales/orders/?q=x"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Cancel 2 orders?" in page
    assert "2 orders will be canceled" in page and "This cannot be undone." in page
    assert f"#{invoiced.number}: The order is fully invoiced" in page
    assert 'id="mass-back" autofocus' in page  # Enter on the page goes back, it does not confirm
    assert 'href="/sales/orders/?q=x"' in page
    assert page.count('name="order_ids"') == 3 and 'name="confirmed" value="1"' in page
    for pending in (order, other):
        pending.refresh_from_db()
        assert pending.state == OrderState.NEW  # nothing done before the confirmation

    response = client.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": ids, "confirmed": "1",
                                                          "next": "/sales/orders/?q=x"}, follow=True)
    assert response.redirect_chain[-1][0] == "/sales/orders/?q=x"
    assert "2 orders canceled." in response.content.decode()
    for done in (order, other):
        done.refresh_from_db()
        assert done.state == OrderState.CANCELED


def test_hold_is_reversible_and_needs_no_confirmation(client, order):
    response = client.post("/sales/orders/mass-action/", {"action": "hold", "order_ids": [order.pk]}, follow=True)
    assert "1 order put on hold." in response.content.decode()


def test_viewer_cannot_reach_the_confirmation(db, order):
    viewer = client_for(make_role_user(VIEWER))
    response = viewer.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": [order.pk]})
    assert response.status_code == 403


# --- Buttons follow the rules, visibly ---------------------------------------------------------------------------


def test_refused_buttons_are_disabled_with_the_rules_reason(client, order):
    page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    reason = str(rules.check(order, rules.Action.CREDITMEMO).reason)
    assert reason == "Nothing paid is left to refund."
    assert f'data-action="creditmemo" disabled title="{reason}"' in page
    reasons = page[page.index('id="action-reasons"'):]
    reasons = reasons[:reasons.index("</ul>")]
    assert f"<strong>Credit Memo</strong>: {reason}" in reasons
    # Allowed actions are plain buttons and links.
    assert f'href="/sales/orders/{order.pk}/invoice/new/" data-action="invoice"' in page
    assert 'data-action="hold">' in page and 'data-action="unhold"' not in page  # one toggle


def test_canceled_order_shows_each_reason_once(client, order):
    services.order_cancel(order=order, actor="tests")
    page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    reasons = page[page.index('id="action-reasons"'):]
    reasons = reasons[:reasons.index("</ul>")]
    assert reasons.count("The order is canceled.") == 1
    assert "<strong>Cancel, Send Email, Hold, Invoice, Credit Memo, Ship</strong>: The order is canceled." in reasons
    assert 'data-action="reorder">' in page  # still allowed


def test_disabled_buttons_look_disabled():
    css = CSS.read_text()
    rule = css[css.index("button:disabled"):]
    rule = rule[:rule.index("}")]
    assert "button.primary:disabled" in rule and "button.danger:disabled" in rule
    assert "cursor:not-allowed" in rule and "background:#f0f0f0" in rule


def test_viewer_sees_no_action_buttons(db, order):
    page = client_for(make_role_user(VIEWER)).get(f"/sales/orders/{order.pk}/").content.decode()
    assert "data-action=" not in page and 'id="action-reasons"' not in page


# --- Tax percent -------------------------------------------------------------------------------------------------


def test_tax_percent_shown_is_the_stored_rate_else_derived(client, order):
    tshirt = order.items.get(sku="TSHIRT-RED")
    assert rules.item_tax_percent(tshirt) == Decimal("8.00")
    mug = order.items.get(sku="MUG-BLUE")
    assert rules.item_tax_percent(mug) == Decimal("0.00")  # no tax, no rate
    mug.tax_amount = Decimal("1.00")
    mug.row_total = Decimal("8.00")
    assert rules.item_tax_percent(mug) == Decimal("12.50")
    mug.row_total = Decimal("0")
    assert rules.item_tax_percent(mug) is None
    page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert "8.00%" in page
