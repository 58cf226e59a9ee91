"""Writes of the Amazon channel: stores and their Order Settings, channel settings, sync requests.

Each function validates first and raises ``AmazonChannelError`` (which changes nothing), then writes in one
transaction. The import itself lives in ``importer.py``; what is allowed in ``rules.py``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from saleschannel.amazon.models import (
    AmazonStore,
    ApiVersion,
    ChannelSettings,
    CustomerCreation,
    OrderNumberSource,
    OrderStatusMode,
    Region,
    SyncRun,
    SyncRunKind,
)


class AmazonChannelError(Exception):
    """A refused change, in words for the person who asked; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


CONNECTION_FIELDS = ("name", "seller_id", "region", "marketplace_ids", "store", "endpoint_override",
                     "token_url_override", "api_version", "time_scale", "pacing_enabled", "is_active")
ORDER_SETTINGS_FIELDS = ("import_enabled", "import_store", "customer_creation", "order_number_source",
                         "reserve_pending", "order_status_mode", "custom_processing_status", "invoice_on_import",
                         "import_fba", "sync_frequency_minutes")
SECRET_FIELDS = ("client_id", "client_secret", "refresh_token")


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
    from saleschannel.sales.models import OrderState, OrderStatus

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


def amazon_store_create(*, name: str, seller_id: str, marketplace_ids, store, region: str = Region.NA,
                        client_id: str = "", client_secret: str = "", refresh_token: str = "",
                        **options) -> AmazonStore:
    """Connect an Amazon seller account; credentials are encrypted before they reach the database."""
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
    return amazon_store


def amazon_store_update(*, amazon_store: AmazonStore, client_id: str | None = None, client_secret: str | None = None,
                        refresh_token: str | None = None, **changes) -> AmazonStore:
    """Change connection fields and/or Order Settings. A credential given as None or "" is left unchanged."""
    unknown = set(changes) - set(CONNECTION_FIELDS) - set(ORDER_SETTINGS_FIELDS)
    if unknown:
        raise AmazonChannelError(_("Unknown setting: %(name)s") % {"name": sorted(unknown)[0]})
    _apply(amazon_store, changes)
    amazon_store.set_credentials(client_id=client_id or None, client_secret=client_secret or None,
                                 refresh_token=refresh_token or None)
    with transaction.atomic():
        amazon_store.save()
    return amazon_store


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


def channel_settings_update(*, read_only: bool | None = None, log_retention_days: int | None = None,
                            pii_redaction_days: int | None = None,
                            outbox_max_attempts: int | None = None) -> ChannelSettings:
    with transaction.atomic():
        settings = ChannelSettings.load()
        for field, value in (("read_only", read_only), ("log_retention_days", log_retention_days),
                             ("pii_redaction_days", pii_redaction_days),
                             ("outbox_max_attempts", outbox_max_attempts)):
            if value is not None:
                setattr(settings, field, value)
        try:
            settings.full_clean()
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise AmazonChannelError(messages[0], field=field)
        settings.save()
    return settings


def amazon_store_test_connection(*, amazon_store: AmazonStore) -> tuple[bool, str]:
    """(ok, message in plain words). Reads one page of recent orders; writes nothing."""
    from saleschannel.amazon.crypto import CredentialDecryptionError
    from saleschannel.amazon.gateway import AmazonError, Gateway, RetryPolicy

    try:
        with Gateway.for_store(amazon_store, retry=RetryPolicy(max_attempts=3, max_total_seconds=20),
                               max_pacing_wait=5) as gateway:
            return True, gateway.test_connection()
    except CredentialDecryptionError as error:
        return False, str(error)
    except AmazonError as error:
        return False, error.message


def amazon_store_sync_now(*, amazon_store: AmazonStore) -> None:
    """Queue a sync of the store (after the current transaction commits)."""
    from saleschannel.amazon.tasks import amazon_sync_store

    store_id = amazon_store.pk
    transaction.on_commit(lambda: amazon_sync_store(store_id))


def amazon_store_sync(*, amazon_store: AmazonStore, **kwargs) -> SyncRun:
    """Run one sync pass now, in this process (CLI, tasks)."""
    from saleschannel.amazon.importer import sync_store

    return sync_store(store=amazon_store, **kwargs)


def amazon_store_backfill(*, amazon_store: AmazonStore, since: datetime, **kwargs) -> SyncRun:
    from saleschannel.amazon.importer import sync_store

    return sync_store(store=amazon_store, since=since, kind=SyncRunKind.BACKFILL, **kwargs)
