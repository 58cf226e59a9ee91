"""The permission matrix: every back-office view and action × every role → allowed or refused.

Refused means 403 with a message for a signed-in user and a redirect to the sign-in page for a visitor. Allowed
means anything else (the page, a PDF, a redirect after the action, or the rules' own refusal as a message).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from saleschannel.core.models import SavedGridView
from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER
from saleschannel.customers.models import Customer
from saleschannel.sales import services
from tests import factories
from tests.factories import client_for, make_role_user

ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, VIEWER, OPERATOR, ADMINISTRATOR)
READ = {VIEWER, OPERATOR, ADMINISTRATOR}
PROCESS = {OPERATOR, ADMINISTRATOR}
SETTINGS = {ADMINISTRATOR}


@pytest.fixture
def world(store, products, staff_user):
    tshirt, mug, _cap = products
    order = factories.make_order(store=store, items=[factories.line(tshirt, 2), factories.line(mug, 1)],
                                 actor=staff_user)
    invoiced = factories.make_order(store=store, items=[factories.line(tshirt, 1)], actor=staff_user)
    invoice = services.invoice_create(order=invoiced, actor=staff_user)
    shipment = services.shipment_create(order=invoiced, actor=staff_user)
    creditmemo = services.creditmemo_create(order=invoiced, actor=staff_user)
    other_order = factories.make_order(store=store, items=[factories.line(mug, 1)], actor=staff_user)
    person = Customer.objects.create(email="c@example.com", first_name="Cé", last_name="Line", store=store)
    other_view = SavedGridView.objects.create(user=staff_user, grid="orders", name="Staff's", query="q=1")
    return {"staff": staff_user, "other_view": other_view,
            "order": order, "invoice": invoice, "shipment": shipment, "creditmemo": creditmemo,
            "product": tshirt, "customer": person, "store": store, "other_order": other_order}


# (name, method, url template, data, who may)
MATRIX = [
    ("dashboard", "get", "/", None, READ),
    ("password change", "get", "/password/", None, READ),
    ("order grid", "get", "/sales/orders/", None, READ),
    ("order grid csv", "get", "/sales/orders/export.csv", None, READ),
    ("order view", "get", "/sales/orders/{order}/", None, READ),
    ("order history tab", "get", "/sales/orders/{order}/?tab=history", None, READ),
    ("save grid view", "post", "/sales/orders/views/", {"name": "Mine", "query": "q=x"}, READ),
    ("delete someone else's grid view", "post", "/sales/orders/views/{other_view}/delete/", {}, READ),
    ("invoice grid", "get", "/sales/invoices/", None, READ),
    ("shipment grid", "get", "/sales/shipments/", None, READ),
    ("credit memo grid", "get", "/sales/creditmemos/", None, READ),
    ("invoice view", "get", "/sales/invoices/{invoice}/", None, READ),
    ("shipment view", "get", "/sales/shipments/{shipment}/", None, READ),
    ("credit memo view", "get", "/sales/creditmemos/{creditmemo}/", None, READ),
    ("invoice pdf", "get", "/sales/invoices/{invoice}/pdf/", None, READ),
    ("packing slip pdf", "get", "/sales/shipments/{shipment}/pdf/", None, READ),
    ("credit memo pdf", "get", "/sales/creditmemos/{creditmemo}/pdf/", None, READ),
    ("print selected invoices", "post", "/sales/invoices/print/", {"ids": ["{invoice}"]}, READ),
    ("print selected packing slips", "post", "/sales/shipments/print/", {"ids": ["{shipment}"]}, READ),
    ("print selected credit memos", "post", "/sales/creditmemos/print/", {"ids": ["{creditmemo}"]}, READ),
    ("mass print invoices", "post", "/sales/orders/mass-action/",
     {"action": "print_invoices", "order_ids": ["{invoice_order}"]}, READ),
    ("products", "get", "/catalog/products/", None, READ),
    ("product view", "get", "/catalog/products/{product}/", None, READ),
    ("customers", "get", "/customers/", None, READ),
    ("customer view", "get", "/customers/{customer}/", None, READ),
    # Order processing.
    ("cancel", "post", "/sales/orders/{order}/cancel/", {}, PROCESS),
    ("hold", "post", "/sales/orders/{order}/hold/", {}, PROCESS),
    ("unhold", "post", "/sales/orders/{order}/unhold/", {}, PROCESS),
    ("send email", "post", "/sales/orders/{order}/email/", {}, PROCESS),
    ("reorder", "post", "/sales/orders/{order}/reorder/", {}, PROCESS),
    ("comment", "post", "/sales/orders/{order}/comment/", {"comment": "Called the customer."}, PROCESS),
    ("new invoice page", "get", "/sales/orders/{order}/invoice/new/", None, PROCESS),
    ("create invoice", "post", "/sales/orders/{order}/invoice/new/", {"qty_{item}": "1"}, PROCESS),
    ("new shipment page", "get", "/sales/orders/{order}/shipment/new/", None, PROCESS),
    ("create shipment", "post", "/sales/orders/{order}/shipment/new/",
     {"qty_{item}": "1", "track-TOTAL_FORMS": "0", "track-INITIAL_FORMS": "0"}, PROCESS),
    ("new credit memo page", "get", "/sales/orders/{invoice_order}/creditmemo/new/", None, PROCESS),
    ("create credit memo", "post", "/sales/orders/{invoice_order}/creditmemo/new/",
     {"adjustment_refund": "1"}, PROCESS),
    ("mass unhold", "post", "/sales/orders/mass-action/", {"action": "unhold", "order_ids": ["{order}"]}, PROCESS),
    ("mass cancel", "post", "/sales/orders/mass-action/", {"action": "cancel", "order_ids": ["{order}"]}, PROCESS),
    ("mass hold", "post", "/sales/orders/mass-action/", {"action": "hold", "order_ids": ["{order}"]}, PROCESS),
    ("edit product", "post", "/catalog/products/{product}/edit/",
     {"name": "T-shirt", "price": "19.99", "qty": "60", "enabled": "on", "manage_stock": "on", "is_in_stock": "on"},
     PROCESS),
    ("edit customer", "post", "/customers/{customer}/edit/",
     {"first_name": "Cé", "last_name": "Line", "email": "c2@example.com"}, PROCESS),
    # Settings.
    ("order statuses", "get", "/settings/statuses/", None, SETTINGS),
    ("create order status", "post", "/settings/statuses/",
     {"code": "packed", "label": "Packed", "state": "processing"}, SETTINGS),
    ("stores", "get", "/settings/stores/", None, SETTINGS),
    ("new store", "get", "/settings/stores/new/", None, SETTINGS),
    ("edit store", "get", "/settings/stores/{store}/", None, SETTINGS),
    ("save store", "post", "/settings/stores/{store}/",
     {"code": "us", "name": "US", "currency": "USD", "locale": "en", "is_active": "on"}, SETTINGS),
    ("users", "get", "/settings/users/", None, SETTINGS),
    ("new user", "get", "/settings/users/new/", None, SETTINGS),
    ("edit user", "get", "/settings/users/{staff}/", None, SETTINGS),
    ("create user", "post", "/settings/users/new/",
     {"username": "newbie", "role": VIEWER, "is_active": "on", "password": "Another-pass-77"}, SETTINGS),
]


def _fill(value, ids):
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "data", "allowed"), MATRIX, ids=[row[0] for row in MATRIX])
def test_permission_matrix(world, role, name, method, url, data, allowed):
    ids = {"order": world["order"].pk, "invoice": world["invoice"].pk, "shipment": world["shipment"].pk,
           "creditmemo": world["creditmemo"].pk, "product": world["product"].pk, "customer": world["customer"].pk,
           "store": world["store"].pk, "invoice_order": world["invoice"].order_id,
           "item": world["order"].items.first().pk, "staff": world["staff"].pk, "other_view": world["other_view"].pk}
    client = Client() if role == ANONYMOUS else client_for(make_role_user(role))
    url = url.format(**ids)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, {_fill(k, ids): _fill(v, ids) for k, v in data.items()})

    if role == ANONYMOUS:
        assert response.status_code == 302 and response["Location"].startswith("/login/"), name
    elif role in allowed:
        assert not response.get("Location", "").startswith("/login/")
        assert response.status_code != 403, f"{role} should be allowed to {name}"
        assert response.status_code < 500
    else:
        assert response.status_code == 403, f"{role} should be refused {name}"
        assert b'role="alert"' in response.content  # the page says why


def test_refused_action_changes_nothing(world):
    viewer = client_for(make_role_user(VIEWER))
    order = world["order"]
    response = viewer.post(f"/sales/orders/{order.pk}/cancel/")
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state != "canceled"
    response = viewer.post("/sales/orders/mass-action/", {"action": "hold", "order_ids": [order.pk]})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state != "holded"


def test_viewer_sees_no_action_buttons(world):
    page = client_for(make_role_user(VIEWER)).get(f"/sales/orders/{world['order'].pk}/").content.decode()
    assert 'data-action="' not in page
    assert 'id="comment-form"' not in page
    grid = client_for(make_role_user(VIEWER, "viewer2")).get("/sales/orders/").content.decode()
    assert 'value="cancel"' not in grid and 'value="print_invoices"' in grid


def test_operator_sees_the_buttons_the_rules_allow(world):
    page = client_for(make_role_user(OPERATOR)).get(f"/sales/orders/{world['order'].pk}/").content.decode()
    for action in ("cancel", "hold", "invoice", "ship", "email", "reorder"):
        assert f'data-action="{action}"' in page
    assert 'data-action="unhold"' not in page  # not on hold
    assert 'data-action="creditmemo" disabled title="Nothing paid is left to refund."' in page  # shown with why


def test_settings_menu_only_for_administrators(world):
    operator_page = client_for(make_role_user(OPERATOR)).get("/").content.decode()
    admin_page = client_for(make_role_user(ADMINISTRATOR)).get("/").content.decode()
    assert "/settings/users/" not in operator_page
    assert "/settings/users/" in admin_page


def test_inactive_user_cannot_sign_in(db):
    user = get_user_model().objects.create_user(username="gone", password="Backoffice-pass-42", is_active=False)
    assert not Client().login(username=user.username, password="Backoffice-pass-42")
