"""Seller metrics (DESIGN.md §8.4): a scripted month of orders through the product's real paths (import, shipment
with tracking, cancel, outbox delivery) against the sandbox under a controlled clock; our projection must equal
the sandbox's GET_V2_SELLER_PERFORMANCE_REPORT to 0.1 percentage point. Also the dashboard, the orders behind a
metric, the daily task and ``saleschannel amazon health``."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from saleschannel.amazon import metrics, services
from saleschannel.amazon.metrics_models import AmazonPerformanceReport
from saleschannel.amazon.models import AmazonOrder, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.seller_performance import compare, fetch_performance_report, parse_performance_report
from saleschannel.amazon.sync import sync_store
from saleschannel.amazon.tasks import amazon_fetch_performance_report
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.services import shipment_create
from tests.amazon.conftest import TIME_SCALE, advance, connect_store, settle
from tests.amazon.test_outbound import deliver_until_done
from tests.factories import client_for, make_role_user
from tests.sandbox.fixtures import spapi_models_dir

DAY = 86_400


def later(seconds: float) -> None:
    """Move both clocks ``seconds`` of calendar time (``advance`` takes scaled sandbox seconds)."""
    advance(seconds * TIME_SCALE)

UPS = {"carrier_code": "ups", "title": "UPS", "number": "1Z999AA10123456784"}
UNKNOWN_CARRIER = {"carrier_code": "custom", "title": "Bob's Courier", "number": "BOB-1"}
OWN_UPS = {"carrier_code": "custom", "title": "UPS", "number": "1Z999AA10123456785"}
ORDER = {"marketplace": "US", "fulfillment": "MFN", "status": "Unshipped", "business": False, "prime": False,
         "items": [{"sku": "SANDBOX-SKU-001", "qty": 1}]}


@pytest.fixture
def amazon_store(sandbox, commerce_store, catalog):
    """The store, with access tokens that outlive the month the clock moves through."""
    sandbox.configure(token_ttl_seconds=40 * DAY * TIME_SCALE)
    return connect_store(sandbox, commerce_store)


def _import(sandbox, store, count: int) -> list[AmazonOrder]:
    ids = sandbox.create_orders(count=count, **ORDER)
    settle()
    run = sync_store(store=store)
    assert run.orders_failed == 0, run.error
    orders = list(AmazonOrder.objects.filter(amazon_order_id__in=ids).select_related("commerce_order"))
    assert len(orders) == count and all(o.commerce_order_id for o in orders)
    return orders


def _ship(order: AmazonOrder, track: dict, user) -> None:
    shipment = shipment_create(order=order.commerce_order, tracks=[track], actor=user)
    message = OutboxMessage.objects.get(idempotency_key=f"shipment:{shipment.pk}")
    if message.state != OutboxState.ACCEPTED:  # else delivered on commit already (a transactional test)
        message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error


def _cancel(order: AmazonOrder, reason: str, user) -> None:
    order.refresh_from_db()
    message = services.amazon_order_cancel(amazon_order=order, reason=reason, actor=user)
    message.refresh_from_db()
    assert deliver_until_done(message).state == OutboxState.ACCEPTED, message.last_error


def _month(sandbox, store, user, batches: int = 10) -> None:
    """Every 3 days: 6 orders; one shipped on time with UPS, one on time with a carrier Amazon does not know, one
    on time with UPS spelled as our own carrier (so Amazon's name, still valid), one canceled by us (no stock),
    one canceled because the buyer asked (BuyerCanceled), and one shipped late (after its Latest Ship Date, two
    days after purchase) at the start of the next batch."""
    late = None
    for batch in range(batches):
        on_time, unknown, own_ups, canceled, buyer, late_next = _import(sandbox, store, 6)
        _ship(on_time, UPS, user)
        _ship(unknown, UNKNOWN_CARRIER if batch % 2 else UPS, user)
        _ship(own_ups, OWN_UPS, user)
        if batch % 3 != 1:
            _cancel(canceled, "NoInventory", user)
        sandbox.buyer_cancel(buyer.amazon_order_id)
        settle()
        sync_store(store=store)
        buyer.refresh_from_db()
        assert buyer.buyer_cancel_requested
        _cancel(buyer, "BuyerCanceled" if batch % 2 else "NoInventory", user)
        later(3 * DAY)
        if late is not None:
            _ship(late, UPS, user)
        late = late_next
    later(DAY + 7 * 3600)  # the report's windows start away from any event
    _ship(late, UPS, user)
    later(3 * 3600)


@pytest.mark.django_db
def test_projection_equals_the_sandbox_report_on_a_scripted_month(sandbox, amazon_store, staff_user):
    _month(sandbox, amazon_store, staff_user)

    [stored] = fetch_performance_report(amazon_store)
    assert stored.marketplace_id == "ATVPDKIKX0DER"
    ours = metrics.marketplace_metrics(amazon_store, stored.marketplace_id, as_of=stored.generated_at,
                                       trend_days=1)
    amazon = stored.rates
    for key in ("lsr_30", "pfcr_7", "vtr_30"):
        value = ours.get(key)
        theirs = amazon[value.metric.amazon_key]
        assert value.denominator > 0, key
        assert abs(value.rate - theirs["rate"]) * 100 <= 0.1, (key, value.numerator, value.denominator, theirs)
        assert value.status in (metrics.BAD, metrics.AT_RISK, metrics.GOOD)
    lsr, pfcr, vtr = ours.get("lsr_30"), ours.get("pfcr_7"), ours.get("vtr_30")
    assert (lsr.numerator, lsr.denominator) == (amazon["lateShipmentRate"]["counts"]["lateShipmentCount"],
                                                amazon["lateShipmentRate"]["counts"]["orderCount"])
    assert lsr.numerator > 0 and lsr.status == metrics.BAD
    assert (pfcr.numerator, pfcr.denominator) == (amazon["preFulfillmentCancellationRate"]["counts"]
                                                  ["cancellationCount"],
                                                  amazon["preFulfillmentCancellationRate"]["counts"]["orderCount"])
    assert 0 < pfcr.numerator < pfcr.denominator
    assert vtr.numerator == amazon["validTrackingRate"]["counts"]["validTrackingCount"]
    assert 0 < len(vtr.defect_ids) and vtr.status == metrics.BAD
    # The buyer-requested cancels are not ours: never behind the PFCR numerator.
    assert not pfcr.orders().filter(buyer_cancel_requested=True).exists()
    # Confirmation time is when Amazon accepted it: the late orders' shipments were created late as well, but a
    # late order is one Amazon accepted after the Latest Ship Date.
    for order in lsr.orders():
        accepted = order.outbox_messages.filter(kind=OutboxKind.SHIPMENT).order_by("completed_at")[0].completed_at
        assert accepted > order.latest_ship_date
    # OTDR: no delivery scans in our records; Amazon's figure is shown alone.
    assert not ours.get("otdr_14").available and amazon["onTimeDeliveryRate"]["status"] == "NONE"

    # The 30-day trend: one point a day, the last one the projection itself.
    full = metrics.marketplace_metrics(amazon_store, stored.marketplace_id, as_of=stored.generated_at)
    trend = full.get("lsr_30").trend
    assert len(trend) == metrics.TREND_DAYS and trend[-1][1] == pytest.approx(lsr.rate)
    points = metrics.trend_points(full.get("lsr_30"))
    assert re.fullmatch(r"\d+\.\d,-?\d+\.\d( \d+\.\d,-?\d+\.\d)*", points), points

    # Our figure beside Amazon's on the dashboard, the orders one click away.
    comparisons = {c.ours.metric.key: c for c in compare(full)}
    assert abs(comparisons["lsr_30"].difference_value) <= 0.1
    assert "window" in comparisons["lsr_10"].explanation


@pytest.mark.django_db
def test_sandbox_report_is_valid_against_amazons_schema(sandbox, amazon_store, staff_user):
    on_time, late = _import(sandbox, amazon_store, 2)
    _ship(on_time, UPS, staff_user)
    later(3 * DAY)
    _ship(late, UNKNOWN_CARRIER, staff_user)
    [stored] = fetch_performance_report(amazon_store)
    assert stored.rates["lateShipmentRate"]["counts"] == {"orderCount": 2, "lateShipmentCount": 1}
    models = spapi_models_dir() / "accountHealthReport-2020-11-18.json"
    if not models.exists():
        pytest.skip("Amazon's models are not there (/work/shared/spapi-models)")
    import jsonschema

    from tests.amazon.test_gateway_reports import make_gateway

    gateway = make_gateway(sandbox)
    report = gateway.wait_for_report(gateway.create_report(report_type="GET_V2_SELLER_PERFORMANCE_REPORT"))
    jsonschema.Draft7Validator(json.loads(models.read_text())).validate(
        json.loads(gateway.get_report_document(report.document_id)))


@pytest.mark.django_db
def test_dashboard_health_command_and_daily_task(sandbox, amazon_store, staff_user):
    on_time, late, canceled = _import(sandbox, amazon_store, 3)
    _ship(on_time, UPS, staff_user)
    _cancel(canceled, "NoInventory", staff_user)
    later(3 * DAY)
    _ship(late, UPS, staff_user)

    assert amazon_fetch_performance_report.call_local(amazon_store.pk) == 1
    assert AmazonPerformanceReport.objects.filter(store=amazon_store).count() == 1

    client = client_for(make_role_user(OPERATOR))
    page = client.get(reverse("amazon:store_dashboard", args=[amazon_store.pk])).content.decode()
    assert 'id="seller-metrics"' in page and 'data-metric="lsr_30" data-status="bad"' in page
    assert 'data-metric="otdr_14" data-status="none-unavailable"' in page
    assert "<polyline" in page and "33.33 %" in page
    assert "at risk ≥ 3 %" in page and "at risk ≥ 1.875 %" in page and "at risk ≤ 96.25 %" in page
    assert "has reached 75 % of what Amazon allows" in page
    assert 'data-testid="metric-difference" data-value="+0.00"' in page
    orders = client.get(reverse("amazon:metric_orders", args=[amazon_store.pk, "ATVPDKIKX0DER", "lsr_30"]))
    assert orders.status_code == 200 and late.amazon_order_id in orders.content.decode()
    assert on_time.amazon_order_id not in orders.content.decode()
    pfcr = client.get(reverse("amazon:metric_orders", args=[amazon_store.pk, "ATVPDKIKX0DER", "pfcr_7"]))
    assert canceled.amazon_order_id in pfcr.content.decode()
    assert client.get(reverse("amazon:metric_orders", args=[amazon_store.pk, "ATVPDKIKX0DER", "nope"])
                      ).status_code == 404
    # In French: the rates with a decimal comma, the chart's coordinates never localised.
    french = client.get(reverse("amazon:store_dashboard", args=[amazon_store.pk]), headers={"Accept-Language": "fr"})
    french = french.content.decode()
    assert "Indicateurs vendeur" in french and "33,33 %" in french and "à risque ≤ 96,25 %" in french
    for points in re.findall(r'points="([^"]*)"', french):
        assert re.fullmatch(r"(\d+\.\d,-?\d+\.\d ?)*", points), points
    # The live refresh does not compute the metrics again (the panel is outside #live).
    live = client.get(reverse("amazon:store_dashboard", args=[amazon_store.pk]), headers={"HX-Request": "true"})
    assert 'id="seller-metrics"' not in live.content.decode()

    with pytest.raises(CommandError) as failed:
        call_command("amazon", "health", "--store", amazon_store.name)
    assert failed.value.returncode == 2 and "lsr_30 bad" in str(failed.value)


@pytest.mark.django_db
def test_health_command_exits_zero_when_every_metric_is_good(sandbox, amazon_store, staff_user, capsys):
    for order in _import(sandbox, amazon_store, 2):
        _ship(order, UPS, staff_user)
    call_command("amazon", "health")
    out = capsys.readouterr().out
    assert "Late Shipment Rate (30 days)" in out and "0.00 %" in out and "not available" in out


def test_status_thresholds():
    lsr, vtr = metrics.METRICS_BY_KEY["lsr_30"], metrics.METRICS_BY_KEY["vtr_30"]
    assert metrics.status_of(0.0, 0, lsr) == metrics.NONE
    assert metrics.status_of(0.029, 100, lsr) == metrics.GOOD
    assert metrics.status_of(0.03, 100, lsr) == metrics.AT_RISK
    assert metrics.status_of(0.04, 100, lsr) == metrics.BAD
    assert metrics.status_of(0.97, 100, vtr) == metrics.GOOD
    assert metrics.status_of(0.9625, 100, vtr) == metrics.AT_RISK
    assert metrics.status_of(0.95, 100, vtr) == metrics.BAD


def test_parse_rejects_a_malformed_report():
    from saleschannel.amazon.seller_performance import PerformanceReportError

    with pytest.raises(PerformanceReportError):
        parse_performance_report("[]")
    with pytest.raises(PerformanceReportError):
        parse_performance_report(json.dumps({"performanceMetrics": [
            {"marketplaceId": "X", "lateShipmentRate": {"rate": "high", "status": "GOOD", "targetValue": 0.04}}]}))
    parsed = parse_performance_report(json.dumps({"performanceMetrics": [{
        "marketplaceId": "X", "prefulfillmentCancelRate": {
        "rate": 0.01, "status": "GOOD", "targetValue": 0.025, "targetCondition": "LESS_THAN", "orderCount": 100,
        "cancellationCount": 1, "reportingDateRange": {"reportingDateFrom": "a", "reportingDateTo": "b"}}}]}))
    assert parsed["X"]["preFulfillmentCancellationRate"]["counts"] == {"orderCount": 100, "cancellationCount": 1}


def test_the_cancel_projection_reads_only_the_orders_of_its_window(sandbox, amazon_store):
    """The Cancel dialog of every Amazon order view projects the cancellation rate: it read which items buyers asked
    to cancel over all the store's orders (0.28 s at 300,000 Amazon orders on SQLite), now over the window's only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    old, recent = _import(sandbox, amazon_store, 2)
    AmazonOrder.objects.filter(pk=old.pk).update(purchase_date=recent.purchase_date.replace(year=2020))
    recent.refresh_from_db()
    with CaptureQueriesContext(connection) as queries:
        projection = metrics.cancel_projection(recent)
    assert projection is not None
    items = [query["sql"] for query in queries.captured_queries if 'FROM "amazon_amazonorderitem"' in query["sql"]]
    assert items and all('"purchase_date" >' in sql for sql in items), items
