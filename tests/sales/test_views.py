"""Order view and its actions; new invoice / shipment / credit memo pages; document grids and PDFs."""

from __future__ import annotations

import pytest

from saleschannel.core.roles import OPERATOR
from saleschannel.sales import channels, services
from saleschannel.sales.models import CreditMemo, Invoice, Order, Shipment
from tests import factories
from tests.factories import client_for, make_role_user


@pytest.fixture
def client(db):
    return client_for(make_role_user(OPERATOR))


def _items(order):
    return {item.sku: item for item in order.items.all()}


def test_order_view_sections(client, order):
    page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    for section in ("Account Information", "Address Information", "Shipping Method", "Items Ordered",
                    "Notes for this Order", "Order Totals", "Total Due", "TSHIRT-RED", "Lyon", "Flat Rate"):
        assert section in page, section


def test_payment_section_shows_channel_information_and_links(client, store, products):
    class DemoChannel(channels.OrderChannel):
        origin = "demo"

        def payment_links(self, order):
            return [("View Demo Order", f"https://demo.invalid/{order.external_order_number}")]

    channels.register(DemoChannel())
    try:
        order = factories.make_order(
            store=store, items=[factories.line(products[0], 1)], origin="demo", external_order_number="D-42",
            payment_method_title="Demo Payment", payment_additional_information={"Demo Order Number": "D-42"},
        )
        page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    finally:
        channels._channels.pop("demo")
    assert "Demo Payment" in page and "Demo Order Number" in page and "D-42" in page
    assert 'href="https://demo.invalid/D-42"' in page and "View Demo Order" in page


def test_invoice_part_then_errors_next_to_the_field(client, order):
    items = _items(order)
    tshirt, mug = items["TSHIRT-RED"], items["MUG-BLUE"]
    page = client.get(f"/sales/orders/{order.pk}/invoice/new/")
    assert page.status_code == 200 and f'name="qty_{tshirt.pk}"' in page.content.decode()

    # "Update Qty's" recomputes the totals and saves nothing.
    response = client.post(f"/sales/orders/{order.pk}/invoice/new/",
                           {f"qty_{tshirt.pk}": "1", f"qty_{mug.pk}": "0", "update": "1"})
    assert response.status_code == 200
    assert response.context["totals"]["subtotal"] == tshirt.price
    assert not Invoice.objects.exists()

    # Too many: the error is next to the field and nothing is saved.
    response = client.post(f"/sales/orders/{order.pk}/invoice/new/", {f"qty_{tshirt.pk}": "5", f"qty_{mug.pk}": "0"})
    assert response.status_code == 400
    assert response.context["form"].errors[f"qty_{tshirt.pk}"]
    assert not Invoice.objects.exists()

    response = client.post(f"/sales/orders/{order.pk}/invoice/new/",
                           {f"qty_{tshirt.pk}": "1", f"qty_{mug.pk}": "0", "comment": "First part"}, follow=True)
    assert "has been created" in response.content.decode()
    invoice = Invoice.objects.get()
    assert [(line.order_item.sku, line.qty) for line in invoice.items.all()] == [("TSHIRT-RED", 1)]


def test_email_copy_of_the_invoice(client, order, mailoutbox, django_capture_on_commit_callbacks):
    items = _items(order)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sales/orders/{order.pk}/invoice/new/", {
            f"qty_{items['TSHIRT-RED'].pk}": "2", f"qty_{items['MUG-BLUE'].pk}": "3", "notify_customer": "on",
            "comment": "Thank you!"})
    assert [message.to for message in mailoutbox] == [[order.customer_email]]
    assert Invoice.objects.get().number in mailoutbox[0].subject + mailoutbox[0].body


def test_nothing_to_invoice_is_a_form_error(client, order):
    items = _items(order)
    response = client.post(f"/sales/orders/{order.pk}/invoice/new/", {f"qty_{i.pk}": "0" for i in items.values()})
    assert response.status_code == 400
    assert "Enter a quantity to invoice" in response.content.decode()


