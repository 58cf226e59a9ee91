"""Sales document screens: the invoice, shipment and credit memo grids, a document's page, its PDF and mass print.

Reads come from ``selectors`` and PDFs from ``pdf``; nothing here changes an order.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saleschannel.core.access import require
from saleschannel.core.collector import rarer_garbage_collections
from saleschannel.sales import item_rows, pdf, selectors
from saleschannel.sales.forms import DocumentGridFilterForm
from saleschannel.sales.ids import parse_id
from saleschannel.sales.models import CreditMemo, Invoice, Shipment
from saleschannel.sales.responses import bad_request, pdf_response, safe_next

# --- Document grids and PDFs -------------------------------------------------------------------------------------

DOCUMENTS = {
    "invoice": (Invoice, selectors.invoice_grid_queryset, selectors.invoices_for_orders, "invoices_pdf",
                "sales.view_invoice"),
    "shipment": (Shipment, selectors.shipment_grid_queryset, selectors.shipments_for_orders, "packing_slips_pdf",
                 "sales.view_shipment"),
    "creditmemo": (CreditMemo, selectors.creditmemo_grid_queryset, selectors.creditmemos_for_orders,
                   "creditmemos_pdf", "sales.view_creditmemo"),
}


def _document_list(request, kind: str):
    model, queryset, _for_orders, _pdf_name, _perm = DOCUMENTS[kind]
    form = DocumentGridFilterForm(request.GET or None)
    filters = selectors.DocumentFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.DocumentFilters(
            keyword=form.cleaned_data["q"] or "", created_from=form.cleaned_data["created_from"],
            created_to=form.cleaned_data["created_to"],
        )
    paginator = Paginator(queryset(filters), 20)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    titles = {"invoice": _("Invoices"), "shipment": _("Shipments"), "creditmemo": _("Credit Memos")}
    return render(request, f"sales/{kind}_list.html", {
        "form": form, "page": page, "kind": kind, "query": params.urlencode(), "current_url": request.get_full_path(),
        "title": titles[kind], "print_url": reverse(f"sales:{kind}_mass_print"), "pdf_url_name": f"sales:{kind}_pdf",
    })


@require("sales.view_invoice")
def invoice_list(request):
    return _document_list(request, "invoice")


@require("sales.view_shipment")
def shipment_list(request):
    return _document_list(request, "shipment")


@require("sales.view_creditmemo")
def creditmemo_list(request):
    return _document_list(request, "creditmemo")


def _documents_pdf(request, kind: str, document_ids):
    model, _queryset, for_orders, pdf_name, _perm = DOCUMENTS[kind]
    order_ids = set(model.objects.filter(pk__in=document_ids).values_list("order_id", flat=True))
    wanted = {int(pk) for pk in document_ids}
    documents = [document for document in for_orders(order_ids) if document.pk in wanted]
    if not documents:
        raise Http404(_("There are no printable documents."))
    number = documents[0].number if len(documents) == 1 else timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return pdf_response(getattr(pdf, pdf_name)(documents), f"{kind}-{number}.pdf")


def _document_view(kind: str):
    model, permission = DOCUMENTS[kind][0], DOCUMENTS[kind][4]

    @require(permission)
    @rarer_garbage_collections(collect=True)  # 10,000 lines: tens of thousands of objects (core.collector)
    def view(request, document_id: int):
        try:
            document = selectors.document_for_view(model, document_id)
        except model.DoesNotExist:
            raise Http404(_("This document no longer exists."))
        order = document.order
        addresses = selectors.addresses_by_type(order)
        return render(request, "sales/document_view.html", {
            "kind": kind, "document": document, "order": order, "billing": addresses.get("billing"),
            "shipping": addresses.get("shipping"), "payment": getattr(order, "payment", None),
            "lines": item_rows.document_rows([line for line in document.items.all() if line.qty], kind,
                                             order.currency),
            "pdf_url": reverse(f"sales:{kind}_pdf", args=[document.pk]),
        })

    view.__name__ = f"{kind}_view"
    return view


invoice_view = _document_view("invoice")
shipment_view = _document_view("shipment")
creditmemo_view = _document_view("creditmemo")


def _pdf_view(kind: str):
    permission = DOCUMENTS[kind][4]

    @require(permission)
    def view(request, document_id: int):
        return _documents_pdf(request, kind, [document_id])

    view.__name__ = f"{kind}_pdf"
    return view


invoice_pdf = _pdf_view("invoice")
shipment_pdf = _pdf_view("shipment")
creditmemo_pdf = _pdf_view("creditmemo")


def _mass_print_view(kind: str):
    permission = DOCUMENTS[kind][4]

    @require(permission)
    @require_POST
    def view(request):
        raw_ids = request.POST.getlist("ids")
        ids = [parse_id(raw) for raw in raw_ids]
        if None in ids:
            return bad_request(request, _("“%(value)s” is not a valid id.") % {
                "value": raw_ids[ids.index(None)][:40]})
        if not ids:
            messages.error(request, _("Select at least one document."))
            return HttpResponseRedirect(safe_next(request, reverse(f"sales:{kind}_list")))
        return _documents_pdf(request, kind, ids)

    view.__name__ = f"{kind}_mass_print"
    return view


invoice_mass_print = _mass_print_view("invoice")
shipment_mass_print = _mass_print_view("shipment")
creditmemo_mass_print = _mass_print_view("creditmemo")
