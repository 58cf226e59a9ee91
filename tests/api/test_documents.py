"""Invoices, shipments and credit memos: list (grid filters, cursor pages, constant queries), get, PDF."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleschannel.sales.models import Invoice
from saleschannel.sales.services import creditmemo_create, invoice_create, shipment_create
from tests import factories


def _orders(store, count: int):
    product = factories.make_product(qty=10000)
    return [factories.make_order(store=store, items=[factories.line(product, 2)]) for _ in range(count)]


def test_invoices_list_pages_and_filters(operator_api, store):
    orders = _orders(store, 5)
    invoices = [invoice_create(order=order, actor="tests") for order in orders]
    seen, cursor = [], ""
    while True:
        body = operator_api.get("/api/v1/invoices", {"limit": "2", **({"cursor": cursor} if cursor else {})}).json()
        seen += [row["id"] for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [invoice.pk for invoice in invoices]
    only = operator_api.get("/api/v1/invoices", {"order_id": str(orders[2].pk)}).json()["items"]
    assert [row["number"] for row in only] == [invoices[2].number]
    assert only[0]["order_number"] == orders[2].number and only[0]["items"][0]["qty"] == 2
    found = operator_api.get("/api/v1/invoices", {"q": invoices[3].number}).json()["items"]
    assert [row["id"] for row in found] == [invoices[3].pk]
    assert operator_api.get("/api/v1/invoices", {"created_to": "2000-01-01"}).json()["items"] == []


@pytest.mark.parametrize("params", [{"cursor": "!!"}, {"cursor": "MA"}, {"order_id": "\u0663"}, {"limit": "0"},
                                    {"created_from": "nope"}, {"q": "\x00"}])
def test_bad_document_list_parameters_are_400(operator_api, params):
    response = operator_api.get("/api/v1/shipments", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")


def test_get_shipment_and_creditmemo(operator_api, order):
    mug = order.items.get(sku="MUG-BLUE")
    invoice_create(order=order, actor="tests")
    shipment = shipment_create(order=order, quantities={mug.pk: 2}, actor="tests",
                               tracks=[{"carrier_code": "dhl", "number": "JD01"}])
    memo = creditmemo_create(order=order, quantities={mug.pk: 1}, shipping_refund=0, actor="tests")
    body = operator_api.get(f"/api/v1/shipments/{shipment.pk}").json()
    assert body["tracks"] == [{"carrier_code": "dhl", "title": "DHL", "number": "JD01"}]
    assert body["items"] == [{"order_item_id": mug.pk, "sku": "MUG-BLUE", "qty": 2}]
    body = operator_api.get(f"/api/v1/creditmemos/{memo.pk}").json()
    assert body["grand_total"] == str(memo.grand_total) and body["order_id"] == order.pk
    for path in ("/api/v1/invoices/0", f"/api/v1/invoices/{shipment.pk + 99}", "/api/v1/shipments/\u0663",
                 "/api/v1/creditmemos/" + "9" * 30, "/api/v1/creditmemos/99/pdf"):
        response = operator_api.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path


def test_pdfs(viewer_api, order):
    invoice = invoice_create(order=order, actor="tests")
    shipment = shipment_create(order=order, actor="tests")
    for path, name in ((f"/api/v1/invoices/{invoice.pk}/pdf", f"invoice-{invoice.number}.pdf"),
                       (f"/api/v1/shipments/{shipment.pk}/pdf", f"shipment-{shipment.number}.pdf")):
        response = viewer_api.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
        assert name in response["Content-Disposition"]


def _list_queries(client, store, count: int) -> int:
    for order in _orders(store, count):
        invoice_create(order=order, actor="tests")
        shipment_create(order=order, actor="tests", tracks=[{"carrier_code": "ups", "number": "1Z"}])
    client.get("/api/v1/shipments", {"limit": "200"})  # the token's last use is written once a minute
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/shipments", {"limit": "200"})
    assert len(response.json()["items"]) == count
    return len(queries)


# The token, the user's permissions (2), then the page: shipments (with their orders), lines, tracks.
DOCUMENT_LIST_QUERIES = 6


@pytest.mark.parametrize("count", [5, 50])
def test_document_list_query_count_does_not_grow(operator_api, store, count):
    assert _list_queries(operator_api, store, count) == DOCUMENT_LIST_QUERIES
    assert Invoice.objects.count() == count
