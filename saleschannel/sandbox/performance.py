"""``GET_V2_SELLER_PERFORMANCE_REPORT`` in the sandbox (accountHealthReport-2020-11-18.json): the account health
metrics of a seller's marketplaces, computed from the sandbox's orders. The Reports API around it is reports.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

PERFORMANCE_REPORT = "GET_V2_SELLER_PERFORMANCE_REPORT"
DAY_MS = 86_400_000
# Carriers whose tracking Amazon can follow (VTR): an Amazon carrier code, or carrierName when the code is Other.
VALID_TRACKING_CARRIERS = frozenset({
    "UPS", "USPS", "FedEx", "DHL", "DHL eCommerce", "Amazon Shipping", "OnTrac", "Royal Mail", "Parcelforce", "DPD",
    "Hermes", "Evri", "Yodel", "GLS", "Deutsche Post", "Colissimo", "Chronopost", "La Poste", "Mondial Relay",
    "Yamato Transport", "Sagawa Express", "Japan Post",
})
# metric → (window days, target, condition): DESIGN.md §8.4.
PERFORMANCE_TARGETS = {
    "lateShipmentRate": (30, 0.04, "LESS_THAN"),
    "preFulfillmentCancellationRate": (7, 0.025, "LESS_THAN"),
    "validTrackingRate": (30, 0.95, "GREATER_THAN"),
    "onTimeDeliveryRate": (14, 0.90, "GREATER_THAN"),
    "unitOnTimeDeliveryRate": (14, 0.90, "GREATER_THAN"),
    "invoiceDefectRate": (7, 0.05, "LESS_THAN"),
    "orderDefectRate": (60, 0.01, "LESS_THAN"),
}
LISTING_VIOLATIONS = ("listingPolicyViolations", "productAuthenticityCustomerComplaints",
                      "productConditionCustomerComplaints", "productSafetyCustomerComplaints",
                      "receivedIntellectualPropertyComplaints", "restrictedProductPolicyViolations",
                      "suspectedIntellectualPropertyViolations", "foodAndProductSafetyIssues", "otherPolicyViolations",
                      "documentRequests")


def _minute(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def _range(as_of: int, days: int) -> dict[str, str]:
    return {"reportingDateFrom": _minute(as_of - days * DAY_MS), "reportingDateTo": _minute(as_of)}


def _status(numerator: int, denominator: int | float, metric: str) -> tuple[float, str]:
    _days, target, condition = PERFORMANCE_TARGETS[metric]
    if not denominator:
        return 0.0, "NONE"
    rate = numerator / denominator
    good = rate < target if condition == "LESS_THAN" else rate > target
    return rate, "GOOD" if good else "BAD"


def _metric(metric: str, as_of: int, numerator: int, denominator: int, counts: dict[str, Any]) -> dict[str, Any]:
    days, target, condition = PERFORMANCE_TARGETS[metric]
    rate, status = _status(numerator, denominator, metric)
    return {"reportingDateRange": _range(as_of, days), **counts, "status": status, "rate": rate,
            "targetValue": target, "targetCondition": condition}


def _in(ms: int | None, as_of: int, metric: str) -> bool:
    return ms is not None and as_of - PERFORMANCE_TARGETS[metric][0] * DAY_MS < ms <= as_of


def _valid_tracking(package: dict[str, Any]) -> bool:
    carrier = package.get("carrierName") if package.get("carrierCode") == "Other" else package.get("carrierCode")
    return bool(str(package.get("trackingNumber") or "").strip()) and carrier in VALID_TRACKING_CARRIERS


def performance_metrics(orders: list[dict[str, Any]], marketplace_id: str, as_of: int) -> dict[str, Any]:
    """One marketplace's metrics from the sandbox's merchant-fulfilled (MFN) orders, as of ``as_of`` (epoch ms).

    * LSR (30 days): orders whose first shipment confirmation (the package's ``createdMs``: when Amazon accepted
      it) falls in the window; late when that confirmation is after the order's Latest Ship Date.
    * PFCR (7 days): orders created in the window (not Pending); canceled by the seller (feed acknowledgement
      Failure) before any shipment, except buyer-requested cancels (a buyer cancel request on the order, or
      CancelReason BuyerCanceled).
    * VTR (30 days): packages confirmed in the window; valid with a tracking number and a carrier of
      ``VALID_TRACKING_CARRIERS`` (carrierName when carrierCode is Other).
    * OTDR (14 days): the sandbox has no delivery scans yet: 0 tracked deliveries, status NONE.
    * Invoice defect rate (7 days): business orders confirmed in the window; the sandbox has no invoice upload yet,
      so no defects. Order defect rate (60 days, MFN and AFN): orders created in the window (not Pending); no
      claims, chargebacks or feedback in the sandbox.
    A window is the ``days`` × 24 h ending at ``as_of`` (start excluded). A rate with no orders is 0, status NONE.
    """
    mine = [o for o in orders if o["marketplaceId"] == marketplace_id and o["createdMs"] <= as_of]
    mfn = [o for o in mine if o["channel"] == "MFN"]
    confirmed = [(o, min(p["createdMs"] for p in o["packages"])) for o in mfn if o["packages"]]
    lsr_orders = [(o, at) for o, at in confirmed if _in(at, as_of, "lateShipmentRate")]
    late = sum(1 for o, at in lsr_orders if at > o["latestShipMs"])
    placed = [o for o in mfn if _in(o["createdMs"], as_of, "preFulfillmentCancellationRate")
              and o["status"] != "Pending"]
    canceled = sum(1 for o in placed if (o.get("cancellation") or {}).get("by") == "MERCHANT"
                   and o["cancellation"].get("reason") != "BuyerCanceled"
                   and not any(i.get("buyerCancel") for i in o["items"]))
    packages = [p for o in mfn for p in o["packages"] if _in(p["createdMs"], as_of, "validTrackingRate")]
    valid = sum(1 for p in packages if _valid_tracking(p))
    business = [o for o, at in confirmed if o.get("business") and _in(at, as_of, "invoiceDefectRate")]
    odr_orders = {channel: [o for o in mine if o["channel"] == channel and o["status"] != "Pending"
                            and _in(o["createdMs"], as_of, "orderDefectRate")] for channel in ("MFN", "AFN")}
    none = {"count": 0, "status": "NONE"}
    out: dict[str, Any] = {
        "marketplaceId": marketplace_id,
        "lateShipmentRate": _metric("lateShipmentRate", as_of, late, len(lsr_orders),
                                    {"orderCount": len(lsr_orders), "lateShipmentCount": late}),
        "preFulfillmentCancellationRate": _metric("preFulfillmentCancellationRate", as_of, canceled, len(placed),
                                                  {"orderCount": len(placed), "cancellationCount": canceled}),
        "validTrackingRate": _metric("validTrackingRate", as_of, valid, len(packages),
                                     {"shipmentCount": len(packages), "validTrackingCount": valid}),
        "onTimeDeliveryRate": _metric("onTimeDeliveryRate", as_of, 0, 0,
                                      {"shipmentCountWithValidTracking": 0, "onTimeDeliveryCount": 0}),
        "unitOnTimeDeliveryRate": _metric("unitOnTimeDeliveryRate", as_of, 0, 0,
                                          {"unitOnTimeDeliveryCount": 0, "totalUnitCount": 0}),
        "invoiceDefectRate": _metric("invoiceDefectRate", as_of, 0, len(business), {
            "orderCount": len(business), "invoiceDefect": {"count": 0, "status": "GOOD" if business else "NONE"},
            "missingInvoice": none, "lateInvoice": none}),
        "orderDefectRate": {channel.lower(): _metric("orderDefectRate", as_of, 0, len(placed_in), {
            "orderCount": len(placed_in), "orderWithDefects": {"count": 0, "status": "GOOD" if placed_in else "NONE"},
            "claims": none, "chargebacks": none, "negativeFeedback": none, "fulfillmentType": channel.lower()})
            for channel, placed_in in odr_orders.items()},
        "warningStates": [],
    }
    bad = any(out[m]["status"] == "BAD" for m in PERFORMANCE_TARGETS if m != "orderDefectRate")
    out["accountHealthRating"] = {"ahrStatus": "WARNED" if bad else "GREAT",
                                  "accountHealthRatingStatus": "WARNED" if bad else "GREAT",
                                  "reportingDateRange": _range(as_of, 180)}
    for name in LISTING_VIOLATIONS:
        out[name] = {"reportingDateRange": _range(as_of, 180), "defectsCount": 0, "status": "GOOD",
                     "targetValue": 0, "targetCondition": "EQUALS"}
    return out


def build_performance_report(sandbox, report: dict[str, Any]) -> tuple[bytes, str] | None:
    """The account health report (JSON) of every requested marketplace, as of the report's creation time."""
    as_of = report["created_ms"]
    horizon = as_of - 180 * DAY_MS
    orders = sandbox.store.search_orders(seller_id=report["seller_id"], time_column="created_ms", after=horizon,
                                         before=as_of, statuses=None, marketplace_ids=report["marketplace_ids"],
                                         channels=None, limit=10_000_000, cursor=None)
    metrics = [performance_metrics(orders, m, as_of) for m in report["marketplace_ids"]]
    statuses = [{"marketplaceId": m["marketplaceId"],
                 "status": "AT_RISK" if m["accountHealthRating"]["ahrStatus"] == "WARNED" else "NORMAL"}
                for m in metrics]
    body = {"accountStatuses": statuses, "performanceMetrics": metrics}
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json;charset=UTF-8"
