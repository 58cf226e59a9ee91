"""The choices of the Amazon channel's models: regions, Order Settings, statuses, event and outbox kinds, sync runs.

Importable from ``models`` too (the models use them); kept apart so that ``models.py`` holds the tables.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    NA = "NA", _("North America")
    EU = "EU", _("Europe")
    FE = "FE", _("Far East")


REGION_ENDPOINTS = {
    Region.NA: "https://sellingpartnerapi-na.amazon.com",
    Region.EU: "https://sellingpartnerapi-eu.amazon.com",
    Region.FE: "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret


class ApiVersion(models.TextChoices):
    V2026 = "2026-01-01", _("Orders API 2026-01-01")
    V0 = "v0", _("Orders API v0 (fallback)")


class CustomerCreation(models.TextChoices):
    GUEST = "guest", _("Guest")
    ACCOUNT = "account", _("Build new customer account")


class OrderNumberSource(models.TextChoices):
    COMMERCE = "commerce", _("Commerce order number")
    AMAZON = "amazon", _("Amazon order number")


class OrderStatusMode(models.TextChoices):
    DEFAULT = "default", _("Default")
    CUSTOM = "custom", _("Custom")


class AmazonOrderStatus(models.TextChoices):
    """Amazon's statuses (v0 spelling, shown as is) plus the local ``Error`` and ``Completed``."""

    PENDING = "Pending", _("Pending")
    UNSHIPPED = "Unshipped", _("Unshipped")
    PARTIALLY_SHIPPED = "PartiallyShipped", _("Partially Shipped")
    SHIPPED = "Shipped", _("Shipped")
    CANCELED = "Canceled", _("Canceled")
    PENDING_AVAILABILITY = "PendingAvailability", _("Pending Availability")
    UNFULFILLABLE = "Unfulfillable", _("Unfulfillable")
    INVOICE_UNCONFIRMED = "InvoiceUnconfirmed", _("Invoice Unconfirmed")
    ERROR = "Error", _("Error")
    COMPLETED = "Completed", _("Completed")


class FulfillmentChannel(models.TextChoices):
    MFN = "MFN", _("Merchant (FBM)")
    AFN = "AFN", _("Amazon (FBA)")


class EventDirection(models.TextChoices):
    INBOUND = "inbound", _("From Amazon")
    OUTBOUND = "outbound", _("To Amazon")
    LOCAL = "local", _("Local")


class EventLevel(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    ERROR = "error", _("Error")


class OutboxKind(models.TextChoices):
    SHIPMENT = "shipment", _("Shipment confirmation")
    CANCEL = "cancel", _("Cancellation")
    REFUND = "refund", _("Refund")


class OutboxState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")  # feed submitted, processing report pending
    ACCEPTED = "accepted", _("Accepted")
    FAILED = "failed", _("Failed")  # will be retried at next_attempt_at
    DEAD = "dead", _("Dead letter")


class SyncRunKind(models.TextChoices):
    SYNC = "sync", _("Scheduled or manual sync")
    BACKFILL = "backfill", _("Backfill")


class SyncRunState(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (another sync was running)")
    INTERRUPTED = "interrupted", _("Interrupted (its worker stopped)")


# Amazon's reasons for canceling an order (OrderAcknowledgement/CancelReason), in the reader's language.
CANCEL_REASON_LABELS = {
    "NoInventory": _("No inventory"),
    "ShippingAddressUndeliverable": _("Shipping address undeliverable"),
    "CustomerExchange": _("Customer exchange"),
    "BuyerCanceled": _("Buyer canceled"),
    "GeneralAdjustment": _("General adjustment"),
    "CarrierCreditDecision": _("Carrier credit decision"),
    "RiskAssessmentInformationNotValid": _("Risk assessment information not valid"),
    "CarrierCoverageFailure": _("Carrier coverage failure"),
    "CustomerReturn": _("Customer return"),
    "MerchandiseNotReceived": _("Merchandise not received"),
}
