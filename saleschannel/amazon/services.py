"""Writes of the Amazon channel: stores and their Order Settings, channel settings, sync requests, and the staff
actions on Amazon orders (cancel, correct the address, retry an outbound message by hand).

Each function validates first and raises ``AmazonChannelError`` (which changes nothing), then writes in one
transaction. The import itself lives in ``sync.py`` and ``order_import.py``; what is allowed in ``rules.py``; where
secrets may go in ``destinations.py``; the outbox messages are written by ``outbox.py``.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.amazon import feed_delivery, feeds, rules, tasks
from saleschannel.amazon.crypto import CredentialDecryptionError
from saleschannel.amazon.delivery import OUTBOUND_ACTOR, _deliver_on_commit, _event
from saleschannel.amazon.delivery import _label as delivery_label
from saleschannel.amazon.destinations import (
    SECRET_FIELDS,
    URL_FIELDS,
    override_url_problem,
    secrets_for_destination_problem,
)
from saleschannel.amazon.events import msg
from saleschannel.amazon.feed_delivery import FEED_DONE_STATES, FEED_KINDS
from saleschannel.amazon.marketplaces import marketplace
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderStatus,
    AmazonStore,
    AmazonStoreChange,
    ApiVersion,
    ChannelSettings,
    CustomerCreation,
    EventDirection,
    EventLevel,
    OrderNumberSource,
    OrderStatusMode,
    OutboxMessage,
    OutboxState,
    Region,
    SyncRun,
    SyncRunKind,
)
from saleschannel.amazon.origin import applying_amazon_change
from saleschannel.amazon.outbox import CANCEL_REASON_LABELS, outbox_add_cancel
from saleschannel.amazon.retrying import CONNECTION_TEST_RETRY, INTERACTIVE_CHECK_RETRY
from saleschannel.amazon.spapi.gateway import AmazonError, Gateway
from saleschannel.amazon.sync import sync_store
from saleschannel.catalog.services import stock_release
from saleschannel.core.errors import DomainError
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import AddressType, Order, OrderAddress, OrderState, OrderStatus
from saleschannel.sales.services import order_cancel_for_channel, order_comment_add, stock_reference

S = AmazonOrderStatus


class AmazonChannelError(DomainError):
    """A refused change, in words for the person who asked; ``field`` names the input at fault."""

    def __init__(self, message: str, *, code: str = "refused", field: str = "") -> None:
        super().__init__(message, code=code, field=field)

    def __str__(self) -> str:
        return self.message


class RetryNeedsConfirmation(AmazonChannelError):
    """Amazon may already have applied the change and cannot tell: a person must confirm before it goes again."""


CONNECTION_FIELDS = ("name", "seller_id", "region", "marketplace_ids", "store", "endpoint_override",
                     "token_url_override", "api_version", "time_scale", "pacing_enabled", "is_active")
ORDER_SETTINGS_FIELDS = ("import_enabled", "import_store", "customer_creation", "order_number_source",
                         "reserve_pending", "order_status_mode", "custom_processing_status", "invoice_on_import",
                         "import_fba", "sync_frequency_minutes", "ship_by_alert_hours")
SYSTEM_ACTOR = "system"

logger = logging.getLogger(__name__)


def _saved(amazon_store: AmazonStore | None) -> AmazonStore | None:
    """The store as the database has it (what its secrets were saved with), whatever was changed in memory."""
    if amazon_store is None or amazon_store.pk is None:
        return None
    return AmazonStore.objects.filter(pk=amazon_store.pk).first()


def actor_label(actor) -> str:
    if actor is None:
        return SYSTEM_ACTOR
    if isinstance(actor, str):
        return actor.strip()[:150] or SYSTEM_ACTOR
    return (getattr(actor, "get_username", lambda: "")() or str(actor))[:150]


def _secret_changed(saved: AmazonStore, name: str, value: str | None) -> bool:
    if not (value or "").strip():
        return False
    try:
        return getattr(saved.credentials(), name) != value.strip()
    except CredentialDecryptionError:
        return True


def _connection_value(amazon_store: AmazonStore, name: str):
    if name == "store":
        return amazon_store.store_id
    if name == "time_scale":
        return Decimal(str(amazon_store.time_scale))
    if name in URL_FIELDS:
        return getattr(amazon_store, name) or ""
    return getattr(amazon_store, name)


def _changed_connection_fields(saved: AmazonStore, amazon_store: AmazonStore, secrets: dict) -> list[str]:
    fields = []
    for name in CONNECTION_FIELDS:
        if _connection_value(saved, name) != _connection_value(amazon_store, name):
            fields.append(name)
    fields += [name for name in SECRET_FIELDS if _secret_changed(saved, name, secrets.get(name))]
    return fields


def _clean_marketplaces(value) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    ids = [str(v).strip() for v in (value or []) if str(v).strip()]
    if not ids:
        raise AmazonChannelError(_("Enter at least one marketplace id."), field="marketplace_ids")
    if len(ids) > 50:
        raise AmazonChannelError(_("Amazon accepts at most 50 marketplaces per seller."), field="marketplace_ids")
    return list(dict.fromkeys(ids))


def processing_statuses() -> list[tuple[str, str]]:
    """Statuses that Order Settings may choose for imported orders (processing state; never complete/closed)."""
    return list(OrderStatus.objects.filter(state=OrderState.PROCESSING).values_list("code", "label"))


def _apply(amazon_store: AmazonStore, changes: dict) -> None:
    for field, value in changes.items():
        if field == "marketplace_ids":
            value = _clean_marketplaces(value)
        elif field == "region":
            value = str(value).upper()
            if value not in Region.values:
                raise AmazonChannelError(_("The region must be NA, EU or FE."), field="region")
        elif field == "time_scale":
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise AmazonChannelError(_("The time scale must be a number."), field=field)
        elif field in URL_FIELDS:
            value = (value or "").strip()
            problem = override_url_problem(value)
            if problem:
                raise AmazonChannelError(problem, field=field)
        elif field == "api_version" and value not in ApiVersion.values:
            raise AmazonChannelError(_("Unknown Orders API version."), field=field)
        elif field == "customer_creation" and value not in CustomerCreation.values:
            raise AmazonChannelError(_("Unknown customer creation choice."), field=field)
        elif field == "order_number_source" and value not in OrderNumberSource.values:
            raise AmazonChannelError(_("Unknown order number source."), field=field)
        elif field == "order_status_mode" and value not in OrderStatusMode.values:
            raise AmazonChannelError(_("Unknown order status choice."), field=field)
        setattr(amazon_store, field, value)
    if amazon_store.order_status_mode == OrderStatusMode.CUSTOM:
        allowed = dict(processing_statuses())
        if amazon_store.custom_processing_status not in allowed:
            raise AmazonChannelError(
                _("Choose a status of the Processing state for imported orders."), field="custom_processing_status")
    try:
        amazon_store.full_clean(exclude=["lwa_client_id_encrypted", "lwa_client_secret_encrypted",
                                         "refresh_token_encrypted"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise AmazonChannelError(f"{messages[0]}", field=field if field != "__all__" else "")
    if CURRENCY_FIELDS & set(changes):
        _check_currencies(amazon_store, changed=set(changes))


CURRENCY_FIELDS = frozenset({"marketplace_ids", "store", "import_store"})


def _check_currencies(amazon_store: AmazonStore, *, changed: set[str]) -> None:
    """Every marketplace must sell in the currency of the Commerce store its orders go to (the import store, else
    the linked one): an order in another currency cannot become a Commerce order. Unknown ids are let through."""
    target = amazon_store.target_store
    for marketplace_id in amazon_store.marketplace_ids:
        known = marketplace(marketplace_id)
        if known is None or known.currency == target.currency:
            continue
        field = "marketplace_ids"
        if "marketplace_ids" not in changed:
            field = "import_store" if "import_store" in changed else "store"
        raise AmazonChannelError(_(
            "Marketplace %(id)s (%(country)s) sells in %(currency)s; Commerce store '%(store)s' is in "
            "%(store_currency)s. Choose a %(currency)s store or another marketplace.") % {
                "id": known.id, "country": known.country, "currency": known.currency, "store": target.code,
                "store_currency": target.currency}, field=field)


def amazon_store_create(*, name: str, seller_id: str, marketplace_ids, store, region: str = Region.NA,
                        client_id: str = "", client_secret: str = "", refresh_token: str = "", actor=None,
                        **options) -> AmazonStore:
    """Connect an Amazon seller account; credentials are encrypted before they reach the database.

    ``actor`` (a user or a label such as "cli:alice") is recorded in the store's connection changes.
    """
    unknown = set(options) - set(CONNECTION_FIELDS) - set(ORDER_SETTINGS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    amazon_store = AmazonStore()
    _apply(amazon_store, {"name": (name or "").strip(), "seller_id": (seller_id or "").strip(), "region": region,
                          "marketplace_ids": marketplace_ids, "store": store, **options})
    for label, value in (("client_id", client_id), ("client_secret", client_secret),
                         ("refresh_token", refresh_token)):
        if not (value or "").strip():
            raise AmazonChannelError(_("Enter the LWA %(what)s.") % {"what": label.replace("_", " ")}, field=label)
    amazon_store.set_credentials(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token)
    with transaction.atomic():
        amazon_store.save()
        fields = [name for name in (*CONNECTION_FIELDS, *SECRET_FIELDS)
                  if name in SECRET_FIELDS or _connection_value(amazon_store, name) not in ("", None, [])]
        _record_change(amazon_store, actor=actor, fields=fields, created=True)
    return amazon_store


def amazon_store_update(*, amazon_store: AmazonStore, client_id: str | None = None, client_secret: str | None = None,
                        refresh_token: str | None = None, actor=None, **changes) -> AmazonStore:
    """Change connection fields and/or Order Settings. A credential given as None or "" is left unchanged.

    Changing the endpoint or LWA token URL override needs all three credentials in the same call
    (``secrets_for_destination_problem``). Every change of the connection is recorded (field names, never values).
    """
    unknown = set(changes) - set(CONNECTION_FIELDS) - set(ORDER_SETTINGS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    secrets = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    with transaction.atomic():
        saved = _saved(amazon_store)
        _apply(amazon_store, changes)
        problem = secrets_for_destination_problem(saved=saved, candidate=amazon_store, secrets=secrets)
        if problem:
            raise AmazonChannelError(problem[0], field=problem[1])
        fields = _changed_connection_fields(saved, amazon_store, secrets) if saved is not None else []
        amazon_store.set_credentials(client_id=client_id or None, client_secret=client_secret or None,
                                     refresh_token=refresh_token or None)
        amazon_store.save()
        if fields:
            _record_change(amazon_store, actor=actor, fields=fields)
    return amazon_store


def _record_change(amazon_store: AmazonStore, *, actor, fields: list[str], created: bool = False) -> None:
    label = actor_label(actor)
    AmazonStoreChange.objects.create(store=amazon_store, at=timezone.now(), actor=label, created=created,
                                     fields=list(fields))
    # Field names only: never a value (secrets, URLs with tokens in them).
    logger.info("Amazon store %s %s by %s: %s", amazon_store.pk, "connected" if created else "changed", label,
                ", ".join(fields))


def amazon_store_order_settings_update(*, amazon_store: AmazonStore, **settings) -> AmazonStore:
    """Save the Order Settings page (§4.2). With import disabled, the other fields keep their values."""
    unknown = set(settings) - set(ORDER_SETTINGS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    disabled = settings.get("import_enabled", amazon_store.import_enabled) is False
    if disabled:
        settings = {"import_enabled": False}  # greyed out: only the switch itself changes
    return amazon_store_update(amazon_store=amazon_store, **settings)


def channel_read_only_set(*, read_only: bool) -> ChannelSettings:
    with transaction.atomic():
        settings = ChannelSettings.load()
        settings.read_only = bool(read_only)
        settings.save(update_fields=["read_only", "updated_at"])
    return settings


def amazon_store_test_connection(*, amazon_store: AmazonStore | None, changes: dict | None = None,
                                 client_id: str | None = None, client_secret: str | None = None,
                                 refresh_token: str | None = None) -> tuple[bool, str]:
    """(ok, message in plain words). Reads one page of recent orders; saves nothing.

    Tests ``amazon_store`` as it is, or, with ``changes`` and entered credentials, what a form is about to save
    (``amazon_store`` None for a new store). Stored secrets are only sent to the URLs they were saved with: a
    changed endpoint or token URL without all three credentials entered is refused (``AmazonChannelError``,
    nothing sent), like a URL that breaks the override rules.
    """
    changes = dict(changes or {})
    unknown = set(changes) - set(CONNECTION_FIELDS) - set(ORDER_SETTINGS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    secrets = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    saved = _saved(amazon_store)
    candidate = copy.copy(amazon_store) if amazon_store is not None else AmazonStore()
    if changes:
        _apply(candidate, changes)
    else:
        for name in URL_FIELDS:  # a saved store keeps to the rules too, or nothing is sent
            problem = override_url_problem(getattr(candidate, name))
            if problem:
                raise AmazonChannelError(problem, field=name)
    problem = secrets_for_destination_problem(saved=saved, candidate=candidate, secrets=secrets, testing=True)
    if problem:
        raise AmazonChannelError(problem[0], field=problem[1])
    candidate.set_credentials(**{name: value for name, value in secrets.items() if (value or "").strip()})
    try:
        with Gateway.for_store(candidate, retry=CONNECTION_TEST_RETRY,
                               max_pacing_wait=5) as gateway:
            return True, gateway.test_connection()
    except CredentialDecryptionError as error:
        return False, str(error)
    except AmazonError as error:
        return False, error.message


def amazon_store_sync_now(*, amazon_store: AmazonStore) -> None:
    """Queue a sync of the store (after the current transaction commits)."""
    store_id = amazon_store.pk
    transaction.on_commit(lambda: tasks.amazon_sync_store(store_id))


def amazon_store_sync(*, amazon_store: AmazonStore, **kwargs) -> SyncRun:
    """Run one sync pass now, in this process (CLI, tasks)."""
    return sync_store(store=amazon_store, **kwargs)


def amazon_store_backfill(*, amazon_store: AmazonStore, since: datetime, **kwargs) -> SyncRun:
    """Run one backfill pass now, in this process: the orders Amazon changed since ``since``."""
    return sync_store(store=amazon_store, since=since, kind=SyncRunKind.BACKFILL, **kwargs)


# --- Staff actions on Amazon orders --------------------------------------------------------------------------


def amazon_order_cancel(*, amazon_order: AmazonOrder, reason: str, actor) -> OutboxMessage:
    """Cancel an Unshipped Amazon order with a reason: Amazon is told by feed; locally the Amazon order is Canceled,
    its reservations released and the Commerce order canceled (or refunded in full when it was invoiced)."""
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
        verdict = rules.can_edit_address(order)  # the rule the screen asks too, checked again under the lock
        if not verdict:
            raise AmazonChannelError(verdict.reason)
        changed = [name for name, value in cleaned.items() if getattr(order, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(order, name, cleaned[name])
        order.address_edited_at = timezone.now()
        order.save(update_fields=[*changed, "address_edited_at", "updated_at"])
        # The address itself is personal data: the log names the fields, not their values.
        _event(order, "address", msg("address_corrected", fields=changed), actor=actor,
               direction=EventDirection.LOCAL)
        if order.commerce_order_id:
            OrderAddress.objects.filter(order_id=order.commerce_order_id, address_type=AddressType.SHIPPING).update(
                **{COMMERCE_ADDRESS[name]: cleaned[name] for name in changed})
            order_comment_add(order=order.commerce_order, actor=actor,
                              comment=_("Shipping address corrected from Amazon Order Details."))
    amazon_order.refresh_from_db()
    return changed


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
                                        retry=INTERACTIVE_CHECK_RETRY)
        found = feed_delivery.look_for_feed(gateway, message)
    except AmazonError as error:
        lookup = {**(message.feed_lookup or {}), "at": timezone.now().isoformat(), "verdict": "unreachable",
                  "error": error.message[:500]}
        OutboxMessage.objects.filter(pk=message.pk).update(feed_lookup=lookup)
        _event(message.amazon_order, "outbox_check", msg("outbox_unreachable", kind=message.kind,
                                                          error=error.message),
               level=EventLevel.WARNING, outbox=message, actor=actor, note=False)
        message.refresh_from_db()
        return message
    finally:
        if own_gateway and gateway is not None:
            gateway.close()
    with transaction.atomic():
        if found is None:
            _event(message.amazon_order, "outbox_check", msg("outbox_no_feed", kind=message.kind),
                   outbox=message, actor=actor, note=False)
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
            text = msg("outbox_retry_confirmed", kind=locked.kind, actor=delivery_label(actor),
                       risk=verdict.reason)
        else:
            text = msg("outbox_retry", kind=locked.kind)
        _event(locked.amazon_order, "outbox_retry", text, outbox=locked, actor=actor)
        _deliver_on_commit(locked.pk)
    message.refresh_from_db()
    return message
