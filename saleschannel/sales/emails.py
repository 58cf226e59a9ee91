"""Customer emails: order confirmation, invoice, shipment, credit memo and order comment (DESIGN.md §3.4).

Each ``send_*`` function renders a subject, a plain-text body and an HTML body from ``sales/email/*`` templates in
the language of the order's store, sends them to the order's customer only, and returns the subject. These
functions write nothing to the database: the services record the email in the order history, and
``sales.tasks.sales_email_send`` runs them in the background after the change is committed.

The helpers that turn an order into display lines (addresses, payment, dates, money) are shared with ``sales.pdf``
so that the emails and the printed documents say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel import dates as babel_dates
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from saleschannel.core.i18n import babel_locale, long_datetime
from saleschannel.core.money import format_money
from saleschannel.sales.models import (
    AddressType,
    Carrier,
    CreditMemo,
    Invoice,
    Order,
    OrderAddress,
    OrderPayment,
    OrderStatus,
    Shipment,
)

# Labels that other modules store as data (payment "additional information" keys, the default status labels of
# migration 0002). Marked here so that makemessages collects them and they read in French on a French store.
DATA_LABELS = (
    gettext_noop("Amazon Order Number"),
    gettext_noop("Pending"),
    gettext_noop("Pending Payment"),
    gettext_noop("Processing"),
    gettext_noop("Suspected Fraud"),
    gettext_noop("Complete"),
    gettext_noop("Closed"),
    gettext_noop("Canceled"),
    gettext_noop("On Hold"),
    gettext_noop("Payment Review"),
)


# --- Display helpers shared with sales.pdf -------------------------------------------------------------------


def store_language(store) -> str:
    """The store's locale as one of settings.LANGUAGES ("fr_FR", "fr-ca" → "fr"); English when unknown."""
    code = (store.locale or "").replace("_", "-").lower()
    available = {language for language, _name in settings.LANGUAGES}
    if code in available:
        return code
    base = code.split("-")[0]
    return base if base in available else settings.LANGUAGE_CODE


@contextmanager
def store_locale(store) -> Iterator[str]:
    """Render everything inside in the store's language (gettext, dates, number formats)."""
    language = store_language(store)
    with translation.override(language):
        yield language


def money_formatter(order: Order) -> Callable[[Decimal | None], str]:
    return lambda amount: format_money(amount, order.currency)


def deduction(amount: Decimal, currency: str) -> str:
    """An amount taken off a total, written "-$1.00" (``format_money`` alone would write "$-1.00")."""
    return f"-{format_money(amount, currency)}" if amount else format_money(amount, currency)


def local_date(moment, fmt: str = "DATE_FORMAT") -> str:
    """A stored time in the store's time zone (the configured one, never the operator's browser's), in the active
    language (the recipient's), in the one date style of ``core.i18n``: the long date ("November 29, 2026"), or
    with ``fmt="DATETIME_FORMAT"`` the long date and time with the zone named ("November 29, 2026, 9:19 PM (UTC)")."""
    if moment is None:
        return ""
    with timezone.override(settings.TIME_ZONE):
        if fmt == "DATETIME_FORMAT":
            return long_datetime(moment)
        if isinstance(moment, datetime) and timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return babel_dates.format_date(moment, "long", locale=babel_locale())


def order_addresses(order: Order) -> tuple[OrderAddress | None, OrderAddress | None]:
    """(billing, shipping); uses prefetched addresses when the caller prefetched them."""
    by_type = {address.address_type: address for address in order.addresses.all()}
    return by_type.get(AddressType.BILLING), by_type.get(AddressType.SHIPPING)


def address_lines(address: OrderAddress | None) -> list[str]:
    if address is None:
        return []
    place = ", ".join(part for part in (address.city, address.region, address.postcode) if part)
    lines = [address.full_name, address.company, *address.street_lines, place, address.country_code]
    if address.phone:
        lines.append(_("T: %(phone)s") % {"phone": address.phone})
    return [line for line in lines if line]


def labelled(label: str, value: object) -> str:
    """ "Label: value", with the colon spacing of the active language (French puts a space before it)."""
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def heading(label: str) -> str:
    """ "Label:" with the colon spacing of the active language, for plain-text headings."""
    return _("%(label)s:") % {"label": label}


