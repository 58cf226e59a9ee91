"""Amazon's own seller metrics (GET_V2_SELLER_PERFORMANCE_REPORT), stored per store, marketplace and report date
(``seller_performance`` fetches them daily); ``metrics`` projects the same figures from our records."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AmazonPerformanceReport(models.Model):
    """One marketplace of one account health report: the rates Amazon published, as read (validated)."""

    store = models.ForeignKey("amazon.AmazonStore", on_delete=models.CASCADE, related_name="performance_reports")
    marketplace_id = models.CharField(_("marketplace"), max_length=32)
    report_date = models.DateField(_("report date"))
    report_id = models.CharField(_("report id"), max_length=64, blank=True)
    generated_at = models.DateTimeField(_("generated"), null=True, blank=True)
    # metric (lateShipmentRate...) → {"rate", "status", "targetValue", "targetCondition", "from", "to", "counts"}
    rates = models.JSONField(_("rates"), default=dict)
    fetched_at = models.DateTimeField(_("fetched"), auto_now=True)

    class Meta:
        app_label = "amazon"
        ordering = ["-report_date", "marketplace_id"]
        verbose_name = _("Amazon performance report")
        verbose_name_plural = _("Amazon performance reports")
        constraints = [models.UniqueConstraint(fields=["store", "marketplace_id", "report_date"],
                                               name="amazon_performance_report_unique_per_day")]

    def __str__(self) -> str:
        return f"{self.marketplace_id} {self.report_date}"
