"""The sandbox's GET_V2_SELLER_PERFORMANCE_REPORT follows DESIGN.md §8.4 as the product's projection does
(``saleschannel.amazon.metrics``) and is valid against Amazon's schema (skipped without /work/shared/spapi-models).
The end-to-end comparison (orders through the product, our projection = the report) is
tests/amazon/test_metrics.py."""

from __future__ import annotations

import json

import pytest

from saleschannel.amazon import metrics
from saleschannel.sandbox.performance import PERFORMANCE_TARGETS, VALID_TRACKING_CARRIERS, performance_metrics
from tests.sandbox.fixtures import spapi_models_dir

US = "ATVPDKIKX0DER"
DAY = 86_400_000
NOW = 1_800_000_000_000


def order(created_days_ago: float, *, shipped_days_ago: float | None = None, carrier="UPS", name="",
          tracking="1Z999AA10123456784", canceled_by=None, reason="NoInventory", buyer_asked=False,
          status="Unshipped", channel="MFN"):
    created = NOW - int(created_days_ago * DAY)
    packages = [] if shipped_days_ago is None else [
        {"createdMs": NOW - int(shipped_days_ago * DAY), "carrierCode": carrier, "carrierName": name,
         "trackingNumber": tracking}]
    return {"marketplaceId": US, "channel": channel, "status": "Canceled" if canceled_by else status,
            "createdMs": created, "latestShipMs": created + 2 * DAY, "packages": packages, "business": False,
            "cancellation": {"by": canceled_by, "reason": reason} if canceled_by else None,
            "items": [{"buyerCancel": {"reason": "changed my mind"} if buyer_asked else None}]}


SCRIPT = [
    order(5, shipped_days_ago=4),  # on time (LSD 3 days ago, confirmed 4 days ago)
    order(5, shipped_days_ago=2),  # late: confirmed after the LSD
    order(40, shipped_days_ago=29.5),  # late, confirmed inside the 30-day window though bought before it
    order(40, shipped_days_ago=30.5),  # confirmed before the window: not counted
    order(3, shipped_days_ago=1, carrier="Other", name="Bob's Courier"),  # invalid tracking
    order(3, shipped_days_ago=1, carrier="Other", name="Royal Mail"),  # valid: Amazon's name under Other
    order(3, shipped_days_ago=1, tracking=" "),  # no tracking number: invalid
    order(2, canceled_by="MERCHANT"),  # a seller cancel
    order(2, canceled_by="MERCHANT", reason="BuyerCanceled"),  # buyer-requested: not counted
    order(2, canceled_by="MERCHANT", buyer_asked=True),  # the buyer asked: not counted
    order(2, canceled_by="AMAZON"),  # canceled by Amazon: not ours
    order(8, canceled_by="MERCHANT"),  # outside the 7-day window
    order(1, status="Pending"),  # not yet an order
    order(1, shipped_days_ago=0.5, channel="AFN"),  # Amazon ships FBA: never counted
]


def test_the_report_follows_the_definitions_of_our_projection():
    report = performance_metrics(SCRIPT, US, NOW)
    lsr, pfcr, vtr = (report["lateShipmentRate"], report["preFulfillmentCancellationRate"],
                      report["validTrackingRate"])
    assert (lsr["orderCount"], lsr["lateShipmentCount"], lsr["status"]) == (6, 2, "BAD")
    # Bought in the 7 days (MFN, not Pending): 5 shipped, 4 canceled; ours alone count as cancels.
    assert (pfcr["orderCount"], pfcr["cancellationCount"]) == (9, 1)
    assert (vtr["shipmentCount"], vtr["validTrackingCount"]) == (6, 4)
    assert report["onTimeDeliveryRate"]["status"] == "NONE"
    # The same windows, targets and carriers as the product's definitions.
    for metric in metrics.METRICS:
        if metric.amazon_window:
            days, target, condition = PERFORMANCE_TARGETS[metric.amazon_key]
            assert (days, target, condition) == (metric.days, metric.target, metric.condition), metric.key
    assert metrics.TRACKABLE_CARRIERS == VALID_TRACKING_CARRIERS
    # The same status rule for good and bad (the product adds "at risk" before the limit).
    for rate, expected in ((0.0399, "GOOD"), (0.04, "BAD")):
        ours = metrics.status_of(rate, 1, metrics.METRICS_BY_KEY["lsr_30"])
        assert (ours == metrics.BAD) == (expected == "BAD")


def test_the_report_is_valid_against_amazons_schema():
    schema = spapi_models_dir() / "accountHealthReport-2020-11-18.json"
    if not schema.exists():
        pytest.skip("Amazon's models are not there (/work/shared/spapi-models)")
    jsonschema = pytest.importorskip("jsonschema")
    body = {"accountStatuses": [{"marketplaceId": US, "status": "AT_RISK"}],
            "performanceMetrics": [performance_metrics(SCRIPT, US, NOW),
                                   performance_metrics([], "A1F83G8C2ARO7P", NOW)]}
    jsonschema.Draft7Validator(json.loads(schema.read_text())).validate(body)