def order_payment(order: Order) -> OrderPayment | None:
    try:
        return order.payment
    except OrderPayment.DoesNotExist:
        return None


def payment_lines(order: Order) -> list[str]:
    """The payment method title followed by its "label: value" extra information (e.g. the Amazon order number)."""
    payment = order_payment(order)
    if payment is None:
        return []
    lines = [payment.method_title or payment.method_code]
    for label, value in (payment.additional_information or {}).items():
        if value not in (None, "", [], {}):
            lines.append(labelled(_(str(label)), value))
    return lines


def status_label(order: Order) -> str:
    label = OrderStatus.objects.filter(code=order.status).values_list("label", flat=True).first()
    return _(label) if label else order.status


def carrier_title(track) -> str:
    """What the customer reads for a tracking number: the title staff typed, else the carrier's name."""
    if track.title:
        return track.title
    try:
        return str(Carrier(track.carrier_code).label)
    except ValueError:
        return track.carrier_code


@dataclass(frozen=True)
class TotalLine:
    label: str
    amount: str
    is_grand: bool = False

    @property
    def text(self) -> str:
        return labelled(self.label, self.amount)


def document_totals(document: Order | Invoice | CreditMemo) -> list[TotalLine]:
    """The totals block of an order, invoice or credit memo email (and PDF), in the order's currency.

    A discount or a credit memo's adjustments appear only when not zero; a credit memo's grand total is what was
    refunded.
    """
    order = document if isinstance(document, Order) else document.order
    money = money_formatter(order)
    lines = [
        TotalLine(_("Subtotal"), money(document.subtotal)),
        TotalLine(_("Shipping & Handling"), money(document.shipping_amount)),
    ]
    if document.discount_amount:
        lines.append(TotalLine(_("Discount"), deduction(document.discount_amount, order.currency)))
    is_creditmemo = isinstance(document, CreditMemo)
    if is_creditmemo and document.adjustment_refund:
        lines.append(TotalLine(_("Adjustment Refund"), money(document.adjustment_refund)))
    if is_creditmemo and document.adjustment_fee:
        lines.append(TotalLine(_("Adjustment Fee"), deduction(document.adjustment_fee, order.currency)))
    lines += [
        TotalLine(_("Tax"), money(document.tax_amount)),
        TotalLine(_("Total Refunded") if is_creditmemo else _("Grand Total"), money(document.grand_total),
                  is_grand=True),
    ]
    return lines


@dataclass(frozen=True)
class ItemLine:
    name: str
    sku: str
    qty: int
    price: str = ""
    tax: str = ""
    discount: str = ""
    row_total: str = ""


def _document_items(document) -> list:
    """A document's lines in the order's item order, with their order item, in one query (or none if prefetched)."""
    if "items" in getattr(document, "_prefetched_objects_cache", {}):
        return sorted(document.items.all(), key=lambda item: item.order_item_id)
    return list(document.items.select_related("order_item").order_by("order_item_id"))


def order_item_lines(order: Order) -> list[ItemLine]:
    money = money_formatter(order)
    return [
        ItemLine(
            name=item.name, sku=item.sku, qty=item.qty_ordered, price=money(item.price),
            tax=money(item.tax_amount), discount=money(item.discount_amount), row_total=money(item.row_total),
        )
        for item in order.items.all()
    ]


def invoice_item_lines(invoice: Invoice) -> list[ItemLine]:
    money = money_formatter(invoice.order)
    return [
        ItemLine(
            name=line.order_item.name, sku=line.order_item.sku, qty=line.qty, price=money(line.price),
            tax=money(line.tax_amount), discount=money(line.discount_amount), row_total=money(line.row_total),
        )
        for line in _document_items(invoice)
    ]


def shipment_item_lines(shipment: Shipment) -> list[ItemLine]:
    return [
        ItemLine(name=line.order_item.name, sku=line.order_item.sku, qty=line.qty)
        for line in _document_items(shipment)
    ]


def creditmemo_item_lines(creditmemo: CreditMemo) -> list[ItemLine]:
    money = money_formatter(creditmemo.order)
    return [
        ItemLine(
            name=line.order_item.name, sku=line.order_item.sku, qty=line.qty, price=money(line.price),
            tax=money(line.tax_amount), discount=money(line.discount_amount), row_total=money(line.row_total),
        )
        for line in _document_items(creditmemo)
        if line.qty  # a credit memo of adjustments only lists its items with qty 0
    ]


