"""Background work of the sales app: customer emails.

Services enqueue ``sales_email_send`` with ``transaction.on_commit`` so that an email never announces a change that
was rolled back. The task loads the document again by id, so a retry sends the current state; a document that no
longer exists is logged (by id only, never with the customer's data) and skipped.
"""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_task

from saleschannel.sales import emails
from saleschannel.sales.models import CreditMemo, Invoice, Order, Shipment

logger = logging.getLogger(__name__)

EMAIL_KINDS = ("order", "invoice", "shipment", "creditmemo", "comment")


def _send_order(order_id: int, comment: str) -> str | None:
    order = Order.objects.select_related("store", "payment").filter(pk=order_id).first()
    if order is None:
        return None
    subject = emails.send_order_email(order=order)
    # The flag says the confirmation reached the mail backend, which only this task knows.
    Order.objects.filter(pk=order.pk, email_sent=False).update(email_sent=True)
    return subject


def _send_comment(order_id: int, comment: str) -> str | None:
    order = Order.objects.select_related("store", "payment").filter(pk=order_id).first()
    return None if order is None else emails.send_comment_email(order=order, comment=comment)


def _send_invoice(invoice_id: int, comment: str) -> str | None:
    invoice = Invoice.objects.select_related("order__store", "order__payment").filter(pk=invoice_id).first()
    return None if invoice is None else emails.send_invoice_email(invoice=invoice, comment=comment)


def _send_shipment(shipment_id: int, comment: str) -> str | None:
    shipment = Shipment.objects.select_related("order__store", "order__payment").filter(pk=shipment_id).first()
    return None if shipment is None else emails.send_shipment_email(shipment=shipment, comment=comment)


def _send_creditmemo(creditmemo_id: int, comment: str) -> str | None:
    creditmemo = CreditMemo.objects.select_related("order__store", "order__payment").filter(pk=creditmemo_id).first()
    return None if creditmemo is None else emails.send_creditmemo_email(creditmemo=creditmemo, comment=comment)


_SENDERS = {
    "order": _send_order,
    "comment": _send_comment,
    "invoice": _send_invoice,
    "shipment": _send_shipment,
    "creditmemo": _send_creditmemo,
}


@db_task(retries=3, retry_delay=60)
def sales_email_send(kind: str, object_id: int, comment: str = "") -> str | None:
    """Send customer email ``kind`` for the object ``object_id`` (an order id for "order" and "comment").

    Returns the subject sent, or None when there was nothing to send. A failure of the mail server raises, and
    Huey retries up to three times, a minute apart.
    """
    sender = _SENDERS.get(kind)
    if sender is None:
        logger.error("sales_email_send: unknown email kind %r; nothing sent", kind)
        return None
    subject = sender(object_id, comment)
    if subject is None:
        logger.warning("sales_email_send: %s %s no longer exists; nothing sent", kind, object_id)
    else:
        logger.info("sales_email_send: %s email sent (id %s)", kind, object_id)
    return subject