def test_ship_in_two_packages_with_tracking(client, order):
    items = _items(order)
    tshirt, mug = items["TSHIRT-RED"], items["MUG-BLUE"]
    url = f"/sales/orders/{order.pk}/shipment/new/"
    # "Add Tracking Number" shows one more row and keeps what was typed.
    response = client.post(url, {"track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0", "track-0-carrier_code": "dhl",
                                 "track-0-number": "JD0001", f"qty_{tshirt.pk}": "2", f"qty_{mug.pk}": "0",
                                 "add_track": "1"})
    assert response.status_code == 200
    assert response.context["tracks"].total_form_count() == 2
    assert 'value="JD0001"' in response.content.decode()
    # A custom carrier needs a title: error next to the field, nothing saved.
    response = client.post(url, {"track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0",
                                 "track-0-carrier_code": "custom", "track-0-number": "X1",
                                 f"qty_{tshirt.pk}": "2", f"qty_{mug.pk}": "0"})
    assert response.status_code == 400
    assert response.context["tracks"].forms[0].errors["title"]
    assert not Shipment.objects.exists()

    client.post(url, {"track-TOTAL_FORMS": "2", "track-INITIAL_FORMS": "0",
                      "track-0-carrier_code": "dhl", "track-0-number": "JD0001",
                      "track-1-carrier_code": "custom", "track-1-title": "Coursier Lyon", "track-1-number": "CL-7",
                      f"qty_{tshirt.pk}": "2", f"qty_{mug.pk}": "0"})
    client.post(url, {"track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0", "track-0-carrier_code": "colissimo",
                      "track-0-number": "6A123", f"qty_{mug.pk}": "3"})
    shipments = list(Shipment.objects.order_by("id"))
    assert [s.total_qty for s in shipments] == [2, 3]
    assert [(t.title, t.number) for t in shipments[0].tracks.all()] == [("DHL", "JD0001"), ("Coursier Lyon", "CL-7")]
    tab = client.get(f"/sales/orders/{order.pk}/?tab=shipments").content.decode()
    assert "JD0001" in tab and "6A123" in tab
    # Everything shipped: the Ship button is gone and the page refuses with the rules' reason.
    response = client.get(url, follow=True)
    assert "Nothing is left to ship" in response.content.decode()


