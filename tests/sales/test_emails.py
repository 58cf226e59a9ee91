"""Customer emails: order, invoice, shipment, credit memo and comment, in English and in French."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.utils import timezone

from saleschannel.catalog.models import Store
from saleschannel.core.money import format_money
from saleschannel.sales import emails
from saleschannel.sales.models import (
    CreditMemo,
    CreditMemoItem,
    Invoice,
    InvoiceItem,
    Order,
    OrderAddress,
    OrderItem,
    OrderPayment,
    Shipment,
    ShipmentItem,
    ShipmentTrack,
)
from saleschannel.sales.tasks import sales_email_send

pytestmark = pytest.mark.django_db

BUYER_EMAIL = "zoe.buyer@example.com"


# --- Small builders: rows written directly, as a finished order would have them -------------------------------



def money(amount: str, locale: str) -> str:
    """An amount in dollars as the e-mail writes it for ``locale`` ("$39.98", "39,98 $US")."""
    return format_money(Decimal(amount), "USD", locale=locale)

def build_order(*, locale="en", currency="USD", number="100000042", first_name="Zoë", last_name="Ångström-Łukasz",
                unit_price="19.99", qty=2, store_code=None) -> Order:
    store = Store.objects.create(
        code=store_code or f"store-{locale}-{currency.lower()}-{number}", name="Maison Étoile", currency=currency,
        locale=locale,
    )
    price = Decimal(unit_price)
    row_total = price * qty
    shipping = Decimal("5") if currency == "JPY" else Decimal("4.50")
    tax = Decimal("0")
    order = Order.objects.create(
        number=number, store=store, currency=currency, state="processing", status="processing",
        customer_email=BUYER_EMAIL, customer_first_name=first_name, customer_last_name=last_name,
        shipping_method_code="flatrate", shipping_method_title="Colissimo Expert",
        subtotal=row_total + Decimal("7"), shipping_amount=shipping, tax_amount=tax,
        grand_total=row_total + Decimal("7") + shipping + tax, total_paid=row_total + Decimal("7") + shipping,
        created_at=timezone.now(),
    )
    for address_type in ("billing", "shipping"):
        OrderAddress.objects.create(
            order=order, address_type=address_type, first_name=first_name, last_name=last_name,
            street1="12 rue des Lilas", city="Lyon", postcode="69003", country_code="FR", phone="+33 4 00 00 00 00",
        )
    OrderPayment.objects.create(
        order=order, method_code="amazon", method_title="Amazon Pay",
        additional_information={"Amazon Order Number": "171-1234567-7654321"},
    )
    OrderItem.objects.create(
        order=order, sku="MUG-BLUE", name="Tasse bleue « Étoile »", qty_ordered=qty, qty_invoiced=qty,
        qty_shipped=qty, price=price, original_price=price, row_total=row_total,
    )
    OrderItem.objects.create(
        order=order, sku="SPOON-1", name="Cuillère", qty_ordered=1, qty_invoiced=1, qty_shipped=1,
        price=Decimal("7"), original_price=Decimal("7"), row_total=Decimal("7"),
    )
    return order


def build_invoice(order: Order, number="INV-300000007") -> Invoice:
    invoice = Invoice.objects.create(
        number=number, order=order, subtotal=order.subtotal, shipping_amount=order.shipping_amount,
        tax_amount=order.tax_amount, grand_total=order.grand_total, created_by="admin",
    )
    for item in order.items.all():
        InvoiceItem.objects.create(
            invoice=invoice, order_item=item, qty=item.qty_ordered, price=item.price, row_total=item.row_total
        )
    return invoice


def build_shipment(order: Order, number="SHP-500000003", tracks=(("ups", "UPS", "1Z999AA10123456784"),
                                                                 ("colissimo", "Colissimo", "6A12345678901"))):
    shipment = Shipment.objects.create(number=number, order=order, total_qty=3, created_by="admin")
    for item in order.items.all():
        ShipmentItem.objects.create(shipment=shipment, order_item=item, qty=item.qty_ordered)
    for carrier_code, title, tracking_number in tracks:
        ShipmentTrack.objects.create(shipment=shipment, carrier_code=carrier_code, title=title, number=tracking_number)
    return shipment


def build_creditmemo(order: Order, number="CM-700000009") -> CreditMemo:
    mug = order.items.get(sku="MUG-BLUE")
    creditmemo = CreditMemo.objects.create(
        number=number, order=order, subtotal=mug.price, adjustment_refund=Decimal("3"), adjustment_fee=Decimal("1"),
        grand_total=mug.price + Decimal("2"), created_by="admin",
    )
    CreditMemoItem.objects.create(
        creditmemo=creditmemo, order_item=mug, qty=1, price=mug.price, row_total=mug.price, back_to_stock=True
    )
    return creditmemo


def only_message(mailoutbox):
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [BUYER_EMAIL]
    assert not message.cc and not message.bcc
    html = message.alternatives[0].content
    return message, message.body, html


# --- Order email ----------------------------------------------------------------------------------------------


def test_order_email_in_english_lists_items_totals_addresses_and_methods(mailoutbox, settings):
    order = build_order()

    subject = emails.send_order_email(order=order)

    message, text, html = only_message(mailoutbox)
    assert subject == message.subject == "Your Maison Étoile order confirmation #100000042"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    for body in (text, html):
        assert "Tasse bleue" in body and "MUG-BLUE" in body
        assert "$19.99" in body  # unit price
        assert "$39.98" in body  # row total: 2 × 19.99
        assert "$51.48" in body  # grand total: 39.98 + 7 + 4.50
        assert "12 rue des Lilas" in body and "Lyon" in body
        assert "Amazon Pay" in body and "171-1234567-7654321" in body
        assert "Colissimo Expert" in body
        assert "Grand Total" in body and "Shipping Address" in body
    assert "Hello Zoë Ångström-Łukasz," in text
    assert "&#x27;" not in text and "&amp;" not in text  # the text part is not HTML-escaped


def test_order_email_in_french_uses_the_glossary(mailoutbox):
    order = build_order(locale="fr", currency="EUR")

    subject = emails.send_order_email(order=order)

    message, text, html = only_message(mailoutbox)
    assert subject == "Confirmation de votre commande n° 100000042 chez Maison Étoile"
    for body in (text, html):
        assert "Bonjour Zoë Ångström-Łukasz" in body
        assert "Adresse de facturation" in body and "Adresse de livraison" in body
        assert "Total général" in body and "Sous-total" in body
        assert "Frais de port et de manutention" in body
        assert "Numéro de commande Amazon : 171-1234567-7654321" in body
        assert "51,48\xa0€" in body  # French money (Babel): "51,48 €"
    assert "Articles commandés" in text


def test_store_locale_with_region_falls_back_to_its_language(mailoutbox):
    order = build_order(locale="fr_FR", currency="EUR")

    subject = emails.send_order_email(order=order)

    assert subject.startswith("Confirmation de votre commande")


def test_html_part_escapes_customer_text(mailoutbox):
    order = build_order(first_name="<b>Eve</b>")

    emails.send_order_email(order=order)

    _message, text, html = only_message(mailoutbox)
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "Hello <b>Eve</b>" in text


# --- Invoice, shipment, credit memo, comment -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected_subject", "words"),
    [
        ("en", "Invoice #INV-300000007 for your Maison Étoile order #100000042", ["Items Invoiced", "Grand Total"]),
        ("fr", "Facture n° INV-300000007 pour votre commande n° 100000042 chez Maison Étoile",
         ["Articles facturés", "Total général", "facture n° INV-300000007"]),
    ],
)
def test_invoice_email(mailoutbox, locale, expected_subject, words):
    order = build_order(locale=locale)
    invoice = build_invoice(order)

    subject = emails.send_invoice_email(invoice=invoice, comment="Merci & à bientôt")

    message, text, html = only_message(mailoutbox)
    assert subject == message.subject == expected_subject
    for body in (text, html):
        assert "INV-300000007" in body and "100000042" in body
        assert money("39.98", locale) in body and money("51.48", locale) in body
        for word in words:
            assert word in text
    assert "Merci & à bientôt" in text and "Merci &amp; à bientôt" in html


@pytest.mark.parametrize(
    ("locale", "expected_subject", "words"),
    [
        ("en", "Your Maison Étoile order #100000042 has shipped", ["Tracking Number", "Carrier", "Items Shipped"]),
        ("fr", "Votre commande n° 100000042 chez Maison Étoile a été expédiée",
         ["Numéro de suivi", "Transporteur", "Articles expédiés", "expédition n° SHP-500000003"]),
    ],
)
def test_shipment_email_lists_every_tracking_number(mailoutbox, locale, expected_subject, words):
    order = build_order(locale=locale)
    shipment = build_shipment(order)

    subject = emails.send_shipment_email(shipment=shipment)

    _message, text, html = only_message(mailoutbox)
    assert subject == expected_subject
    for body in (text, html):
        assert "SHP-500000003" in body
        assert "UPS" in body and "1Z999AA10123456784" in body
        assert "Colissimo" in body and "6A12345678901" in body
        assert "Cuillère" in body
        assert "$19.99" not in body  # a shipment email shows what was shipped, not prices
    for word in words:
        assert word in html and word in text


def test_shipment_track_without_title_shows_the_carrier_name(mailoutbox):
    order = build_order()
    shipment = build_shipment(order, tracks=[("dhl", "", "JD014600006281230704")])

    emails.send_shipment_email(shipment=shipment)

    _message, text, _html = only_message(mailoutbox)
    assert "DHL: JD014600006281230704" in text


@pytest.mark.parametrize(
    ("locale", "expected_subject", "words"),
    [
        ("en", "Credit memo #CM-700000009 for your Maison Étoile order #100000042",
         ["Items Refunded", "Adjustment Refund", "Adjustment Fee", "Total Refunded"]),
        ("fr", "Avoir n° CM-700000009 pour votre commande n° 100000042 chez Maison Étoile",
         ["Articles remboursés", "Remboursement d'ajustement", "Frais d'ajustement", "Total remboursé"]),
    ],
)
def test_creditmemo_email_shows_refunded_items_and_adjustments(mailoutbox, locale, expected_subject, words):
    order = build_order(locale=locale)
    creditmemo = build_creditmemo(order)

    subject = emails.send_creditmemo_email(creditmemo=creditmemo)

    _message, text, html = only_message(mailoutbox)
    assert subject == expected_subject
    for body in (text, html):
        assert "CM-700000009" in body
        assert "Tasse bleue" in body and "Cuillère" not in body  # only the refunded item
        assert money("3.00", locale) in body and money("-1.00", locale) in body  # adjustment refund and fee
        assert money("21.99", locale) in body  # refund total: 19.99 + 3 − 1
    for word in words:
        assert word in text


@pytest.mark.parametrize(
    ("locale", "expected_subject", "status_word"),
    [
        ("en", "Update to your Maison Étoile order #100000042", "Processing"),
        ("fr", "Mise à jour de votre commande n° 100000042 chez Maison Étoile", "En cours de traitement"),
    ],
)
def test_comment_email_carries_the_comment(mailoutbox, locale, expected_subject, status_word):
    order = build_order(locale=locale)

    subject = emails.send_comment_email(order=order, comment="Your parcel left our warehouse today.\nSee you!")

    _message, text, html = only_message(mailoutbox)
    assert subject == expected_subject
    assert "Your parcel left our warehouse today.\nSee you!" in text
    assert "Your parcel left our warehouse today.<br>See you!" in html
    assert status_word in text and status_word in html
    assert "100000042" in text


def test_jpy_amounts_have_no_decimals(mailoutbox):
    order = build_order(currency="JPY", unit_price="1980", first_name="太郎", last_name="山田")

    emails.send_order_email(order=order)

    _message, text, _html = only_message(mailoutbox)
    assert "¥1,980" in text and "¥3,960" in text
    assert "¥1,980.00" not in text
    assert "山田" in text


def test_emails_write_nothing_to_the_database(mailoutbox, django_assert_max_num_queries):
    order = build_order()
    shipment = build_shipment(order)
    order = Order.objects.select_related("store", "payment").get(pk=order.pk)
    shipment = Shipment.objects.select_related("order__store", "order__payment").get(pk=shipment.pk)

    with django_assert_max_num_queries(4) as captured:
        emails.send_shipment_email(shipment=shipment)

    assert all(query["sql"].lstrip().upper().startswith("SELECT") for query in captured.captured_queries)


# --- The background task --------------------------------------------------------------------------------------


def test_task_writes_the_order_email_to_the_mail_folder(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    order = build_order(locale="fr", currency="EUR")

    subject = sales_email_send("order", order.pk)()

    assert subject == "Confirmation de votre commande n° 100000042 chez Maison Étoile"
    (mail_file,) = tmp_path.iterdir()
    content = mail_file.read_text()
    assert f"To: {BUYER_EMAIL}" in content
    assert "100000042" in content
    order.refresh_from_db()
    assert order.email_sent is True


@pytest.mark.parametrize(
    ("kind", "build", "expected_number"),
    [
        ("invoice", build_invoice, "INV-300000007"),
        ("shipment", build_shipment, "SHP-500000003"),
        ("creditmemo", build_creditmemo, "CM-700000009"),
    ],
)
def test_task_sends_each_document_email(mailoutbox, kind, build, expected_number):
    document = build(build_order())

    subject = sales_email_send(kind, document.pk, comment="Thanks!")()

    message, text, _html = only_message(mailoutbox)
    assert subject == message.subject and "100000042" in subject
    assert expected_number in text
    assert "Thanks!" in text


def test_task_sends_the_comment_email(mailoutbox):
    order = build_order()

    sales_email_send("comment", order.pk, comment="We found your parcel.")()

    _message, text, _html = only_message(mailoutbox)
    assert "We found your parcel." in text


def test_task_for_a_missing_document_sends_nothing_and_logs_no_personal_data(mailoutbox, caplog):
    order = build_order()
    missing_id = order.pk + 1000

    with caplog.at_level(logging.WARNING, logger="saleschannel.sales.tasks"):
        assert sales_email_send("invoice", missing_id)() is None
        assert sales_email_send("order", missing_id)() is None

    assert mailoutbox == []
    assert str(missing_id) in caplog.text
    assert BUYER_EMAIL not in caplog.text and "Zoë" not in caplog.text


def test_task_with_an_unknown_kind_sends_nothing(mailoutbox, caplog):
    order = build_order()

    with caplog.at_level(logging.ERROR, logger="saleschannel.sales.tasks"):
        assert sales_email_send("newsletter", order.pk)() is None

    assert mailoutbox == []
    assert "newsletter" in caplog.text


# --- End to end: the services queue the emails on commit, the task sends them ---------------------------------


def test_services_email_the_customer_after_each_committed_change(
    mailoutbox, fr_store, products, django_capture_on_commit_callbacks
):
    from saleschannel.sales import services
    from tests import factories

    tshirt, mug, _cap = products
    with django_capture_on_commit_callbacks(execute=True):
        order = factories.make_order(
            store=fr_store, items=[factories.line(tshirt, 2), factories.line(mug, 1)], send_email=True,
            shipping_amount="4.90", shipping_method_title="Colissimo",
        )
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_create(order=order, notify_customer=True, actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.shipment_create(
            order=order, tracks=[{"carrier_code": "colissimo", "title": "Colissimo", "number": "8R00112233445"}],
            notify_customer=True, actor="tests",
        )

    assert [message.to for message in mailoutbox] == [["zoe@example.com"]] * 3
    confirmation, invoice_mail, shipment_mail = mailoutbox
    assert confirmation.subject == f"Confirmation de votre commande n° {order.number} chez Boutique France"
    assert "53,38\xa0€" in confirmation.body  # 2 × 19.99 + 8.50 + 4.90
    assert invoice.number in invoice_mail.subject and "Articles facturés" in invoice_mail.body
    assert shipment.number in shipment_mail.body and "Colissimo : 8R00112233445" in shipment_mail.body
    order.refresh_from_db()
    assert order.email_sent is True
