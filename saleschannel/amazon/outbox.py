"""Outbound: tell Amazon what changed in Commerce, reliably (DESIGN §4.5).

Every change Amazon must learn about becomes an ``OutboxMessage`` written in the same transaction as the Commerce
change (the channel hooks in ``channel.py`` call ``outbox_add_*``). Shipments are confirmed with
``confirmShipment`` (one package per Commerce shipment); cancellations and refunds are feeds, one message per feed,
one feed of a kind in flight per store and marketplace, followed until Amazon has processed them. Every step is
written to the Amazon order's event log; final outcomes also to its Order Notes and the Commerce order's history.

This module writes messages, runs the staff actions (cancel, address, retry by hand) and raises the alerts; the
delivery itself is in ``delivery`` (claims, retries, dead letters, shipments) and ``feed_delivery`` (feeds, looking
first after an unknown outcome). Their public names are importable from here too.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.amazon import feed_delivery, feeds, rules
from saleschannel.amazon.delivery import (  # noqa: F401 - public names of the outbox, importable from here
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    LEASE,
    OUTBOUND_ACTOR,
    PENDING_STATES,
    _deliver_on_commit,
    _event,
    _send_shipment,
    amazon_outbox_deliver,
    amazon_outbox_sweep,
    backoff_seconds,
    deliver_due,
    deliver_due_later,
    deliver_message,
    due_message_ids,
    due_message_ids_of,
    state_summary,
)
from saleschannel.amazon.delivery import (
    _label as delivery_label,
)
from saleschannel.amazon.feed_delivery import (  # noqa: F401
    FEED_DONE_STATES,
    FEED_KINDS,
    FEED_POLL_SECONDS,
    RECONCILE_MARGIN,
    Outcome,
)
from saleschannel.amazon.feed_delivery import feed_content as _feed_content  # noqa: F401
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    ChannelSettings,
    EventDirection,
    EventLevel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)
from saleschannel.amazon.origin import applying_amazon_change
from saleschannel.amazon.refunds import refund_lines
from saleschannel.amazon.services import AmazonChannelError
from saleschannel.amazon.spapi.gateway import AmazonError, Gateway, RetryPolicy

logger = logging.getLogger(__name__)

S = AmazonOrderStatus
DEFAULT_CANCEL_REASON = "GeneralAdjustment"
DEFAULT_REFUND_REASON = "CustomerReturn"

# Our carrier codes (sales.models.Carrier) → Amazon's carrier codes; anything else is "Other" + carrierName.
AMAZON_CARRIERS = {
    "dhl": "DHL", "fedex": "FedEx", "ups": "UPS", "usps": "USPS", "royal_mail": "Royal Mail", "dpd": "DPD",
    "gls": "GLS", "colissimo": "Colissimo", "chronopost": "Chronopost",
}
CANCEL_REASON_LABELS = {
    "NoInventory": gettext_lazy("No inventory"),
    "ShippingAddressUndeliverable": gettext_lazy("Shipping address undeliverable"),
    "CustomerExchange": gettext_lazy("Customer exchange"),
    "BuyerCanceled": gettext_lazy("Buyer canceled"),
    "GeneralAdjustment": gettext_lazy("General adjustment"),
    "CarrierCreditDecision": gettext_lazy("Carrier credit decision"),
    "RiskAssessmentInformationNotValid": gettext_lazy("Risk assessment information not valid"),
    "CarrierCoverageFailure": gettext_lazy("Carrier coverage failure"),
    "CustomerReturn": gettext_lazy("Customer return"),
    "MerchandiseNotReceived": gettext_lazy("Merchandise not received"),
}


def cancel_reason_choices() -> list[tuple[str, str]]:
    return [(code, CANCEL_REASON_LABELS[code]) for code in feeds.CANCEL_REASONS]


# --- Helpers -------------------------------------------------------------------------------------------------


def amazon_order_for(order) -> AmazonOrder | None:
    """The Amazon order behind a Commerce order, or None (cached on the instance by Django's one-to-one)."""
    if getattr(order, "origin", "") != "amazon" or order.pk is None:
        return None
    try:
        return order.amazon_order
    except AmazonOrder.DoesNotExist:
        return None


# --- Writing messages (inside the Commerce transaction) ------------------------------------------------------


def outbox_add_shipment(*, amazon_order: AmazonOrder, shipment) -> OutboxMessage | None:
    """One package for Amazon per Commerce shipment: its items, its first tracking number, a new package id."""
    existing = OutboxMessage.objects.filter(idempotency_key=f"shipment:{shipment.pk}").first()
    if existing is not None:
        return existing
    items = []
    for line in shipment.items.select_related("order_item"):
        code = line.order_item.external_item_id
        if code and line.qty > 0:
            items.append([code, int(line.qty)])
    if not items:
        return None
    tracks = list(shipment.tracks.all())
    track = tracks[0] if tracks else None
    carrier_code = AMAZON_CARRIERS.get(track.carrier_code, "Other") if track else "Other"
    payload = {
        "marketplace_id": amazon_order.marketplace_id or (amazon_order.store.marketplace_ids or [""])[0],
        "carrier_code": carrier_code,
        "carrier_name": (track.title if track else "") if carrier_code == "Other" else "",
        "shipping_method": amazon_order.ship_service_level or "",
        "tracking_number": track.number if track else "",
        "ship_date": shipment.created_at.isoformat(),
        "items": items,
        "shipment_number": shipment.number,
        "other_tracking_numbers": [t.number for t in tracks[1:]],
    }
    last = OutboxMessage.objects.filter(amazon_order=amazon_order).aggregate(last=Max("package_reference_id"))
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.SHIPMENT, payload=payload,
        idempotency_key=f"shipment:{shipment.pk}", package_reference_id=(last["last"] or 0) + 1, shipment=shipment,
    )
    _event(amazon_order, "outbox_queued",
           _("Shipment #%(number)s queued for Amazon (package %(package)s, tracking %(tracking)s).") % {
               "number": shipment.number, "package": message.package_reference_id,
               "tracking": payload["tracking_number"] or _("none")},
           outbox=message, actor=shipment.created_by or OUTBOUND_ACTOR)
    _deliver_on_commit(message.pk)
    return message


