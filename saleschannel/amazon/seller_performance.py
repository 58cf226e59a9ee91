"""Amazon's own seller metrics beside our projection (``metrics``): ``GET_V2_SELLER_PERFORMANCE_REPORT`` (JSON,
accountHealthReport-2020-11-18.json) fetched through the gateway, its shape checked, its rates stored per
marketplace and report date (``AmazonPerformanceReport``). A daily Huey task (``tasks``) fetches it per store.

Why the figures differ: Amazon computes each rate over its own window (LSR and VTR 30 days, PFCR 7, OTDR 14),
ending when it generated the report, and publishes it a day or two late; our projection ends now and also shows
the 10-day LSR and 7-day VTR. Amazon also counts what we cannot see (orders shipped or canceled in Seller
Central, delivery scans for OTDR).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.amazon.metrics import MarketplaceMetrics, MetricValue
from saleschannel.amazon.metrics_models import AmazonPerformanceReport
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway

PERFORMANCE_REPORT = "GET_V2_SELLER_PERFORMANCE_REPORT"
RATE_METRICS = ("lateShipmentRate", "preFulfillmentCancellationRate", "validTrackingRate", "onTimeDeliveryRate")
COUNT_FIELDS = ("orderCount", "lateShipmentCount", "cancellationCount", "shipmentCount", "validTrackingCount",
                "shipmentCountWithValidTracking", "onTimeDeliveryCount")
# The example in Amazon's schema spells the cancel rate prefulfillmentCancelRate: read either name.
ALIASES = {"preFulfillmentCancellationRate": ("preFulfillmentCancellationRate", "prefulfillmentCancelRate")}


class PerformanceReportError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PerformanceReportError(_("Amazon's performance report is malformed: %(where)s is not a number.")
                                     % {"where": where})
    return float(value)


def parse_performance_report(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """marketplace id → metric → {rate, status, targetValue, targetCondition, from, to, counts}, for the rates we
    compare (``RATE_METRICS``). Checks the shape the schema requires of them; raises ``PerformanceReportError``."""
    try:
        body = json.loads(text)
    except ValueError:
        raise PerformanceReportError(_("Amazon's performance report is not JSON."))
    if not isinstance(body, dict) or not isinstance(body.get("performanceMetrics"), list):
        raise PerformanceReportError(_("Amazon's performance report has no performanceMetrics."))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for index, entry in enumerate(body["performanceMetrics"]):
        where = f"performanceMetrics[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("marketplaceId"), str):
            raise PerformanceReportError(_("Amazon's performance report is malformed: %(where)s has no "
                                           "marketplaceId.") % {"where": where})
        rates = {}
        for name in RATE_METRICS:
            metric = next((entry[a] for a in ALIASES.get(name, (name,)) if entry.get(a) is not None), None)
            if metric is None:
                continue
            if not isinstance(metric, dict):
                raise PerformanceReportError(_("Amazon's performance report is malformed: %(where)s is not an "
                                               "object.") % {"where": f"{where}.{name}"})
            span = metric.get("reportingDateRange") or {}
            status = metric.get("status")
            if not isinstance(status, str) or not status:
                raise PerformanceReportError(_("Amazon's performance report is malformed: %(where)s has an "
                                               "unknown status.") % {"where": f"{where}.{name}"})
            rates[name] = {
                "rate": _number(metric.get("rate"), f"{where}.{name}.rate"),
                "status": status,
                "targetValue": _number(metric.get("targetValue"), f"{where}.{name}.targetValue"),
                "targetCondition": str(metric.get("targetCondition") or ""),
                "from": str(span.get("reportingDateFrom") or ""), "to": str(span.get("reportingDateTo") or ""),
                "counts": {k: int(metric[k]) for k in COUNT_FIELDS if isinstance(metric.get(k), int)},
            }
        out[entry["marketplaceId"]] = rates
    return out


def fetch_performance_report(store: AmazonStore, *, gateway: Gateway | None = None,
                             timeout: float = 3600.0) -> list[AmazonPerformanceReport]:
    """Request the report for the store's marketplaces, wait for it, store its rates (one row per marketplace and
    report date: fetched again the same day, the row is replaced). Raises ``PerformanceReportError``."""
    own = gateway is None
    gateway = gateway or Gateway.for_store(store)
    try:
        report = gateway.wait_for_report(gateway.create_report(report_type=PERFORMANCE_REPORT,
                                                               marketplace_ids=list(store.marketplace_ids or [])),
                                         timeout=timeout)
        if report.status != "DONE" or not report.document_id:
            raise PerformanceReportError(_("Amazon could not produce the performance report (%(status)s).")
                                         % {"status": report.status})
        text = gateway.get_report_document(report.document_id)
    except AmazonError as error:
        raise PerformanceReportError(_("The performance report could not be read from Amazon: %(error)s")
                                     % {"error": error.message})
    finally:
        if own:
            gateway.close()
    generated = report.created or timezone.now()
    rows = []
    for marketplace_id, rates in parse_performance_report(text).items():
        row, _created = AmazonPerformanceReport.objects.update_or_create(
            store=store, marketplace_id=marketplace_id, report_date=timezone.localdate(generated),
            defaults={"report_id": report.report_id, "generated_at": generated, "rates": rates})
        rows.append(row)
    return rows


def latest_report(store: AmazonStore, marketplace_id: str) -> AmazonPerformanceReport | None:
    return store.performance_reports.filter(marketplace_id=marketplace_id).order_by("-report_date").first()


@dataclass
class Comparison:
    """One of our metrics beside Amazon's figure for the same metric (its window may differ)."""

    ours: MetricValue
    amazon: dict[str, Any] | None
    report_date: date | None
    generated_at: datetime | None

    @property
    def amazon_percent(self) -> str:
        return "—" if not self.amazon else f"{self.amazon['rate'] * 100:.2f}"

    @property
    def amazon_percent_value(self) -> float | None:
        return None if not self.amazon else self.amazon["rate"] * 100

    @property
    def difference_value(self) -> float | None:
        """Our rate minus Amazon's, in percentage points, when both exist."""
        if not self.amazon or self.ours.rate is None:
            return None
        return (self.ours.rate - self.amazon["rate"]) * 100

    @property
    def difference(self) -> str:
        """Our rate minus Amazon's, in percentage points ('.' decimals), when both exist."""
        if not self.amazon or self.ours.rate is None:
            return ""
        return f"{(self.ours.rate - self.amazon['rate']) * 100:+.2f}"

    @property
    def explanation(self) -> str:
        if not self.amazon:
            return _("No report from Amazon yet.")
        if self.ours.rate is None:
            return _("Only Amazon has delivery scans.")
        parts = []
        if not self.ours.metric.amazon_window:
            parts.append(_("Amazon uses another window."))
        if self.generated_at:
            parts.append(_("Amazon's figure ends %(when)s; ours ends now.") % {
                "when": timezone.localtime(self.generated_at).strftime("%Y-%m-%d %H:%M")})
        return " ".join(parts)


def compare(metrics: MarketplaceMetrics) -> list[Comparison]:
    report = latest_report(metrics.store, metrics.marketplace_id)
    rates = report.rates if report else {}
    return [Comparison(value, rates.get(value.metric.amazon_key), report and report.report_date,
                       report and report.generated_at) for value in metrics.values]

