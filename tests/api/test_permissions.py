"""Permission matrix: each endpoint × each role, with the permission of the matching back-office screen."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from saleschannel.amazon import views as amazon_views
from saleschannel.api.api import api
from saleschannel.catalog import views as catalog_views
from saleschannel.catalog.models import ProductChange
from saleschannel.sales import views as sales_views
from tests.api.conftest import ApiClient, api_client_for, make_amazon_order

# (method, path) → (the screen doing the same, or the permission when no screen does, the body to send)
ENDPOINTS = {
    ("GET", "/api/v1/orders"): (sales_views.order_list, None),
    ("GET", "/api/v1/orders/{order_id}"): (sales_views.order_view, None),
    ("POST", "/api/v1/orders/{order_id}/invoices"): (sales_views.invoice_new, {}),
    ("POST", "/api/v1/orders/{order_id}/shipments"): (sales_views.shipment_new, {}),
    ("POST", "/api/v1/orders/{order_id}/creditmemos"): (sales_views.creditmemo_new, {}),
    ("POST", "/api/v1/orders/{order_id}/cancel"): (sales_views.order_cancel, {}),
    ("POST", "/api/v1/orders/{order_id}/hold"): (sales_views.order_hold, None),
    ("POST", "/api/v1/orders/{order_id}/unhold"): (sales_views.order_unhold, None),
    ("POST", "/api/v1/orders/{order_id}/comments"): (sales_views.order_comment, {"comment": "hi"}),
    ("POST", "/api/v1/orders/{order_id}/email"): (sales_views.order_email, None),
    ("GET", "/api/v1/invoices"): (sales_views.invoice_list, None),
    ("GET", "/api/v1/invoices/{invoice_id}"): (sales_views.invoice_view, None),
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"): (sales_views.invoice_pdf, None),
    ("GET", "/api/v1/shipments"): (sales_views.shipment_list, None),
    ("GET", "/api/v1/shipments/{shipment_id}"): (sales_views.shipment_view, None),
    ("GET", "/api/v1/shipments/{shipment_id}/pdf"): (sales_views.shipment_pdf, None),
    ("GET", "/api/v1/creditmemos"): (sales_views.creditmemo_list, None),
    ("GET", "/api/v1/creditmemos/{creditmemo_id}"): (sales_views.creditmemo_view, None),
    ("GET", "/api/v1/creditmemos/{creditmemo_id}/pdf"): (sales_views.creditmemo_pdf, None),
    ("GET", "/api/v1/amazon/orders"): (amazon_views.order_list, None),
    ("GET", "/api/v1/amazon/orders/{amazon_order_id}"): (amazon_views.order_detail, None),
    ("POST", "/api/v1/amazon/orders/{amazon_order_id}/cancel"): (amazon_views.order_cancel,
                                                                  {"reason": "NoInventory"}),
    ("POST", "/api/v1/amazon/orders/{amazon_order_id}/address"): (amazon_views.order_address_save,
                                                                   {"city": "Tacoma"}),
    ("GET", "/api/v1/amazon/outbox"): ("amazon.view_outboxmessage", None),
    ("POST", "/api/v1/amazon/outbox/{message_id}/retry"): (amazon_views.outbox_retry, {}),
    ("GET", "/api/v1/stores"): ("catalog.view_store", None),
    ("GET", "/api/v1/stores/{store_id}"): ("catalog.view_store", None),
    ("GET", "/api/v1/products"): (catalog_views.product_list, None),
    ("POST", "/api/v1/products"): (catalog_views.product_create, {"sku": "HAT-NEW", "name": "Hat", "price": "5"}),
    ("GET", "/api/v1/products/{sku}"): (catalog_views.product_view, None),
    ("PATCH", "/api/v1/products/{sku}"): (catalog_views.product_edit, {"name": "Blue mug"}),
    ("PATCH", "/api/v1/products/stock"): (catalog_views.product_stock,
                                          {"lines": [{"sku": "CAP-GREEN", "quantity": 4}]}),
}
WRITES = ("POST", "PATCH")
ROLES = ("administrator", "operator", "viewer")


def test_every_operation_is_in_the_matrix_with_the_screens_permission():
    schema = api.get_openapi_schema()
    operations = {(method.upper(), path) for path, methods in schema["paths"].items() for method in methods}
    assert operations == set(ENDPOINTS)
    auth_of = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for method in operation.methods:
                    auth_of[(method, operation.path)] = operation.auth_callbacks
    for (method, path), (screen, _body) in ENDPOINTS.items():
        (auth,) = auth_of[(method, path.removeprefix("/api/v1").replace("{sku}", "{path:sku}"))]
        required = (screen,) if isinstance(screen, str) else screen.required_permissions
        assert (auth.permission,) == required, (method, path)
    # An Amazon order's cancellation is the Amazon Order Details screen's, which asks the same.
    assert amazon_views.order_cancel.required_permissions == sales_views.order_cancel.required_permissions


def _expected(role: str, method: str) -> set[int]:
    if role == "viewer" and method in WRITES:
        return {403}
    return {200, 201, 409}  # allowed: done, or refused by the order's rules (never by the role)


@pytest.fixture
def documents(order):
    """An order with one invoice, one shipment and one credit memo (URLs name them)."""
    from saleschannel.amazon.models import AmazonStore, OutboxKind, OutboxMessage, OutboxState
    from saleschannel.sales import services

    mug = order.items.get(sku="MUG-BLUE")
    invoice = services.invoice_create(order=order, quantities={mug.pk: 2}, actor="tests")
    shipment = services.shipment_create(order=order, quantities={mug.pk: 1}, actor="tests")
    memo = services.creditmemo_create(order=order, quantities={mug.pk: 1}, shipping_refund=0, actor="tests")
    amazon_store = AmazonStore.objects.create(name="Seller", seller_id="A1", store=order.store)
    amazon = make_amazon_order(amazon_store)
    message = OutboxMessage.objects.create(amazon_order=amazon, kind=OutboxKind.SHIPMENT, state=OutboxState.DEAD,
                                           idempotency_key="api-matrix-1")
    return {"{order_id}": order.pk, "{invoice_id}": invoice.pk, "{shipment_id}": shipment.pk,
            "{creditmemo_id}": memo.pk, "{amazon_order_id}": amazon.amazon_order_id, "{store_id}": order.store_id,
            "{sku}": "MUG-BLUE", "{message_id}": message.pk}


def _url(path: str, ids: dict) -> str:
    for name, pk in ids.items():
        path = path.replace(name, str(pk))
    return path


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), sorted(ENDPOINTS))
def test_matrix(request, role, method, path, order, documents):
    client = api_client_for(request.getfixturevalue(role))
    url = _url(path, documents)
    lines, changes = order.history.count(), ProductChange.objects.count()
    response = client.send(method, url, ENDPOINTS[(method, path)][1])
    assert response.status_code in _expected(role, method), (role, method, path, response.content)
    if response.status_code == 403:
        assert response.json()["code"] == "forbidden"
        assert order.history.count() == lines and ProductChange.objects.count() == changes  # nothing happened


@pytest.mark.parametrize(("method", "path"), sorted(ENDPOINTS))
def test_no_token_and_no_role(method, path, documents):
    url = _url(path, documents)
    anonymous = ApiClient(None)
    assert anonymous.send(method, url, {}).status_code == 401
    nobody = api_client_for(get_user_model().objects.create_user(username="norole", password="x-Pass-12345"))
    assert nobody.send(method, url, {}).status_code == 403


def test_a_demoted_token_loses_its_rights_at_once(operator, order):
    from saleschannel.core.roles import VIEWER, assign_role

    client = api_client_for(operator)
    assert client.post(f"/api/v1/orders/{order.pk}/hold").status_code == 200
    assign_role(user=operator, role=VIEWER)
    assert client.post(f"/api/v1/orders/{order.pk}/unhold").status_code == 403
    assert client.get(f"/api/v1/orders/{order.pk}").status_code == 200
