"""What the ship-by alerts remember (``deadline_alerts.py``): one row per order and threshold once its alert went
out, one row per store and day once its digest went out. Imported into ``amazon.models``."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ShipByAlert(models.Model):
    """The alert of one Amazon order at one threshold (hours before its Latest Ship Date) was sent: never again."""

    amazon_order = models.ForeignKey("amazon.AmazonOrder", on_delete=models.CASCADE, related_name="ship_by_alerts")
    threshold_hours = models.PositiveSmallIntegerField(_("hours before the deadline"))
    latest_ship_date = models.DateTimeField(_("latest ship date"))
    sent_at = models.DateTimeField(_("sent"))
    recipients = models.PositiveIntegerField(_("e-mails sent"), default=0)

    class Meta:
        verbose_name = _("ship-by alert")
        verbose_name_plural = _("ship-by alerts")
        constraints = [models.UniqueConstraint(fields=["amazon_order", "threshold_hours"],
                                               name="amazon_ship_by_alert_once")]

    def __str__(self) -> str:
        return f"{self.amazon_order_id}@{self.threshold_hours}h"


class ShipByDigest(models.Model):
    """The daily ship-by digest of one Amazon store for one day (the store's time zone) was sent."""

    store = models.ForeignKey("amazon.AmazonStore", on_delete=models.CASCADE, related_name="ship_by_digests")
    day = models.DateField(_("day"))
    sent_at = models.DateTimeField(_("sent"))
    recipients = models.PositiveIntegerField(_("e-mails sent"), default=0)

    class Meta:
        verbose_name = _("ship-by digest")
        verbose_name_plural = _("ship-by digests")
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="amazon_ship_by_digest_once")]

    def __str__(self) -> str:
        return f"{self.store_id}@{self.day}"
