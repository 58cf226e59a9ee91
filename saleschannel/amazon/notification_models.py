"""Real-time notifications of an Amazon store (DESIGN.md §8.3): the settings (off / sandbox / AWS SQS queue, the
AWS secrets encrypted like the LWA ones), the consumer's health, and the dead letters. Imported into
``amazon.models``; used by ``notifications.py`` (services) and ``notification_consumer.py`` (the consumer)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from saleschannel.amazon import crypto


class NotificationMode(models.TextChoices):
    OFF = "off", _("Off")
    SANDBOX = "sandbox", _("Sandbox (local SQS)")
    AWS = "aws", _("AWS SQS")


class StoreNotifications(models.Model):
    """One per Amazon store (created on first use): where ORDER_CHANGE notifications go, and how they fare."""

    store = models.OneToOneField("amazon.AmazonStore", on_delete=models.CASCADE, primary_key=True,
                                 related_name="notification_settings", verbose_name=_("Amazon store"))
    mode = models.CharField(_("Real-time notifications"), max_length=8, choices=NotificationMode.choices,
                            default=NotificationMode.OFF)
    queue_url = models.URLField(_("SQS queue URL"), max_length=512, blank=True,
                                help_text=_("e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/amazon-orders"))
    aws_region = models.CharField(_("AWS region"), max_length=32, blank=True)
    access_key_id_encrypted = models.TextField(blank=True, editable=False)
    secret_access_key_encrypted = models.TextField(blank=True, editable=False)
    destination_id = models.CharField(max_length=64, blank=True)
    subscription_id = models.CharField(max_length=64, blank=True)

    # Health (the consumer writes it; the store dashboard and the sweep read it).
    last_poll_at = models.DateTimeField(_("queue last polled"), null=True, blank=True)
    last_received_at = models.DateTimeField(_("last message received"), null=True, blank=True)
    last_lag_seconds = models.FloatField(_("lag of the last message (s)"), null=True, blank=True)
    messages_received = models.PositiveIntegerField(default=0)
    orders_imported = models.PositiveIntegerField(default=0)
    messages_skipped = models.PositiveIntegerField(_("duplicates or older messages"), default=0)
    queue_error = models.TextField(_("queue error"), blank=True)
    queue_error_since = models.DateTimeField(null=True, blank=True)
    sweep_unannounced = models.PositiveIntegerField(
        _("orders found by the sweep only (last sweep)"), default=0)
    sweep_unannounced_total = models.PositiveIntegerField(_("orders found by the sweep only (total)"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("real-time notifications")
        verbose_name_plural = _("real-time notifications")

    def __str__(self) -> str:
        return f"notifications of {self.store_id}: {self.mode}"

    @property
    def enabled(self) -> bool:
        return self.mode != NotificationMode.OFF

    def set_aws_keys(self, *, access_key_id: str | None = None, secret_access_key: str | None = None) -> None:
        if access_key_id is not None:
            self.access_key_id_encrypted = crypto.encrypt(access_key_id)
        if secret_access_key is not None:
            self.secret_access_key_encrypted = crypto.encrypt(secret_access_key)

    def aws_keys(self) -> tuple[str, str]:
        """(access key id, secret access key), decrypted; for the SQS client only."""
        return crypto.decrypt(self.access_key_id_encrypted), crypto.decrypt(self.secret_access_key_encrypted)


class NotificationDeadLetter(models.Model):
    """A message the consumer gave up on (unreadable, or failing after N receives), kept with a note."""

    store = models.ForeignKey("amazon.AmazonStore", on_delete=models.CASCADE, related_name="notification_dead_letters")
    message_id = models.CharField(max_length=128)
    notification_id = models.CharField(max_length=128, blank=True)
    amazon_order_id = models.CharField(max_length=32, blank=True)
    receive_count = models.PositiveIntegerField(default=1)
    note = models.TextField()
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=("store", "message_id"), name="amazon_dead_letter_once")]

    def __str__(self) -> str:
        return f"dead letter {self.message_id} ({self.amazon_order_id or '?'})"
