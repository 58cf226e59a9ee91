"""Issue 12: an Amazon order is canceled only the Amazon way, with a reason; buttons follow the rules, visibly.

One rule (``amazon.rules.can_cancel_on_amazon``) decides, on Amazon Order Details, on the Commerce order view and in
the cancel service; Commerce's own (reasonless) cancel, single or mass, never reaches Amazon.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleschannel.amazon import rules as amazon_rules
from saleschannel.amazon.models import AmazonOrderStatus, OutboxKind, OutboxMessage
from saleschannel.amazon.views import condition_label
from saleschannel.sales import rules, services
from saleschannel.sales.models import OrderState
from tests import factories
from tests.amazon.test_views import (  # noqa: F401 (fixtures)
    _restore_language,
    amazon_store,
    make_amazon_order,
    operator,
    viewer,
)

S = AmazonOrderStatus
UPS = {"carrier_code": "ups", "title": "UPS", "number": "1Z999"}


def _without_csrf(html: str) -> str:
    return re.sub(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">', "", html)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- The Commerce order view's Cancel opens the Amazon dialog ---------------------------------------------------


def test_commerce_cancel_of_an_amazon_order_opens_the_amazon_dialog(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)  # invoiced on import
    page = _page(operator, f"/sales/orders/{amazon.commerce_order_id}/")
    # The button opens the dialog: no bare "Are you sure?" form posting to Commerce's cancel.
    assert 'data-action="cancel" data-open-dialog="cancel-dialog"' in page
    assert f'action="/sales/orders/{amazon.commerce_order_id}/cancel/"' not in page
    dialog = page[page.index('<dialog id="cancel-dialog"'):page.index("</dialog>")]
    assert f'action="/amazon/orders/{amazon.pk}/cancel/"' in dialog
    assert dialog.count('<option value="') == 11  # "Select a reason" + Amazon's 10 reasons
    assert '<select name="reason" id="id_reason" required>' in dialog
    assert "Amazon is told the order is canceled, with the reason you choose." in dialog
    number = amazon.commerce_order.number
    assert f"Commerce order #{number} was invoiced: the buyer is refunded in full ($20.00)" in dialog
    assert "The stock reserved for it (2 units) is released." in dialog
    assert f'name="next" value="/sales/orders/{amazon.commerce_order_id}/"' in dialog
    # The same dialog as on Amazon Order Details.
    details = _page(operator, f"/amazon/orders/{amazon.pk}/")
    on_details = details[details.index('<dialog id="cancel-dialog"'):details.index("</dialog>")]
    next_input = f'<input type="hidden" name="next" value="/sales/orders/{amazon.commerce_order_id}/">'
    assert _without_csrf(on_details) == _without_csrf(dialog.replace(next_input, ""))


def test_uninvoiced_amazon_order_dialog_says_it_is_canceled(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store, invoiced=False)
    page = _page(operator, f"/sales/orders/{amazon.commerce_order_id}/")
    assert f"Commerce order #{amazon.commerce_order.number} is canceled." in page
    assert "refunded in full" not in page


def test_the_dialog_goes_through_the_amazon_path_and_comes_back(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    back = f"/sales/orders/{amazon.commerce_order_id}/"
    response = operator.post(f"/amazon/orders/{amazon.pk}/cancel/", {"reason": "", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert not OutboxMessage.objects.exists()
    response = operator.post(f"/amazon/orders/{amazon.pk}/cancel/", {"reason": "NoInventory", "next": back},
                             follow=True)
    assert response.redirect_chain[-1][0] == back
    assert "You canceled the order" in response.content.decode()
    message = OutboxMessage.objects.get(amazon_order=amazon)
    assert (message.kind, message.payload["reason"]) == (OutboxKind.CANCEL, "NoInventory")
    # An unsafe "next" is ignored.
    other = make_amazon_order(amazon_store)
    response = operator.post(f"/amazon/orders/{other.pk}/cancel/", {"reason": "NoInventory",
                                                                     "next": "https://evil.example/"})
    assert response["Location"] == f"/amazon/orders/{other.pk}/"


def test_bare_commerce_cancel_of_an_amazon_order_is_refused(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store, invoiced=False)
    response = operator.post(f"/sales/orders/{amazon.commerce_order_id}/cancel/", follow=True)
    assert "Amazon order: cancel it from Amazon Order Details with a reason." in response.content.decode()
    amazon.refresh_from_db()
    amazon.commerce_order.refresh_from_db()
    assert amazon.status == S.UNSHIPPED and amazon.commerce_order.state != OrderState.CANCELED
    assert not OutboxMessage.objects.exists()  # never again GeneralAdjustment behind the operator's back


def test_mass_cancel_skips_amazon_orders_with_the_reason(operator, amazon_store, store):  # noqa: F811
    amazon = make_amazon_order(amazon_store, invoiced=False)
    plain = factories.make_order(store=store)
    ids = [amazon.commerce_order_id, plain.pk]
    response = operator.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": ids,
                                                            "next": "/sales/orders/"})
    page = response.content.decode()
    assert response.status_code == 200  # the confirmation step, nothing done yet
    assert "Cancel 1 order?" in page
    assert (f"#{amazon.commerce_order.number}: Amazon order: cancel it from Amazon Order Details with a reason."
            in page)
    plain.refresh_from_db()
    assert plain.state != OrderState.CANCELED

    response = operator.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": ids,
                                                            "next": "/sales/orders/", "confirmed": "1"},
                             follow=True)
    page = response.content.decode()
    assert "1 order canceled." in page
    assert (f"Order #{amazon.commerce_order.number} skipped: Amazon order: cancel it from Amazon Order Details "
            "with a reason.") in page
    plain.refresh_from_db()
    amazon.refresh_from_db()
    assert plain.state == OrderState.CANCELED and amazon.status == S.UNSHIPPED
    assert not OutboxMessage.objects.exists()


def test_mass_cancel_of_amazon_orders_only_does_nothing(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)  # invoiced: the Amazon reason still comes first
    response = operator.post("/sales/orders/mass-action/", {"action": "cancel", "order_ids": [amazon.commerce_order_id],
                                                            "next": "/sales/orders/"}, follow=True)
    page = response.content.decode()
    assert "None of the selected orders can be canceled: nothing was done." in page
    assert "Amazon order: cancel it from Amazon Order Details with a reason." in page
    assert not OutboxMessage.objects.exists()


# --- One rule: Cancel disappears as soon as Commerce has shipped or a shipment is queued -------------------------


def test_cancel_is_refused_everywhere_once_commerce_has_shipped(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    commerce = amazon.commerce_order
    item = commerce.items.get()
    services.shipment_create(order=commerce, quantities={item.pk: 1}, tracks=[UPS], actor="tests")
    assert OutboxMessage.objects.filter(amazon_order=amazon, kind=OutboxKind.SHIPMENT).exists()
    amazon.refresh_from_db()
    assert amazon.status == S.UNSHIPPED  # Amazon has not confirmed yet

    verdict = amazon_rules.can_cancel_on_amazon(amazon)
    assert not verdict and "shipped" in verdict.reason
    details = _page(operator, f"/amazon/orders/{amazon.pk}/")
    assert 'id="cancel-order" disabled' in details and verdict.reason in details
    assert '<dialog id="cancel-dialog"' not in details
    view = _page(operator, f"/sales/orders/{commerce.pk}/")
    assert 'data-action="cancel" disabled' in view and verdict.reason in view
    assert "View Amazon Order" in view and "View or Cancel Amazon Order" not in view
    response = operator.post(f"/amazon/orders/{amazon.pk}/cancel/", {"reason": "NoInventory"}, follow=True)
    assert "shipped" in response.content.decode()
    assert not OutboxMessage.objects.filter(kind=OutboxKind.CANCEL).exists()


def test_a_queued_shipment_alone_refuses_the_cancel(amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    assert amazon_rules.can_cancel_on_amazon(amazon)
    assert not amazon_rules.can_cancel_on_amazon(amazon, outbox_kinds={OutboxKind.SHIPMENT})
    assert not amazon_rules.can_cancel_on_amazon(amazon, outbox_kinds={OutboxKind.CANCEL})
    amazon.items_shipped = 1
    assert not amazon_rules.can_cancel_on_amazon(amazon, outbox_kinds=set())


def test_held_commerce_order_refuses_the_amazon_cancel_with_the_reason(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    services.order_hold(order=amazon.commerce_order, actor="tests")
    verdict = amazon_rules.can_cancel_on_amazon(amazon)
    assert not verdict and verdict.reason == "The order is on hold. Release the hold first."
    assert verdict.reason in _page(operator, f"/amazon/orders/{amazon.pk}/")


def test_viewers_see_no_cancel_button(viewer, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    assert 'id="cancel-order"' not in _page(viewer, f"/amazon/orders/{amazon.pk}/")


# --- Correct data --------------------------------------------------------------------------------------------


def test_amazon_number_once_in_payment_information(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    payment = amazon.commerce_order.payment
    payment.additional_information = {"Amazon Order Number": amazon.amazon_order_id}
    payment.save()
    page = _page(operator, f"/sales/orders/{amazon.commerce_order_id}/")
    section = page[page.index('id="payment-method"'):page.index('id="shipping-method"')]
    assert section.count(amazon.amazon_order_id) == 1
    assert section.count(f"Amazon Order Number: {amazon.amazon_order_id}") == 1
    assert 'class="payment-info"' not in section


def test_amazon_item_tax_percent_is_derived_from_the_amounts(operator, amazon_store):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    item = amazon.commerce_order.items.get()
    item.tax_amount, item.tax_percent = Decimal("1.65"), Decimal("0")
    item.save()
    assert rules.item_tax_percent(item) == Decimal("8.25")  # 1.65 of tax on a 20.00 row
    page = _page(operator, f"/sales/orders/{amazon.commerce_order_id}/")
    assert "8.25%" in page and "0.00%" not in page
    item.row_total = Decimal("0")
    assert rules.item_tax_percent(item) is None  # shown "—"


def test_item_condition_is_shown_once(viewer, amazon_store):  # noqa: F811
    assert condition_label("New New") == "New"
    assert condition_label("Used VeryGood") == "Used – VeryGood"
    assert condition_label("") == "—"
    amazon = make_amazon_order(amazon_store)
    amazon.items.update(condition="New New")
    page = _page(viewer, f"/amazon/orders/{amazon.pk}/?tab=items")
    assert "<td>New</td>" in page and "New New" not in page


# --- Query counts ----------------------------------------------------------------------------------------------


# Pinned query counts of the order view of a Commerce-only order, not shipped / shipped (an Amazon order: two more);
# the same on SQLite and PostgreSQL. Every page includes the Amazon ship-by notice (one query).
PLAIN_ORDER_VIEW_QUERIES = {False: 18, True: 19}
# What the Amazon order adds: its outbox flags and the outbox summary; not shipped, the cancel dialog's projected
# Pre-fulfillment Cancel Rate as well (metrics.cancel_projection: the window's cancellations, its items' buyer
# requests, its orders): three more. Shipped, it cannot be canceled: no dialog, no projection.
AMAZON_EXTRA_QUERIES = {False: 2 + 3, True: 2}


@pytest.mark.parametrize("shipped", [False, True])
def test_order_view_of_an_amazon_order_runs_two_more_queries_than_any_order(operator, amazon_store, store,  # noqa: F811
                                                                           shipped):
    """The Amazon order with its outbox flags (one query, the cancel rule reads no more) and the outbox summary;
    and the cancel dialog's projection when it may be canceled (``AMAZON_EXTRA_QUERIES``)."""
    amazon = make_amazon_order(amazon_store)
    if shipped:
        item = amazon.commerce_order.items.get()
        services.shipment_create(order=amazon.commerce_order, quantities={item.pk: 1}, tracks=[UPS], actor="tests")
    plain = factories.make_order(store=store, items=[factories.line(factories.make_product(), 2)])
    services.invoice_create(order=plain, actor="tests")
    if shipped:
        services.shipment_create(order=plain, tracks=[UPS], actor="tests")
    operator.get(f"/sales/orders/{plain.pk}/")

    def count(url):
        with CaptureQueriesContext(connection) as captured:
            assert operator.get(url).status_code == 200
        return len(captured)

    plain_count = count(f"/sales/orders/{plain.pk}/")
    assert count(f"/sales/orders/{amazon.commerce_order_id}/") == plain_count + AMAZON_EXTRA_QUERIES[shipped]
    assert plain_count == PLAIN_ORDER_VIEW_QUERIES[shipped], (
        f"order view (shipped={shipped}): {plain_count} queries, pinned {PLAIN_ORDER_VIEW_QUERIES[shipped]}")


# --- French ------------------------------------------------------------------------------------------------------


def test_cancel_screens_speak_french(operator, amazon_store, store, _restore_language):  # noqa: F811
    amazon = make_amazon_order(amazon_store)
    plain = factories.make_order(store=store)
    operator.cookies.load({"django_language": "fr"})
    page = _page(operator, f"/sales/orders/{amazon.commerce_order_id}/")
    assert f"Annuler la commande Amazon {amazon.amazon_order_id}" in page
    assert "Amazon est informé de l&#x27;annulation" in page and "Conserver la commande" in page
    assert "Le stock réservé pour elle (2 unités) est libéré." in page
    response = operator.post("/sales/orders/mass-action/", {"action": "cancel", "next": "/sales/orders/",
                                                            "order_ids": [amazon.commerce_order_id, plain.pk]})
    page = response.content.decode()
    assert "Annuler 1 commande ?" in page and "1 commande sera ignorée" in page
    assert "Commande Amazon : annulez-la depuis les détails de la commande Amazon, avec un motif." in page
    response = operator.post("/sales/orders/mass-action/", {"action": "", "order_ids": [plain.pk]}, follow=True)
    assert "Choisissez d&#x27;abord une action : rien n&#x27;a été fait." in response.content.decode()