def outbox_add_cancel(*, amazon_order: AmazonOrder, reason: str, actor) -> OutboxMessage:
    """Cancel the whole (unshipped) order on Amazon with ``reason`` on every item."""
    if reason not in feeds.CANCEL_REASONS:
        reason = DEFAULT_CANCEL_REASON
    key = f"cancel:{amazon_order.pk}"
    existing = OutboxMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    codes = list(amazon_order.items.values_list("order_item_id", flat=True))
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.CANCEL, idempotency_key=key,
        payload={"reason": reason, "items": codes},
    )
    _event(amazon_order, "outbox_queued",
           _("Cancellation queued for Amazon (reason: %(reason)s).") % {"reason": reason},
           outbox=message, actor=actor)
    _deliver_on_commit(message.pk)
    return message


def outbox_add_refund(*, amazon_order: AmazonOrder, creditmemo) -> OutboxMessage | None:
    reason = creditmemo.reason if creditmemo.reason in feeds.ADJUSTMENT_REASONS else DEFAULT_REFUND_REASON
    lines = refund_lines(amazon_order=amazon_order, creditmemo=creditmemo, reason=reason)
    if not lines:
        return None
    key = f"refund:{creditmemo.pk}"
    existing = OutboxMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    message = OutboxMessage.objects.create(
        amazon_order=amazon_order, kind=OutboxKind.REFUND, idempotency_key=key, creditmemo=creditmemo,
        payload={"currency": creditmemo.order.currency, "lines": lines, "creditmemo_number": creditmemo.number,
                 "total": str(creditmemo.grand_total)},
    )
    _event(amazon_order, "outbox_queued",
           _("Refund of credit memo #%(number)s queued for Amazon.") % {"number": creditmemo.number},
           outbox=message, actor=creditmemo.created_by or OUTBOUND_ACTOR)
    _deliver_on_commit(message.pk)
    return message


# --- Staff actions on Amazon orders --------------------------------------------------------------------------


