"""Writes of the Amazon channel: stores and their Order Settings, channel settings, sync requests.

Each function validates first and raises ``AmazonChannelError`` (which changes nothing), then writes in one
transaction. The import itself lives in ``importer.py``; what is allowed in ``rules.py``.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.amazon.crypto import CredentialDecryptionError
from saleschannel.amazon.models import (
    LWA_TOKEN_URL,
    REGION_ENDPOINTS,
    AmazonStore,
    AmazonStoreChange,
    ApiVersion,
    ChannelSettings,
    CustomerCreation,
    OrderNumberSource,
    OrderStatusMode,
    Region,
    SyncRun,
    SyncRunKind,
)
from saleschannel.core.errors import DomainError


class AmazonChannelError(DomainError):
    """A refused change, in words for the person who asked; ``field`` names the input at fault."""

    def __init__(self, message: str, *, code: str = "refused", field: str = "") -> None:
        super().__init__(message, code=code, field=field)

    def __str__(self) -> str:
        return self.message


CONNECTION_FIELDS = ("name", "seller_id", "region", "marketplace_ids", "store", "endpoint_override",
                     "token_url_override", "api_version", "time_scale", "pacing_enabled", "is_active")
ORDER_SETTINGS_FIELDS = ("import_enabled", "import_store", "customer_creation", "order_number_source",
                         "reserve_pending", "order_status_mode", "custom_processing_status", "invoice_on_import",
                         "import_fba", "sync_frequency_minutes")
SECRET_FIELDS = ("client_id", "client_secret", "refresh_token")
URL_FIELDS = ("endpoint_override", "token_url_override")
SYSTEM_ACTOR = "system"
# Amazon's own hosts, suggested by the form (DESIGN.md §5): the regional SP-API endpoints, their sandboxes, LWA.
SUGGESTED_ENDPOINTS = (*REGION_ENDPOINTS.values(),
                       *(url.replace("https://", "https://sandbox.") for url in REGION_ENDPOINTS.values()))
SUGGESTED_TOKEN_URLS = (LWA_TOKEN_URL,)
LOOPBACK_NAMES = frozenset({"localhost"})

logger = logging.getLogger(__name__)


# --- Where secrets may go (DESIGN.md §4.1): the rules, in one place --------------------------------------------


def override_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be an endpoint or LWA token URL override, or None (empty means Amazon's own).

    An ``https`` URL with a host, or ``http`` only on loopback (127.0.0.0/8, ::1, localhost: the sandbox); never a
    user name or password, a query or a fragment. The secrets are posted there.
    """
    value = (value or "").strip()
    if not value:
        return None
    if any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in value):
        return _("The URL must not contain spaces or backslashes.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return _("Enter a valid URL, e.g. https://sellingpartnerapi-na.amazon.com.")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        return _("The URL must start with https:// (http:// only for 127.0.0.1, ::1 or localhost).")
    if "@" in parts.netloc:
        return _("The URL must not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        return _("The URL must name a host, e.g. https://sellingpartnerapi-na.amazon.com.")
    if port == 0:
        return _("Enter a valid URL, e.g. https://sellingpartnerapi-na.amazon.com.")
    if parts.fragment or "#" in value:
        return _("The URL must not contain a fragment (#...).")
    if parts.query or "?" in value:
        return _("The URL must not contain a query (?...).")
    if scheme == "http" and not _is_loopback(host):
        return _("Secrets are sent to this URL: use https://. Plain http:// is allowed only on this machine "
                 "(127.0.0.1, ::1 or localhost).")
    return None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_override_url(value: str) -> None:
    """Django validator form of ``override_url_problem`` (the form shows the same message)."""
    problem = override_url_problem(value)
    if problem:
        raise ValidationError(problem, code="override_url")


def _same_url(a: str, b: str) -> bool:
    """One destination, spelled alike or not (case of scheme and host, a trailing slash)."""
    def canonical(value: str) -> tuple:
        value = (value or "").strip()
        if not value:
            return ()
        try:
            parts = urlsplit(value)
            return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, parts.path.rstrip("/"),
                    parts.query, parts.fragment, parts.username, parts.password)
        except ValueError:
            return (value,)
    return canonical(a) == canonical(b)


def changed_destinations(saved: AmazonStore | None, candidate: AmazonStore) -> list[str]:
    """The override fields of ``candidate`` that send the secrets somewhere ``saved`` (the database row) did not."""
    if saved is None:
        return []
    return [name for name in URL_FIELDS if not _same_url(getattr(saved, name), getattr(candidate, name))]


def secrets_for_destination_problem(*, saved: AmazonStore | None, candidate: AmazonStore, secrets: dict,
                                    testing: bool = False) -> tuple[str, str] | None:
    """(message, field) when ``candidate`` would send the stored secrets to an address they were not saved with.

    Changing the endpoint or the LWA token URL override needs the client id, client secret and refresh token in
    the same save (or the same test): stored secrets only ever go where they were saved to go.
    """
    if not changed_destinations(saved, candidate):
        return None
    missing = [name for name in SECRET_FIELDS if not (secrets.get(name) or "").strip()]
    if not missing:
        return None
    if testing:
        message = _("The endpoint or LWA token URL differs from the saved one: enter the LWA client id, client "
                    "secret and refresh token to test with them. Stored secrets are never sent to a new address.")
    else:
        message = _("The endpoint or LWA token URL changed: enter the LWA client id, client secret and refresh "
                    "token again in the same save. Stored secrets are never sent to a new address.")
    return message, missing[0]


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
    from saleschannel.amazon.marketplaces import marketplace

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
    from saleschannel.amazon.spapi.gateway import AmazonError, Gateway, RetryPolicy

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
        with Gateway.for_store(candidate, retry=RetryPolicy(max_attempts=3, max_total_seconds=20),
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
    from saleschannel.amazon.sync import sync_store

    return sync_store(store=amazon_store, **kwargs)


def amazon_store_backfill(*, amazon_store: AmazonStore, since: datetime, **kwargs) -> SyncRun:
    from saleschannel.amazon.sync import sync_store

    return sync_store(store=amazon_store, since=since, kind=SyncRunKind.BACKFILL, **kwargs)
