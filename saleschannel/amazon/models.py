"""Amazon Sales Channel: stores, mirrored Amazon orders, the per-order event log, the outbox and sync bookkeeping.

DESIGN.md §4. Uniqueness that matters is a database constraint: one Amazon order id → one ``AmazonOrder`` row →
at most one Commerce order (``commerce_order`` is one-to-one), one idempotency key per outbound message, one
package reference per Amazon order. The choices (statuses, kinds, regions) are in ``choices.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from saleschannel.amazon import crypto, events
from saleschannel.amazon.choices import (
    LWA_TOKEN_URL,
    REGION_ENDPOINTS,
    AmazonOrderStatus,
    ApiVersion,
    CustomerCreation,
    EventDirection,
    EventLevel,
    FulfillmentChannel,
    OrderNumberSource,
    OrderStatusMode,
    OutboxKind,
    OutboxState,
    Region,
    SyncRunKind,
    SyncRunState,
)
from saleschannel.amazon.metrics_models import AmazonPerformanceReport  # noqa: F401 - this app's model
from saleschannel.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, MoneyField

# --- Global settings -----------------------------------------------------------------------------------------


class ChannelSettings(models.Model):
    """Settings for the whole channel (one row, ``pk=1``; use ``ChannelSettings.load()``)."""

    read_only = models.BooleanField(
        _("read-only mode"), default=False,
        help_text=_("Changes are recorded and queued, but nothing is sent to Amazon until this is switched off. "
                    "Use it on staging copies of production data."),
    )
    log_retention_days = models.PositiveIntegerField(
        _("log retention (days)"), default=90, validators=[MinValueValidator(1)],
        help_text=_("Sync runs and order events older than this are deleted."),
    )
    pii_redaction_days = models.PositiveIntegerField(
        _("personal data kept after delivery (days)"), default=30, validators=[MinValueValidator(1)],
        help_text=_("Buyer name, email, phone and address are redacted this many days after the latest delivery date."),
    )
    pii_unfinished_days = models.PositiveIntegerField(
        _("personal data kept for orders that never finish (days)"), default=90, validators=[MinValueValidator(1)],
        help_text=_("Orders that are never shipped, canceled or completed (in Error, partly shipped, unshipped) are "
                    "redacted this many days after their purchase date."),
    )
    outbox_max_attempts = models.PositiveIntegerField(
        _("attempts before dead letter"), default=8, validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="channel_settings_singleton")]

    def __str__(self) -> str:
        return "Amazon channel settings"

    @classmethod
    def load(cls) -> ChannelSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


# --- Stores --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LwaCredentials:
    """Decrypted credentials, for the gateway only. ``repr`` never shows the values."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def complete(self) -> bool:
        return bool(self.client_id and self.client_secret and self.refresh_token)