def amazon_order_cancel(*, amazon_order: AmazonOrder, reason: str, actor) -> OutboxMessage:
    """Cancel an Unshipped Amazon order with a reason: Amazon is told by feed; locally the Amazon order is Canceled,
    its reservations released and the Commerce order canceled (or refunded in full when it was invoiced)."""
    from saleschannel.catalog.services import stock_release
    from saleschannel.sales.errors import OrderActionError
    from saleschannel.sales.models import Order, OrderState
    from saleschannel.sales.services import order_cancel_for_channel, stock_reference

    if reason not in feeds.CANCEL_REASONS:
        raise AmazonChannelError(_("Choose a reason for the cancellation."), field="reason")
    with transaction.atomic():
        order = AmazonOrder.objects.select_for_update().get(pk=amazon_order.pk)
        commerce = None
        if order.commerce_order_id:
            commerce = Order.objects.prefetch_related("items").get(pk=order.commerce_order_id)
        # The one rule the buttons, the dialog and the API ask too, checked again under the lock.
        verdict = rules.can_cancel_on_amazon(order, commerce_order=commerce)
        if not verdict:
            raise AmazonChannelError(str(verdict.reason), field="reason")
        label = CANCEL_REASON_LABELS[reason]
        comment = _("Canceled from Amazon Order Details. Reason: %(reason)s.") % {"reason": label}
        try:
            with applying_amazon_change():  # the channel must neither refuse this nor echo it: we send it below
                if commerce is not None and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
                    # The same Commerce outcome as a cancellation coming from Amazon, whatever was paid.
                    order_cancel_for_channel(order=commerce, reason=str(label), comment=comment, actor=actor)
                    stock_release(reference=stock_reference(commerce))
        except OrderActionError as error:
            raise AmazonChannelError(error.message, field="reason") from None
        if order.is_reserved:
            stock_release(reference=order.reservation_reference)
        order.is_reserved = False
        order.status = S.CANCELED
        order.save(update_fields=["is_reserved", "status", "updated_at"])
        message = outbox_add_cancel(amazon_order=order, reason=reason, actor=actor)
    amazon_order.refresh_from_db()
    return message


ADDRESS_FIELDS = ("ship_address_line1", "ship_address_line2", "ship_address_line3", "ship_city", "ship_region",
                  "ship_postal_code", "ship_country_code")
# Amazon order field → Commerce OrderAddress field.
COMMERCE_ADDRESS = {
    "ship_address_line1": "street1", "ship_address_line2": "street2", "ship_address_line3": "street3",
    "ship_city": "city", "ship_region": "region", "ship_postal_code": "postcode", "ship_country_code": "country_code",
}


