"""Invoice, packing slip and credit memo PDFs: valid files whose text says what the documents say."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader

from saleschannel.sales import pdf
from saleschannel.sales.models import CreditMemo, Invoice, OrderItem, Shipment
from tests.sales.test_emails import build_creditmemo, build_invoice, build_order, build_shipment

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> list[str]:
    """The text of each page."""
    assert data.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_invoice_pdf_shows_numbers_names_addresses_and_totals():
    order = build_order()
    invoice = build_invoice(order)

    (text,) = pdf_text(pdf.invoices_pdf([invoice]))

    assert "Maison Étoile" in text
    assert "Invoice # INV-300000007" in text and "Order # 100000042" in text
    assert "Zoë Ångström-Łukasz" in text  # non-ASCII buyer name drawn with an embedded font
    assert "12 rue des Lilas" in text and "Billing Address" in text and "Shipping Address" in text
    assert "Amazon Pay" in text and "Amazon Order Number: 171-1234567-7654321" in text
    assert "Colissimo Expert" in text
    assert "Tasse bleue « Étoile »" in text and "MUG-BLUE" in text
    assert "$39.98" in text and "Grand Total" in text and "$51.48" in text


def test_invoice_pdf_in_yen_has_no_decimals_and_draws_japanese_names():
    order = build_order(currency="JPY", unit_price="1980", first_name="太郎", last_name="山田")
    invoice = build_invoice(order)

    (text,) = pdf_text(pdf.invoices_pdf(Invoice.objects.filter(pk=invoice.pk)))

    assert "¥1,980" in text and "¥3,960" in text
    assert "¥1,980.00" not in text and "¥3,960.00" not in text
    assert "太郎 山田" in text


def test_invoice_pdf_in_french_for_a_french_store():
    order = build_order(locale="fr", currency="EUR")
    invoice = build_invoice(order)

    (text,) = pdf_text(pdf.invoices_pdf([invoice]))

    assert "Facture n° INV-300000007" in text and "Commande n° 100000042" in text
    assert "Adresse de facturation" in text and "Adresse de livraison" in text
    assert "Mode de paiement" in text and "Numéro de commande Amazon" in text
    assert "Total général" in text and re.search(r"51,48\s€", text)  # French money (Babel)


def test_bulk_invoices_print_one_document_after_the_other_in_each_store_language():
    english = build_invoice(build_order(number="100000001"), number="INV-1")
    french = build_invoice(build_order(number="100000002", locale="fr", currency="EUR"), number="INV-2")

    pages = pdf_text(pdf.invoices_pdf(Invoice.objects.filter(pk__in=[english.pk, french.pk]).order_by("pk")))

    assert len(pages) == 2
    assert "Invoice # INV-1" in pages[0] and "100000001" in pages[0]
    assert "Facture n° INV-2" in pages[1] and "100000002" in pages[1]


def test_bulk_printing_loads_everything_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    for n in range(5):
        build_invoice(build_order(number=f"20000000{n}"), number=f"INV-20{n}")

    with django_assert_max_num_queries(7):
        pages = pdf_text(pdf.invoices_pdf(Invoice.objects.all()))

    assert len(pages) == 5


def test_packing_slip_lists_quantities_and_tracking_numbers_but_no_prices():
    order = build_order()
    shipment = build_shipment(order)

    (text,) = pdf_text(pdf.packing_slips_pdf(Shipment.objects.filter(pk=shipment.pk)))

    assert "Packing Slip # SHP-500000003" in text and "Order # 100000042" in text
    assert "Zoë Ångström-Łukasz" in text
    assert "Tasse bleue" in text and "Cuillère" in text and "SPOON-1" in text
    assert "UPS" in text and "1Z999AA10123456784" in text and "6A12345678901" in text
    assert "$" not in text


def test_packing_slip_in_french():
    order = build_order(locale="fr", currency="EUR")
    shipment = build_shipment(order)

    (text,) = pdf_text(pdf.packing_slips_pdf([shipment]))

    assert "Bon de livraison n° SHP-500000003" in text
    assert "Transporteur" in text and "Numéro de suivi" in text


def test_creditmemo_pdf_shows_refunded_items_adjustments_and_total():
    order = build_order(currency="JPY", unit_price="1980", first_name="Søren", last_name="Śląski")
    creditmemo = build_creditmemo(order)

    (text,) = pdf_text(pdf.creditmemos_pdf(CreditMemo.objects.filter(pk=creditmemo.pk)))

    assert "Credit Memo # CM-700000009" in text and "Order # 100000042" in text
    assert "Søren Slaski" in text  # "Ś" and "ą" have no glyph in Vera: printed without their accents
    assert "Adjustment Refund" in text and "¥3" in text
    assert "Adjustment Fee" in text and "-¥1" in text
    assert "¥1,982" in text  # 1980 + 3 − 1
    assert "Cuillère" not in text


def test_nothing_selected_still_gives_a_readable_pdf():
    (text,) = pdf_text(pdf.creditmemos_pdf([]))

    assert "nothing to print" in text


def test_documents_made_by_the_services_print(order, staff_user):
    from saleschannel.sales import services

    invoice = services.invoice_create(order=order, actor=staff_user)
    shipment = services.shipment_create(
        order=order, tracks=[{"carrier_code": "ups", "title": "UPS", "number": "1Z12345E0205271688"}], actor=staff_user
    )
    tshirt_item = order.items.get(sku="TSHIRT-RED")
    creditmemo = services.creditmemo_create(order=order, quantities={tshirt_item.pk: 1}, actor=staff_user)

    (invoice_text,) = pdf_text(pdf.invoices_pdf(Invoice.objects.filter(pk=invoice.pk)))
    (slip_text,) = pdf_text(pdf.packing_slips_pdf(Shipment.objects.filter(pk=shipment.pk)))
    (memo_text,) = pdf_text(pdf.creditmemos_pdf(CreditMemo.objects.filter(pk=creditmemo.pk)))

    assert invoice.number in invoice_text and order.number in invoice_text
    assert "T-shirt rouge" in invoice_text and "Discount" in invoice_text
    assert f"${invoice.grand_total:,.2f}" in invoice_text
    assert shipment.number in slip_text and "1Z12345E0205271688" in slip_text and "Mug bleu" in slip_text
    assert creditmemo.number in memo_text and "T-shirt rouge" in memo_text and "Mug bleu" not in memo_text
    assert f"${creditmemo.grand_total:,.2f}" in memo_text


def test_each_document_numbers_its_own_pages():
    long_order = build_order(number="100000071")
    for n in range(70):
        OrderItem.objects.create(
            order=long_order, sku=f"BULK-{n:03}", name=f"Article en vrac {n}", qty_ordered=1, qty_invoiced=1,
            price=Decimal("1.00"), original_price=Decimal("1.00"), row_total=Decimal("1.00"),
        )
    long_invoice = build_invoice(long_order, number="INV-LONG")
    short_invoice = build_invoice(build_order(number="100000072", locale="fr", currency="EUR"), number="INV-SHORT")

    pages = pdf_text(pdf.invoices_pdf([long_invoice, short_invoice]))

    *long_pages, short_page = pages
    assert len(long_pages) >= 2
    for number, text in enumerate(long_pages, start=1):
        assert f"Invoice # INV-LONG · Page {number} of {len(long_pages)}" in text
    assert "BULK-069" in long_pages[-1] and "Grand Total" in long_pages[-1]
    assert "Facture n° INV-SHORT · Page 1 sur 1" in short_page
