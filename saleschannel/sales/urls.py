from django.urls import path, register_converter

from saleschannel.sales import document_views, views
from saleschannel.sales.ids import parse_id


class IdConverter:
    """A primary key in a URL: like ``<id:…>`` (ASCII digits), but only within a bigint and above zero, so that
    ``/sales/invoices/99999999999999999999/`` is a 404 rather than a database error."""

    regex = "[0-9]{1,20}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # the URL does not match: 404
        return number

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")

app_name = "sales"

urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/export.csv", views.order_export_csv, name="order_export_csv"),
    path("orders/mass-action/", views.order_mass_action, name="order_mass_action"),
    path("orders/views/", views.order_view_save, name="order_view_save"),
    path("orders/views/<id:view_id>/delete/", views.order_view_delete, name="order_view_delete"),
    path("orders/<id:order_id>/", views.order_view, name="order_view"),
    path("orders/<id:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<id:order_id>/hold/", views.order_hold, name="order_hold"),
    path("orders/<id:order_id>/unhold/", views.order_unhold, name="order_unhold"),
    path("orders/<id:order_id>/email/", views.order_email, name="order_email"),
    path("orders/<id:order_id>/reorder/", views.order_reorder, name="order_reorder"),
    path("orders/<id:order_id>/comment/", views.order_comment, name="order_comment"),
    path("orders/<id:order_id>/invoice/new/", views.invoice_new, name="invoice_new"),
    path("orders/<id:order_id>/shipment/new/", views.shipment_new, name="shipment_new"),
    path("orders/<id:order_id>/creditmemo/new/", views.creditmemo_new, name="creditmemo_new"),
    path("invoices/", document_views.invoice_list, name="invoice_list"),
    path("invoices/print/", document_views.invoice_mass_print, name="invoice_mass_print"),
    path("invoices/<id:document_id>/", document_views.invoice_view, name="invoice_view"),
    path("invoices/<id:document_id>/pdf/", document_views.invoice_pdf, name="invoice_pdf"),
    path("shipments/", document_views.shipment_list, name="shipment_list"),
    path("shipments/print/", document_views.shipment_mass_print, name="shipment_mass_print"),
    path("shipments/<id:document_id>/", document_views.shipment_view, name="shipment_view"),
    path("shipments/<id:document_id>/pdf/", document_views.shipment_pdf, name="shipment_pdf"),
    path("creditmemos/", document_views.creditmemo_list, name="creditmemo_list"),
    path("creditmemos/print/", document_views.creditmemo_mass_print, name="creditmemo_mass_print"),
    path("creditmemos/<id:document_id>/", document_views.creditmemo_view, name="creditmemo_view"),
    path("creditmemos/<id:document_id>/pdf/", document_views.creditmemo_pdf, name="creditmemo_pdf"),
]