class AmazonStore(models.Model):
    """One seller account (selling partner id, region) × its marketplaces, linked to a Commerce store."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    seller_id = models.CharField(_("seller id"), max_length=32, help_text=_("Merchant token / selling partner id."))
    region = models.CharField(_("region"), max_length=2, choices=Region.choices, default=Region.NA)
    marketplace_ids = models.JSONField(
        _("marketplaces"), default=list, help_text=_("Marketplace ids, e.g. ATVPDKIKX0DER.")
    )
    store = models.ForeignKey(
        "catalog.Store", on_delete=models.PROTECT, related_name="amazon_stores", verbose_name=_("Commerce store")
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Encrypted at rest (see crypto.py); read through credentials(), written through set_credentials().
    lwa_client_id_encrypted = models.TextField(blank=True, editable=False)
    lwa_client_secret_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)

    endpoint_override = models.URLField(
        _("endpoint override"), blank=True, help_text=_("SP-API base URL for the sandbox or a proxy. Empty: Amazon's.")
    )
    token_url_override = models.URLField(
        _("LWA token URL override"), blank=True, help_text=_("Empty: https://api.amazon.com/auth/o2/token.")
    )
    api_version = models.CharField(
        _("Orders API version"), max_length=16, choices=ApiVersion.choices, default=ApiVersion.V2026
    )
    time_scale = models.DecimalField(
        _("time scale"), max_digits=9, decimal_places=3, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_("How many of Amazon's seconds pass in one of ours: 1 for Amazon; the sandbox's --time-scale "
                    "when it runs faster. Scales the pacer's rates, the 2-minute rule and the window overlap."),
    )
    pacing_enabled = models.BooleanField(
        _("pace calls"), default=True,
        help_text=_("Pace SP-API calls to Amazon's published rates. Off only against a sandbox without rate limits."),
    )

    # Order Settings (DESIGN.md §4.2).
    import_enabled = models.BooleanField(_("Import Amazon Orders"), default=True)
    import_store = models.ForeignKey(
        "catalog.Store", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("Import into Commerce store"), help_text=_("Empty: the linked store."),
    )
    customer_creation = models.CharField(
        _("Customer creation"), max_length=16, choices=CustomerCreation.choices, default=CustomerCreation.GUEST
    )
    order_number_source = models.CharField(
        _("Order number source"), max_length=16, choices=OrderNumberSource.choices, default=OrderNumberSource.COMMERCE
    )
    reserve_pending = models.BooleanField(
        _("Pending orders: reserve quantity"), default=True,
        help_text=_("Reserve stock for Amazon orders that are still Pending (payment not verified yet)."),
    )
    order_status_mode = models.CharField(
        _("Order status"), max_length=16, choices=OrderStatusMode.choices, default=OrderStatusMode.DEFAULT
    )
    custom_processing_status = models.CharField(
        _("Custom processing status"), max_length=32, blank=True,
        help_text=_("Code of a status of the processing state, used when Order status is Custom."),
    )
    invoice_on_import = models.BooleanField(_("Invoice on import"), default=True)
    import_fba = models.BooleanField(
        _("FBA orders: import when Shipped"), default=True,
        help_text=_("Import Amazon-fulfilled orders once Shipped, as Complete, without touching stock."),
    )
    sync_frequency_minutes = models.PositiveSmallIntegerField(
        _("Sync frequency (minutes)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    ship_by_alert_hours = models.PositiveSmallIntegerField(_("Ship-by alert (hours before)"), default=6, validators=[
        MinValueValidator(1), MaxValueValidator(72)], help_text=_("Alert operators this long before Latest Ship Date."))

    # Sync bookkeeping.
    last_updated_before = models.DateTimeField(
        _("synced up to"), null=True, blank=True,
        help_text=_("Watermark: Amazon's lastUpdatedBefore of the last committed page."),
    )
    last_sync_attempt_at = models.DateTimeField(null=True, blank=True)
    last_successful_sync_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Sync health (see health.py): the current streak of failed passes, reset by the next successful one.
    sync_failing_since = models.DateTimeField(
        _("sync failing since"), null=True, blank=True,
        help_text=_("Start of the first failed pass of the current streak; empty while syncs succeed."),
    )
    sync_failures_in_row = models.PositiveIntegerField(_("failed passes in a row"), default=0)
    sync_alerted_at = models.DateTimeField(
        _("sync alert sent"), null=True, blank=True,
        help_text=_("When administrators were alerted about the current streak (once per streak)."),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Amazon store")
        verbose_name_plural = _("Amazon stores")
        constraints = [
            models.CheckConstraint(
                condition=Q(sync_frequency_minutes__gte=1, sync_frequency_minutes__lte=60),
                name="amazon_store_frequency_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<AmazonStore {self.pk}: {self.name}>"

    # Credentials ------------------------------------------------------------------------------------------
    def set_credentials(self, *, client_id: str | None = None, client_secret: str | None = None,
                        refresh_token: str | None = None) -> None:
        """Encrypt and set the given credentials (None leaves one unchanged). The caller saves."""
        if client_id is not None:
            self.lwa_client_id_encrypted = crypto.encrypt(client_id.strip())
        if client_secret is not None:
            self.lwa_client_secret_encrypted = crypto.encrypt(client_secret.strip())
        if refresh_token is not None:
            self.refresh_token_encrypted = crypto.encrypt(refresh_token.strip())

    def credentials(self) -> LwaCredentials:
        return LwaCredentials(
            client_id=crypto.decrypt(self.lwa_client_id_encrypted),
            client_secret=crypto.decrypt(self.lwa_client_secret_encrypted),
            refresh_token=crypto.decrypt(self.refresh_token_encrypted),
        )

    @property
    def credentials_set(self) -> dict[str, bool]:
        """Which credentials are stored, for "•••• set" displays (never the values)."""
        return {
            "client_id": bool(self.lwa_client_id_encrypted),
            "client_secret": bool(self.lwa_client_secret_encrypted),
            "refresh_token": bool(self.refresh_token_encrypted),
        }

    # Derived settings ------------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return (self.endpoint_override or REGION_ENDPOINTS[Region(self.region)]).rstrip("/")

    @property
    def token_url(self) -> str:
        return self.token_url_override or LWA_TOKEN_URL

    @property
    def target_store(self):
        """The Commerce store Amazon orders are imported into."""
        return self.import_store if self.import_store_id else self.store

    @property
    def target_store_id(self) -> int:
        return self.import_store_id or self.store_id


class AmazonStoreChange(models.Model):
    """One change of an Amazon store's connection: who, when and which fields (names only, never values).

    Written by ``services.amazon_store_create`` / ``amazon_store_update`` in the same transaction as the change;
    credentials appear as ``client_id``, ``client_secret``, ``refresh_token`` when they were replaced.
    """

    store = models.ForeignKey(AmazonStore, on_delete=models.CASCADE, related_name="connection_changes",
                              verbose_name=_("Amazon store"))
    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.CharField(_("who"), max_length=150)
    created = models.BooleanField(_("store connected"), default=False)
    fields = models.JSONField(_("changed fields"), default=list)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("Amazon store connection change")
        verbose_name_plural = _("Amazon store connection changes")

    def __str__(self) -> str:
        return f"{self.store_id} {self.at:%Y-%m-%d %H:%M:%S} {self.actor}: {', '.join(self.fields)}"


# --- Amazon orders -------------------------------------------------------------------------------------------


class AmazonOrder(models.Model):
    """Amazon's view of one order, mirrored at every sync, plus the local fields of DESIGN.md §4.3."""

    store = models.ForeignKey(AmazonStore, on_delete=models.CASCADE, related_name="orders")
    amazon_order_id = models.CharField(_("Amazon order number"), max_length=32, unique=True)
    marketplace_id = models.CharField(_("marketplace"), max_length=32, blank=True)
    sales_channel = models.CharField(_("sales channel"), max_length=64, blank=True)

    status = models.CharField(
        _("status"), max_length=24, choices=AmazonOrderStatus.choices, default=AmazonOrderStatus.PENDING,
        help_text=_("What the grids show: Amazon's status, or the local Error / Completed."),
    )
    amazon_status = models.CharField(
        _("Amazon status"), max_length=24, choices=AmazonOrderStatus.choices, default=AmazonOrderStatus.PENDING,
        help_text=_("The status Amazon reported last."),
    )
    fulfillment_channel = models.CharField(
        _("fulfillment channel"), max_length=3, choices=FulfillmentChannel.choices, default=FulfillmentChannel.MFN
    )
    ship_service_level = models.CharField(_("ship service level"), max_length=64, blank=True)
    shipment_service_level_category = models.CharField(_("shipping service"), max_length=64, blank=True)

    buyer_name = models.CharField(_("buyer's name"), max_length=255, blank=True)
    buyer_email = models.CharField(_("buyer email"), max_length=254, blank=True)
    buyer_company = models.CharField(_("buyer company"), max_length=255, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    order_total = models.DecimalField(
        _("total"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, null=True, blank=True,
        help_text=_("Amazon's OrderTotal; empty while Pending (Amazon gives no prices yet)."),
    )
    is_prime = models.BooleanField(_("prime"), default=False)
    is_premium = models.BooleanField(_("premium"), default=False)
    is_business = models.BooleanField(_("business"), default=False)
    is_replacement = models.BooleanField(_("replacement"), default=False)
    items_shipped = models.PositiveIntegerField(_("items shipped"), default=0)
    items_unshipped = models.PositiveIntegerField(_("items unshipped"), default=0)

    purchase_date = models.DateTimeField(_("purchase date"), db_index=True)
    earliest_ship_date = models.DateTimeField(_("earliest ship date"), null=True, blank=True)
    latest_ship_date = models.DateTimeField(_("latest ship date"), null=True, blank=True, db_index=True)
    earliest_delivery_date = models.DateTimeField(_("earliest delivery date"), null=True, blank=True)
    latest_delivery_date = models.DateTimeField(_("latest delivery date"), null=True, blank=True)
    last_update_date = models.DateTimeField(_("last updated on Amazon"), null=True, blank=True)

    ship_name = models.CharField(_("recipient"), max_length=255, blank=True)
    ship_company = models.CharField(_("company"), max_length=255, blank=True)
    ship_address_line1 = models.CharField(_("address line 1"), max_length=255, blank=True)
    ship_address_line2 = models.CharField(_("address line 2"), max_length=255, blank=True)
    ship_address_line3 = models.CharField(_("address line 3"), max_length=255, blank=True)
    ship_city = models.CharField(_("city"), max_length=128, blank=True)
    ship_region = models.CharField(_("region"), max_length=128, blank=True)
    ship_postal_code = models.CharField(_("postal code"), max_length=32, blank=True)
    ship_country_code = models.CharField(_("country"), max_length=2, blank=True)
    ship_phone = models.CharField(_("phone"), max_length=64, blank=True)
    address_edited_at = models.DateTimeField(
        _("address corrected"), null=True, blank=True,
        help_text=_("Set when staff corrected the address; later syncs no longer overwrite it."),
    )
    payment_method = models.CharField(_("payment method"), max_length=64, blank=True)

    buyer_cancel_requested = models.BooleanField(_("buyer requested cancellation"), default=False, db_index=True)
    buyer_cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)

    # Local fields.
    commerce_order = models.OneToOneField(
        "sales.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="amazon_order",
        verbose_name=_("Commerce order"),
    )
    is_reserved = models.BooleanField(_("inventory reserved"), default=False)
    notes = models.CharField(_("Order Notes"), max_length=512, blank=True)
    notes_code = models.CharField(max_length=32, blank=True)  # the note as code + params (events.py)
    notes_params = models.JSONField(default=dict, blank=True)
    import_error = models.TextField(
        _("import error"), blank=True, help_text=_("Why the Commerce order could not be created (status Error).")
    )
    import_attempts = models.PositiveIntegerField(default=0)
    # Amazon sent this order in a shape we could not read, or importing it failed unexpectedly: it is kept in Error
    # and asked for again (getOrder) at the next passes, until a readable copy imports.
    refetch_needed = models.BooleanField(_("to fetch again"), default=False)
    pii_redacted_at = models.DateTimeField(_("personal data redacted"), null=True, blank=True)
    raw = models.JSONField(_("Amazon data"), default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-purchase_date", "-id"]
        verbose_name = _("Amazon order")
        verbose_name_plural = _("Amazon orders")
        indexes = [
            models.Index(fields=["store", "-purchase_date"], name="amazon_order_store_purchase"),
            models.Index(fields=["store", "status"], name="amazon_order_store_status"),
            models.Index(fields=["status", "-purchase_date"], name="amazon_order_status_purchase"),
        ]

    def __str__(self) -> str:
        return self.amazon_order_id

    def __repr__(self) -> str:
        return f"<AmazonOrder {self.amazon_order_id} {self.status}>"

    @property
    def reservation_reference(self) -> str:
        return f"amazon.order:{self.amazon_order_id}"

    @property
    def is_fba(self) -> bool:
        return self.fulfillment_channel == FulfillmentChannel.AFN

    @property
    def ship_address_lines(self) -> list[str]:
        return [line for line in (self.ship_address_line1, self.ship_address_line2, self.ship_address_line3) if line]

    @property
    def seller_central_url(self) -> str:
        return f"https://sellercentral.amazon.com/orders-v3/order/{self.amazon_order_id}"

    @property
    def notes_text(self) -> str:
        """The Order Notes in the reader's language (the stored text when written before codes existed)."""
        return events.render(self.notes_code, self.notes_params, fallback=self.notes)


class AmazonOrderItem(models.Model):
    order = models.ForeignKey(AmazonOrder, on_delete=models.CASCADE, related_name="items")
    order_item_id = models.CharField(_("order item id"), max_length=32)
    asin = models.CharField(_("ASIN"), max_length=16, blank=True)
    seller_sku = models.CharField(_("seller SKU"), max_length=64, blank=True, db_index=True)
    title = models.CharField(_("title"), max_length=512, blank=True)
    condition = models.CharField(_("condition"), max_length=64, blank=True)
    qty_ordered = models.PositiveIntegerField(_("qty ordered"), default=0)
    qty_shipped = models.PositiveIntegerField(_("qty shipped"), default=0)
    item_price = MoneyField(_("row price"), help_text=_("Amazon's ItemPrice: unit price × quantity."))
    item_tax = MoneyField(_("row tax"))
    shipping_price = MoneyField(_("shipping price"))
    shipping_tax = MoneyField(_("shipping tax"))
    shipping_discount = MoneyField(_("shipping discount"))
    shipping_discount_tax = MoneyField(_("shipping discount tax"))
    promotion_discount = MoneyField(_("promotion discount"))
    promotion_discount_tax = MoneyField(_("promotion discount tax"))
    buyer_requested_cancel = models.BooleanField(_("buyer requested cancellation"), default=False)
    buyer_cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "order_item_id"], name="amazon_item_unique_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_sku} × {self.qty_ordered}"

    @property
    def unit_price(self) -> Decimal:
        return self.item_price / self.qty_ordered if self.qty_ordered else Decimal("0")


class AmazonOrderEvent(models.Model):
    """One line of an Amazon order's sync log: what we received, did or sent, with Amazon's answer.

    Never holds secrets; personal data only as far as Amazon's answers quote it (redacted with the order).
    """

    order = models.ForeignKey(AmazonOrder, on_delete=models.CASCADE, related_name="events")
    direction = models.CharField(max_length=8, choices=EventDirection.choices, default=EventDirection.INBOUND)
    level = models.CharField(max_length=8, choices=EventLevel.choices, default=EventLevel.INFO)
    kind = models.CharField(_("event"), max_length=32)  # e.g. mirrored, status, imported, error, reserved, shipment
    message = models.TextField(_("message"))  # in the writer's language; shown: ``text``
    code = models.CharField(max_length=32, blank=True)  # what happened, as code + params (events.py)
    params = models.JSONField(default=dict, blank=True)
    response = models.TextField(_("Amazon's response"), blank=True)
    actor = models.CharField(_("by"), max_length=150, default="Amazon sync")
    outbox_message = models.ForeignKey(
        "OutboxMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "-created_at"], name="amazon_event_order_created")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    text = property(lambda self: events.render(self.code, self.params, fallback=self.message))
    kind_label = property(lambda self: events.kind_label(self.kind))
    actor_label = property(lambda self: events.actor_label(self.actor))


# --- Outbound ------------------------------------------------------------------------------------------------


class OutboxMessage(models.Model):
    """A change Amazon must learn about, written in the same transaction as the Commerce change (DESIGN §4.5)."""

    amazon_order = models.ForeignKey(AmazonOrder, on_delete=models.CASCADE, related_name="outbox_messages")
    kind = models.CharField(_("kind"), max_length=16, choices=OutboxKind.choices)
    payload = models.JSONField(_("payload"), default=dict)
    idempotency_key = models.CharField(max_length=128, unique=True)
    state = models.CharField(_("state"), max_length=16, choices=OutboxState.choices, default=OutboxState.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("While sending: after this a crashed worker's message is picked up again.")
    )
    last_error = models.TextField(_("last error"), blank=True)
    feed_id = models.CharField(_("feed id"), max_length=64, blank=True)
    feed_document_id = models.CharField(max_length=128, blank=True)
    # Set just before createFeed and kept until the feed id is recorded: a message found with it and no feed id
    # was perhaps received by Amazon (a crash or a lost answer), so Amazon's feeds are checked before sending again.
    feed_submitted_at = models.DateTimeField(null=True, blank=True)
    feed_status = models.CharField(_("feed status"), max_length=16, blank=True)
    processing_report = models.JSONField(_("processing report"), default=dict, blank=True)
    # Amazon may have done it: createFeed (or the last look at Amazon) ended without an answer that says. Cleared
    # once Amazon's feeds tell (found: followed; not there: sent), or when a person decides to send it again.
    outcome_unknown = models.BooleanField(_("outcome unknown"), default=False)
    # What getFeeds showed the last time this message's feed was looked for: when, since when, the feeds Amazon
    # listed, those no other message claims, and the verdict (none, found, ambiguous).
    feed_lookup = models.JSONField(_("feed look-up"), default=dict, blank=True)
    # One feed of a kind in flight per store and marketplace: the message whose feed this one waits for.
    waiting_for = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                    verbose_name=_("waiting for"))
    package_reference_id = models.PositiveBigIntegerField(_("package reference id"), null=True, blank=True)
    shipment = models.ForeignKey(
        "sales.Shipment", on_delete=models.SET_NULL, null=True, blank=True, related_name="amazon_outbox"
    )
    creditmemo = models.ForeignKey(
        "sales.CreditMemo", on_delete=models.SET_NULL, null=True, blank=True, related_name="amazon_outbox"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            models.UniqueConstraint(
                fields=["amazon_order", "package_reference_id"], name="amazon_package_reference_unique_per_order"
            ),
            models.CheckConstraint(
                condition=Q(package_reference_id__isnull=True) | Q(package_reference_id__gt=0),
                name="amazon_package_reference_positive",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="amazon_outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.amazon_order_id} ({self.state})"


# --- Sync bookkeeping ----------------------------------------------------------------------------------------


class SyncLock(models.Model):
    """One sync per store at a time. The lock expires, so a crashed worker cannot leave it stuck."""

    store = models.OneToOneField(AmazonStore, on_delete=models.CASCADE, primary_key=True, related_name="sync_lock")
    owner = models.CharField(max_length=128)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sync lock on {self.store_id} by {self.owner} until {self.expires_at:%H:%M:%S}"


class SyncRun(models.Model):
    """History of sync passes, with counts and the error if any (store dashboard's sync health)."""

    store = models.ForeignKey(AmazonStore, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=16, choices=SyncRunKind.choices, default=SyncRunKind.SYNC)
    state = models.CharField(max_length=16, choices=SyncRunState.choices, default=SyncRunState.RUNNING)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    orders_seen = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(_("Commerce orders created"), default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    orders_failed = models.PositiveIntegerField(_("orders in error"), default=0)
    api_calls = models.PositiveIntegerField(_("SP-API calls"), default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["store", "-started_at"], name="amazon_syncrun_store_started")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.store_id} at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class RateBucket(models.Model):
    """Token-bucket state for one SP-API operation and seller, shared by every process through the database."""

    key = models.CharField(max_length=128, primary_key=True)
    tokens = models.FloatField()
    updated_at = models.FloatField(help_text="time.time() of the last refill")

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.2f}"


class RedactionLog(models.Model):
    """What personal data was redacted and when (DESIGN.md §4.7)."""

    amazon_order = models.ForeignKey(AmazonOrder, on_delete=models.CASCADE, related_name="redactions")
    fields = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)


from saleschannel.amazon.deadline_models import ShipByAlert, ShipByDigest  # noqa: E402,F401  (ship-by alerts)
from saleschannel.amazon.listings_models import ListingsRead  # noqa: E402,F401  (background listings reads)
from saleschannel.amazon.notification_models import NotificationDeadLetter, StoreNotifications  # noqa: E402,F401
from saleschannel.amazon.sku_mapping import SkuMapping  # noqa: E402,F401  (a model of this app, in its own module)
