"""``/api/v1/invoices``, ``/shipments``, ``/creditmemos``: list (the document grids' filters, oldest first, cursor
pages), get, and the PDF the screens print.

The reads are the document grids' (``sales.selectors``) and the PDFs ``sales.pdf``'s, with the permissions of the
matching screens (``sales.view_invoice``, ``sales.view_shipment``, ``sales.view_creditmemo``).
"""

from __future__ import annotations

from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.orders import (
    READ_ERRORS,
    creditmemo_dict,
    invoice_dict,
    shipment_dict,
    with_lines,
)
from saleschannel.api.paging import page_by_pk
from saleschannel.api.schemas import (
    NO_NUL,
    CreditMemoOut,
    CreditMemoPageOut,
    InvoiceOut,
    InvoicePageOut,
    ShipmentOut,
    ShipmentPageOut,
)
from saleschannel.sales import pdf, selectors
from saleschannel.sales.forms import DocumentGridFilterForm
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import CreditMemo, Invoice, Shipment

router = Router(tags=["documents"])

MAX_LIMIT = 200
PDF_RESPONSE = {"responses": {"200": {"description": "The PDF the screens print.",
                                      "content": {"application/pdf": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}}}


class Kind:
    def __init__(self, model, grid, for_orders, render, present, permission, label):
        self.model, self.grid, self.for_orders, self.render = model, grid, for_orders, render
        self.present, self.permission, self.label = present, permission, label


INVOICES = Kind(Invoice, selectors.invoice_grid_queryset, selectors.invoices_for_orders, pdf.invoices_pdf,
                invoice_dict, "sales.view_invoice", "invoice")
SHIPMENTS = Kind(Shipment, selectors.shipment_grid_queryset, selectors.shipments_for_orders, pdf.packing_slips_pdf,
                 shipment_dict, "sales.view_shipment", "shipment")
CREDITMEMOS = Kind(CreditMemo, selectors.creditmemo_grid_queryset, selectors.creditmemos_for_orders,
                   pdf.creditmemos_pdf, creditmemo_dict, "sales.view_creditmemo", "creditmemo")


class DocumentListQuery(Schema):
    q: str = Field("", max_length=200, json_schema_extra=NO_NUL, description="The document grid's keyword: "
                   "document or order number, customer email or name.")
    order_id: str = Field("", description="Only the documents of this order.", pattern=r"^([1-9][0-9]{0,17})?$")
    created_from: str = Field("", description="Created from (YYYY-MM-DD, server time zone).")
    created_to: str = Field("", description="Created to, inclusive (YYYY-MM-DD).")
    cursor: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


def _list(kind: Kind, params: DocumentListQuery) -> dict:
    query = QueryDict(mutable=True)
    for key in ("q", "created_from", "created_to"):
        if getattr(params, key):
            query[key] = getattr(params, key)
    form = DocumentGridFilterForm(query)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ApiProblem(400, f"{field}: {messages[0]}", field=field)
    filters = selectors.DocumentFilters(keyword=form.cleaned_data["q"] or "",
                                        created_from=form.cleaned_data["created_from"],
                                        created_to=form.cleaned_data["created_to"])
    documents = kind.grid(filters).order_by("id")
    if params.order_id:
        order_id = parse_id(params.order_id)
        if order_id is None:
            raise ApiProblem(400, _("order_id is not an order id."), field="order_id")
        documents = documents.filter(order_id=order_id)
    page, next_cursor = page_by_pk(with_lines(documents, kind.model), cursor=params.cursor, limit=params.limit)
    return {"items": [kind.present(document) for document in page], "next_cursor": next_cursor}


def _missing(kind: Kind) -> ApiProblem:
    return ApiProblem(404, _("This %(kind)s does not exist.") % {"kind": kind.label})


def _get(kind: Kind, raw_id: str) -> dict:
    document_id = parse_id(raw_id)
    document = with_lines(kind.model.objects, kind.model).filter(pk=document_id).first() if document_id else None
    if document is None:
        raise _missing(kind)
    return kind.present(document)


def _pdf(kind: Kind, raw_id: str) -> HttpResponse:
    document_id = parse_id(raw_id)
    order_id = kind.model.objects.filter(pk=document_id).values_list("order_id", flat=True).first() \
        if document_id else None
    documents = [d for d in kind.for_orders([order_id]) if d.pk == document_id] if order_id else []
    if not documents:
        raise _missing(kind)
    response = HttpResponse(kind.render(documents), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{kind.label}-{documents[0].number}.pdf"'
    return response


@router.get("/invoices", response={200: InvoicePageOut, **READ_ERRORS}, auth=TokenAuth(INVOICES.permission))
def list_invoices(request, params: Query[DocumentListQuery]):
    """Invoices, oldest first, a page at a time: follow `next_cursor` until it is null."""
    return _list(INVOICES, params)


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **READ_ERRORS},
            auth=TokenAuth(INVOICES.permission))
def get_invoice(request, invoice_id: str):
    """One invoice with its lines."""
    return _get(INVOICES, invoice_id)


@router.get("/invoices/{invoice_id}/pdf", response=READ_ERRORS, auth=TokenAuth(INVOICES.permission),
            openapi_extra=PDF_RESPONSE)
def get_invoice_pdf(request, invoice_id: str):
    """The invoice as PDF."""
    return _pdf(INVOICES, invoice_id)


@router.get("/shipments", response={200: ShipmentPageOut, **READ_ERRORS}, auth=TokenAuth(SHIPMENTS.permission))
def list_shipments(request, params: Query[DocumentListQuery]):
    """Shipments with their tracking numbers, oldest first, a page at a time."""
    return _list(SHIPMENTS, params)


@router.get("/shipments/{shipment_id}", response={200: ShipmentOut, **READ_ERRORS},
            auth=TokenAuth(SHIPMENTS.permission))
def get_shipment(request, shipment_id: str):
    """One shipment with its lines and tracking numbers."""
    return _get(SHIPMENTS, shipment_id)


@router.get("/shipments/{shipment_id}/pdf", response=READ_ERRORS, auth=TokenAuth(SHIPMENTS.permission),
            openapi_extra=PDF_RESPONSE)
def get_shipment_pdf(request, shipment_id: str):
    """The shipment's packing slip as PDF."""
    return _pdf(SHIPMENTS, shipment_id)


@router.get("/creditmemos", response={200: CreditMemoPageOut, **READ_ERRORS},
            auth=TokenAuth(CREDITMEMOS.permission))
def list_creditmemos(request, params: Query[DocumentListQuery]):
    """Credit memos, oldest first, a page at a time."""
    return _list(CREDITMEMOS, params)


@router.get("/creditmemos/{creditmemo_id}", response={200: CreditMemoOut, **READ_ERRORS},
            auth=TokenAuth(CREDITMEMOS.permission))
def get_creditmemo(request, creditmemo_id: str):
    """One credit memo with its lines."""
    return _get(CREDITMEMOS, creditmemo_id)


@router.get("/creditmemos/{creditmemo_id}/pdf", response=READ_ERRORS, auth=TokenAuth(CREDITMEMOS.permission),
            openapi_extra=PDF_RESPONSE)
def get_creditmemo_pdf(request, creditmemo_id: str):
    """The credit memo as PDF."""
    return _pdf(CREDITMEMOS, creditmemo_id)
