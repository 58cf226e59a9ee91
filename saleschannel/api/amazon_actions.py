"""What staff do to Amazon orders and their messages, for programs: cancel with one of Amazon's reasons, correct the
shipping address, retry a message to Amazon.

Thin endpoints over ``amazon.services`` (the services Amazon Order Details and the outbox screen call), with the
same permission as those screens (``sales.process_order``). What is allowed is ``amazon.rules``' answer, given by the
service: ``can_cancel_on_amazon``, ``can_edit_address`` and ``outbox_retry_verdict``. A refusal by the rule is a
409 problem whose detail is the rule's reason; a value the service refuses is a 422 naming the field.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router
from ninja.decorators import decorate_view

from saleschannel.amazon import services
from saleschannel.amazon.models import AmazonOrder, OutboxMessage
from saleschannel.amazon.services import AmazonChannelError, RetryNeedsConfirmation
from saleschannel.api import selectors
from saleschannel.api.action_schemas import ADDRESS_FIELDS, AmazonAddressIn, AmazonCancelIn, OutboxRetryIn
from saleschannel.api.amazon_orders import AMAZON_ORDER_ID_MAX, amazon_order_detail, outbox_message_dict
from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.idempotency import idempotent
from saleschannel.api.orders import IDEMPOTENCY_HEADER, WRITE_ERRORS
from saleschannel.api.schemas import AmazonOrderOut, OutboxMessageOut
from saleschannel.sales.ids import parse_id

PROCESS = "sales.process_order"  # Amazon Order Details' Cancel and address form, and the outbox's Retry

router = Router(tags=["amazon"])

NO_RETRY_BODY = OutboxRetryIn()
API_FIELD = {model_field: api_field for api_field, model_field in ADDRESS_FIELDS.items()}


def _amazon_order(amazon_order_id: str) -> AmazonOrder:
    order = None
    if len(amazon_order_id) <= AMAZON_ORDER_ID_MAX and "\x00" not in amazon_order_id:
        order = AmazonOrder.objects.filter(amazon_order_id=amazon_order_id).first()
    if order is None:
        raise ApiProblem(404, _("This Amazon order does not exist."))
    return order


def _detail(amazon_order_id: str) -> dict:
    return amazon_order_detail(selectors.amazon_order(amazon_order_id))


@router.post("/amazon/orders/{amazon_order_id}/cancel", response={200: AmazonOrderOut, **WRITE_ERRORS},
             auth=TokenAuth(PROCESS), openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def cancel_amazon_order(request, amazon_order_id: str, payload: AmazonCancelIn):
    """Cancel an Unshipped Amazon order with one of Amazon's reasons, as Cancel Order on Amazon Order Details does:
    Amazon is told (the cancellation is queued in the outbox), the reservations are released and the Commerce order
    is canceled, or refunded in full when it was invoiced.

    Refused (409, the rule's reason as the detail) when the order is not Unshipped, is fulfilled by Amazon, has
    shipped items, already has a shipment or cancellation on its way to Amazon, or its Commerce order is on hold."""
    order = _amazon_order(amazon_order_id)
    try:
        services.amazon_order_cancel(amazon_order=order, reason=payload.reason, actor=request.user)
    except AmazonChannelError as error:  # the reason is one of Amazon's (the schema says so): the rule refused
        raise ApiProblem(409, error.message, code="not_allowed") from None
    return _detail(order.amazon_order_id)


@router.post("/amazon/orders/{amazon_order_id}/address", response={200: AmazonOrderOut, **WRITE_ERRORS},
             auth=TokenAuth(PROCESS), openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def correct_amazon_address(request, amazon_order_id: str, payload: AmazonAddressIn):
    """Correct an undeliverable shipping address (the fields given), as the address form of Amazon Order Details
    does: the Commerce order's shipping address follows, later syncs keep the correction, and the order's log names
    the fields changed (never their values).

    Refused (409) once the order's personal data was redacted; a value refused (an empty first line, a country that
    is not two letters) is a 422 naming the field."""
    order = _amazon_order(amazon_order_id)
    address = {ADDRESS_FIELDS[name]: value for name, value in payload.dict(exclude_unset=True).items()
               if value is not None}
    try:
        services.amazon_order_address_update(amazon_order=order, address=address, actor=request.user)
    except AmazonChannelError as error:
        if error.field:  # a value refused
            raise ApiProblem(422, error.message, code="invalid", field=API_FIELD.get(error.field, error.field)) \
                from None
        raise ApiProblem(409, error.message, code="not_allowed") from None  # the rule refused
    return _detail(order.amazon_order_id)


@router.post("/amazon/outbox/{message_id}/retry", response={200: OutboxMessageOut, **WRITE_ERRORS},
             auth=TokenAuth(PROCESS), openapi_extra=IDEMPOTENCY_HEADER)
@decorate_view(idempotent)
def retry_outbox_message(request, message_id: str, payload: OutboxRetryIn = NO_RETRY_BODY):
    """Send a failed or dead-lettered message to Amazon again now, with a fresh count of attempts, as the outbox's
    Retry does. A refund whose outcome is unknown is looked for on Amazon first: found, it is followed and not sent
    (`state` is `sent`).

    Refused (409 `not_allowed`) when the message is neither failed nor dead. When Amazon may already have applied it
    and cannot tell, refused (409 `confirmation_required`, field `confirm_may_duplicate`) with the exact risk: send
    `confirm_may_duplicate: true` only after checking Seller Central."""
    pk = parse_id(message_id)
    message = OutboxMessage.objects.select_related("amazon_order").filter(pk=pk).first() if pk else None
    if message is None:
        raise ApiProblem(404, _("This outbox message does not exist."))
    try:
        message = services.outbox_retry(message=message, actor=request.user,
                                        confirmed=payload.confirm_may_duplicate)
    except RetryNeedsConfirmation as error:
        raise ApiProblem(409, error.message, code="confirmation_required", field="confirm_may_duplicate") from None
    except AmazonChannelError as error:
        raise ApiProblem(409, error.message, code="not_allowed") from None
    return outbox_message_dict(message, message.amazon_order)