def amazon_order_address_update(*, amazon_order: AmazonOrder, address: dict, actor) -> list[str]:
    """Correct an undeliverable shipping address; the Commerce order's shipping address follows. Later syncs keep
    the correction. Returns the fields that changed."""
    from saleschannel.sales.models import AddressType, OrderAddress
    from saleschannel.sales.services import order_comment_add

    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown address field: %(name)s") % {"name": sorted(unknown)[0]})
    cleaned = {name: str(value or "").strip() for name, value in address.items()}
    if "ship_address_line1" in cleaned and not cleaned["ship_address_line1"]:
        raise AmazonChannelError(_("Enter the first address line."), field="ship_address_line1")
    if "ship_country_code" in cleaned:
        country = cleaned["ship_country_code"].upper()
        if len(country) != 2 or not country.isalpha():
            raise AmazonChannelError(_("Enter the country as a two-letter code (e.g. US)."),
                                     field="ship_country_code")
        cleaned["ship_country_code"] = country
    for name, value in cleaned.items():
        limit = AmazonOrder._meta.get_field(name).max_length
        if len(value) > limit:
            raise AmazonChannelError(_("This value is too long (at most %(max)d characters).") % {"max": limit},
                                     field=name)
    with transaction.atomic():
        order = AmazonOrder.objects.select_for_update().get(pk=amazon_order.pk)
        if order.pii_redacted_at:
            raise AmazonChannelError(_("The personal data of this order was redacted; it cannot be edited."))
        changed = [name for name, value in cleaned.items() if getattr(order, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(order, name, cleaned[name])
        order.address_edited_at = timezone.now()
        order.save(update_fields=[*changed, "address_edited_at", "updated_at"])
        # The address itself is personal data: the log names the fields, not their values.
        _event(order, "address", _("Shipping address corrected (%(fields)s).") % {
            "fields": ", ".join(str(AmazonOrder._meta.get_field(name).verbose_name) for name in changed)},
            actor=actor, direction=EventDirection.LOCAL)
        if order.commerce_order_id:
            OrderAddress.objects.filter(order_id=order.commerce_order_id, address_type=AddressType.SHIPPING).update(
                **{COMMERCE_ADDRESS[name]: cleaned[name] for name in changed})
            order_comment_add(order=order.commerce_order, actor=actor,
                              comment=_("Shipping address corrected from Amazon Order Details."))
    amazon_order.refresh_from_db()
    return changed


class RetryNeedsConfirmation(AmazonChannelError):
    """Amazon may already have applied the change and cannot tell: a person must confirm before it goes again."""


def outbox_check(*, message: OutboxMessage, actor=OUTBOUND_ACTOR, gateway=None) -> OutboxMessage:
    """Before a retry by hand: ask Amazon what became of a feed whose submission has an unknown outcome.

    Amazon's Orders API shows no refunds (neither getOrder 2026-01-01 nor v0), so its feeds are what can tell: no
    feed of ours since the submission → it was not applied (sending it is safe); one → it is this message's, which
    is followed instead of being sent; several, or Amazon cannot be reached → still unknown (the retry then needs a
    confirmation, see ``rules.outbox_retry_verdict``). What Amazon showed is recorded on the message."""
    if (message.kind not in FEED_KINDS or not message.outcome_unknown or message.feed_id
            or message.feed_submitted_at is None or message.state not in rules.RETRYABLE_STATES):
        return message
    message = OutboxMessage.objects.select_related("amazon_order__store").get(pk=message.pk)
    own_gateway = gateway is None
    try:
        if own_gateway:
            gateway = Gateway.for_store(message.amazon_order.store, max_pacing_wait=15,
                                        retry=RetryPolicy(max_attempts=3, max_total_seconds=15))
        found = feed_delivery.look_for_feed(gateway, message)
    except AmazonError as error:
        lookup = {**(message.feed_lookup or {}), "at": timezone.now().isoformat(), "verdict": "unreachable",
                  "error": error.message[:500]}
        OutboxMessage.objects.filter(pk=message.pk).update(feed_lookup=lookup)
        _event(message.amazon_order, "outbox_check", _(
            "%(kind)s: Amazon could not be asked what became of this message (%(error)s).") % {
            "kind": OutboxKind(message.kind).label, "error": error.message}, level=EventLevel.WARNING,
            outbox=message, actor=actor, note=False)
        message.refresh_from_db()
        return message
    finally:
        if own_gateway and gateway is not None:
            gateway.close()
    with transaction.atomic():
        if found is None:
            _event(message.amazon_order, "outbox_check", _(
                "%(kind)s: Amazon has no feed of this message: it was not applied, and sending it again is safe.")
                % {"kind": OutboxKind(message.kind).label}, outbox=message, actor=actor, note=False)
        elif found.state == OutboxState.SENT:
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=OutboxState.SENT, feed_id=message.feed_id, feed_status=message.feed_status,
                outcome_unknown=False, feed_lookup=message.feed_lookup, attempts=0, next_attempt_at=None,
                lease_expires_at=None, last_error="", updated_at=timezone.now())
            _event(message.amazon_order, "outbox_check", found.note, outbox=message, actor=actor)
            _deliver_on_commit(message.pk)
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(last_error=found.note[:2000],
                                                               updated_at=timezone.now())
            _event(message.amazon_order, "outbox_check", found.note, level=EventLevel.WARNING, outbox=message,
                   actor=actor, note=False)
    message.refresh_from_db()
    return message


def outbox_retry(*, message: OutboxMessage, actor, confirmed: bool = False, gateway=None) -> OutboxMessage:
    """Send a failed or dead-lettered message again now, with a fresh count of attempts.

    A refund whose outcome is unknown is first looked for on Amazon (``outbox_check``): found, it is followed and
    not sent; not there, it is sent. When Amazon cannot tell, ``RetryNeedsConfirmation`` says the risk, and only
    ``confirmed=True`` (a person who checked Seller Central) sends it again. The rule is
    ``rules.outbox_retry_verdict``."""
    message = outbox_check(message=message, actor=actor, gateway=gateway)
    if message.state == OutboxState.SENT and message.feed_id:
        return message  # Amazon had it: followed, not sent again
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().select_related("amazon_order").get(pk=message.pk)
        verdict = rules.outbox_retry_verdict(locked)
        if not verdict.allowed:
            raise AmazonChannelError(verdict.reason)
        if verdict.needs_confirmation and not confirmed:
            raise RetryNeedsConfirmation(verdict.reason)
        changes = {"state": OutboxState.QUEUED, "attempts": 0, "next_attempt_at": None, "lease_expires_at": None}
        if locked.feed_status in FEED_DONE_STATES:  # Amazon finished with that feed: send a new one
            changes.update(feed_id="", feed_document_id="", feed_status="", processing_report={},
                           feed_submitted_at=None, outcome_unknown=False)
        elif locked.kind in FEED_KINDS and not locked.feed_id and locked.feed_submitted_at is not None:
            # A person decided to send it again (a cancellation twice changes nothing; a refund was confirmed).
            changes.update(feed_submitted_at=None, outcome_unknown=False)
        OutboxMessage.objects.filter(pk=locked.pk).update(**changes, updated_at=timezone.now())
        if verdict.needs_confirmation:
            text = _("%(kind)s: sent again by decision of %(actor)s, who confirmed the risk: %(risk)s") % {
                "kind": OutboxKind(locked.kind).label, "actor": delivery_label(actor), "risk": verdict.reason}
        else:
            text = _("%(kind)s: retry requested.") % {"kind": OutboxKind(locked.kind).label}
        _event(locked.amazon_order, "outbox_retry", text, outbox=locked, actor=actor)
        _deliver_on_commit(locked.pk)
    message.refresh_from_db()
    return message


# --- Alerts --------------------------------------------------------------------------------------------------


def dead_letter_notices(request) -> list:
    """Admin-wide alert while outbound messages are dead-lettered (they need someone to look and retry)."""
    from django.urls import NoReverseMatch, reverse

    from saleschannel.core.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    dead = list(OutboxMessage.objects.filter(state=OutboxState.DEAD).order_by("-updated_at")
                .values_list("amazon_order_id", "amazon_order__amazon_order_id")[:50])
    if not dead:
        return []
    orders = list(dict.fromkeys(dead))
    links = []
    for pk, number in orders[:5]:
        try:
            links.append((number, reverse("amazon:order_detail", args=[pk])))
        except NoReverseMatch:
            break
    count = OutboxMessage.objects.filter(state=OutboxState.DEAD).count()
    return [Notice(
        message=_("Amazon did not accept %(count)d change(s) after repeated attempts. Open the order to read "
                  "Amazon's message and retry:") % {"count": count},
        level="error", links=links,
    )]


def read_only_notices(request) -> list:
    """While read-only mode is on, every page says so: nothing reaches Amazon."""
    from saleschannel.core.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not ChannelSettings.load().read_only:
        return []
    waiting = OutboxMessage.objects.filter(state__in=PENDING_STATES).count()
    return [Notice(message=_("Amazon read-only mode is on: %(count)d change(s) wait in the queue and nothing is "
                             "sent to Amazon until it is switched off.") % {"count": waiting}, level="warning")]


def buyer_cancel_notices(request) -> list:
    """On the dashboard: Amazon orders whose buyer asked to cancel and that are still open."""
    from django.urls import NoReverseMatch, reverse

    from saleschannel.core.notices import Notice

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    try:
        if request.path != reverse("web:dashboard"):
            return []
        list_url = reverse("amazon:order_list")
    except NoReverseMatch:
        return []
    open_requests = AmazonOrder.objects.filter(
        buyer_cancel_requested=True,
        status__in=[S.PENDING, S.UNSHIPPED, S.PENDING_AVAILABILITY, S.ERROR, S.PARTIALLY_SHIPPED])
    count = open_requests.count()
    if not count:
        return []
    links = [(number, reverse("amazon:order_detail", args=[pk]))
             for pk, number in open_requests.order_by("-purchase_date").values_list("pk", "amazon_order_id")[:5]]
    links.append((_("View all"), f"{list_url}?buyer_cancel=on"))
    return [Notice(message=_("%(count)d Amazon order(s) have a buyer cancellation request. Decide whether to "
                             "cancel them:") % {"count": count}, level="warning", links=links)]