def test_refund_one_line_with_return_to_stock(client, order, products):
    tshirt_product = products[0]
    services.invoice_create(order=order, actor="tests")
    services.shipment_create(order=order, actor="tests")
    tshirt_product.refresh_from_db()
    stock_before = tshirt_product.qty
    items = _items(order)
    tshirt, mug = items["TSHIRT-RED"], items["MUG-BLUE"]
    url = f"/sales/orders/{order.pk}/creditmemo/new/"
    response = client.post(url, {f"qty_{tshirt.pk}": "1", f"stock_{tshirt.pk}": "on", f"qty_{mug.pk}": "0",
                                 "shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "1000"})
    assert response.status_code == 400  # a fee above the refund: error, nothing saved
    assert not CreditMemo.objects.exists()
    response = client.post(url, {f"qty_{tshirt.pk}": "1", f"stock_{tshirt.pk}": "on", f"qty_{mug.pk}": "0",
                                 "shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "0"},
                           follow=True)
    assert "You created the credit memo" in response.content.decode()
    memo = CreditMemo.objects.get()
    assert [(line.order_item.sku, line.qty, line.back_to_stock) for line in memo.items.all() if line.qty] == [
        ("TSHIRT-RED", 1, True)]
    tshirt_product.refresh_from_db()
    assert tshirt_product.qty == stock_before + 1
    assert "Total Refunded" in response.content.decode()


def test_cancel_hold_unhold_email_reorder(client, order):
    assert client.post(f"/sales/orders/{order.pk}/hold/").status_code == 302
    order.refresh_from_db()
    assert order.state == "holded"
    page = client.get(f"/sales/orders/{order.pk}/").content.decode()
    # Refused actions are shown disabled with the rule's reason; Hold and Unhold are one toggle.
    assert 'data-action="unhold"' in page and 'data-action="hold"' not in page
    assert 'data-action="cancel" disabled title="The order is on hold. Release the hold first."' in page
    # Cancel on a held order: refused by the rules with a message, nothing changes.
    response = client.post(f"/sales/orders/{order.pk}/cancel/", follow=True)
    assert "on hold" in response.content.decode()
    client.post(f"/sales/orders/{order.pk}/unhold/")
    order.refresh_from_db()
    assert order.state == "new"
    response = client.post(f"/sales/orders/{order.pk}/email/", follow=True)
    assert "You sent the order email." in response.content.decode()
    response = client.post(f"/sales/orders/{order.pk}/reorder/", follow=True)
    new_order = Order.objects.exclude(pk=order.pk).get()
    assert response.redirect_chain[-1][0] == f"/sales/orders/{new_order.pk}/"
    response = client.post(f"/sales/orders/{order.pk}/cancel/", follow=True)
    assert "You canceled the order." in response.content.decode()
    order.refresh_from_db()
    assert order.state == "canceled"


def test_comment_with_customer_notification_sends_the_email(client, order, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/sales/orders/{order.pk}/comment/", {
            "comment": "Your parcel leaves tomorrow.", "status": "pending", "notify_customer": "on",
            "visible_on_front": "on"}, follow=True)
    assert "The comment was added." in response.content.decode()
    assert "Your parcel leaves tomorrow." in response.content.decode()
    entry = order.history.filter(comment="Your parcel leaves tomorrow.").get()
    assert entry.is_customer_notified and entry.is_visible_on_front
    assert [message.to for message in mailoutbox] == [[order.customer_email]]
    assert "Your parcel leaves tomorrow." in mailoutbox[0].body


def test_empty_comment_is_an_error_next_to_the_field(client, order):
    response = client.post(f"/sales/orders/{order.pk}/comment/", {"comment": ""})
    assert response.status_code == 400
    assert response.context["comment_form"].errors["comment"]


def test_document_grids_search_and_print(client, order):
    invoice = services.invoice_create(order=order, actor="tests")
    shipment = services.shipment_create(order=order, actor="tests")
    for kind, document in (("invoices", invoice), ("shipments", shipment)):
        page = client.get(f"/sales/{kind}/?q={order.number}")
        assert document.number in page.content.decode()
        assert document.number not in client.get(f"/sales/{kind}/?q=nothing-like-it").content.decode()
        assert client.get(f"/sales/{kind}/?created_from=2999-01-01").context["page"].paginator.count == 0
        pdf = client.post(f"/sales/{kind}/print/", {"ids": [document.pk]})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/sales/invoices/999999/pdf/").status_code == 404


def test_unknown_order_is_404(client, db):
    assert client.get("/sales/orders/999999/").status_code == 404
    assert client.post("/sales/orders/999999/cancel/").status_code == 404


def test_csrf_is_enforced(order):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_role_user(OPERATOR, "csrf-op"))
    assert strict.post(f"/sales/orders/{order.pk}/hold/").status_code == 403
    order.refresh_from_db()
    assert order.state != "holded"


def test_document_view_pages(client, order):
    invoice = services.invoice_create(order=order, actor="tests")
    shipment = services.shipment_create(
        order=order, tracks=[{"carrier_code": "gls", "title": "", "number": "GLS-77"}], actor="tests")
    creditmemo = services.creditmemo_create(order=order, quantities={order.items.first().pk: 1},
                                            return_to_stock=[order.items.first().pk], actor="tests")
    page = client.get(f"/sales/invoices/{invoice.pk}/").content.decode()
    assert invoice.number in page and "TSHIRT-RED" in page and f"/sales/invoices/{invoice.pk}/pdf/" in page
    page = client.get(f"/sales/shipments/{shipment.pk}/").content.decode()
    assert "GLS-77" in page and "MUG-BLUE" in page
    page = client.get(f"/sales/creditmemos/{creditmemo.pk}/").content.decode()
    assert creditmemo.number in page and "Total Refunded" in page and "MUG-BLUE" not in page
    assert client.get("/sales/creditmemos/999999/").status_code == 404
    assert f"/sales/invoices/{invoice.pk}/" in client.get(f"/sales/orders/{order.pk}/?tab=invoices").content.decode()