# --- Sending --------------------------------------------------------------------------------------------------


def _text_labels() -> dict[str, str]:
    """Headings of the plain-text part, colon included (the HTML part uses table headers instead)."""
    labels = {
        "billing": _("Billing Address"),
        "shipping": _("Shipping Address"),
        "payment": _("Payment Method"),
        "shipping_method": _("Shipping Method"),
        "tracks": f"{_('Carrier')} / {_('Tracking Number')}",
        "sku": _("SKU"),
        "qty": _("Qty"),
        "price": _("Price"),
        "subtotal": _("Subtotal"),
        "items_ordered": _("Items Ordered"),
        "items_invoiced": _("Items Invoiced"),
        "items_shipped": _("Items Shipped"),
        "items_refunded": _("Items Refunded"),
    }
    return {key: heading(label) for key, label in labels.items()}


def _order_context(order: Order) -> dict:
    billing, shipping = order_addresses(order)
    return {
        "text_labels": _text_labels(),
        "order": order,
        "store": order.store,
        "customer_name": order.customer_name,
        "order_date": local_date(order.created_at, "DATETIME_FORMAT"),
        "billing_lines": address_lines(billing),
        "shipping_lines": address_lines(shipping),
        "payment_lines": payment_lines(order),
        "shipping_method": order.shipping_method_title or order.shipping_method_code,
    }


def _tidy_text(text: str) -> str:
    # Template tags leave blank lines and trailing spaces behind; a plain-text email should read cleanly.
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _deliver(kind: str, order: Order, context: dict) -> str:
    """Render the three parts of email ``kind`` (in the active language) and send them to the order's customer."""
    subject = " ".join(render_to_string(f"sales/email/{kind}_subject.txt", context).split())
    text_body = _tidy_text(render_to_string(f"sales/email/{kind}.txt", context))
    html_body = render_to_string(f"sales/email/{kind}.html", context)
    # Only ever the buyer: no copies to anyone else, so the buyer's data goes nowhere but to the buyer.
    message = EmailMultiAlternatives(subject, text_body, settings.DEFAULT_FROM_EMAIL, [order.customer_email])
    message.attach_alternative(html_body, "text/html")
    message.send()
    return subject


def send_order_email(*, order: Order) -> str:
    with store_locale(order.store):
        context = _order_context(order) | {
            "items": order_item_lines(order),
            "totals": document_totals(order),
        }
        return _deliver("order", order, context)


def send_invoice_email(*, invoice: Invoice, comment: str = "") -> str:
    order = invoice.order
    with store_locale(order.store):
        context = _order_context(order) | {
            "invoice": invoice,
            "invoice_date": local_date(invoice.created_at),
            "items": invoice_item_lines(invoice),
            "totals": document_totals(invoice),
            "comment": comment,
        }
        return _deliver("invoice", order, context)


def send_shipment_email(*, shipment: Shipment, comment: str = "") -> str:
    order = shipment.order
    with store_locale(order.store):
        context = _order_context(order) | {
            "shipment": shipment,
            "shipment_date": local_date(shipment.created_at),
            "items": shipment_item_lines(shipment),
            "tracks": (tracks := [(carrier_title(track), track.number) for track in shipment.tracks.all()]),
            "track_lines": [labelled(carrier, number) for carrier, number in tracks],
            "comment": comment,
        }
        return _deliver("shipment", order, context)


def send_creditmemo_email(*, creditmemo: CreditMemo, comment: str = "") -> str:
    order = creditmemo.order
    with store_locale(order.store):
        context = _order_context(order) | {
            "creditmemo": creditmemo,
            "creditmemo_date": local_date(creditmemo.created_at),
            "items": creditmemo_item_lines(creditmemo),
            "totals": document_totals(creditmemo),
            "comment": comment,
        }
        return _deliver("creditmemo", order, context)


def send_comment_email(*, order: Order, comment: str) -> str:
    with store_locale(order.store):
        context = _order_context(order) | {"comment": comment, "status_label": status_label(order)}
        return _deliver("comment", order, context)
