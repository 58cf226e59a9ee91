"""Reports through the gateway (createReport → getReport until finished → getReportDocument → download, un-GZIP,
decode per charset), against the real sandbox over HTTP with its rate limits on and our pacing."""

from __future__ import annotations

import pytest

from saleschannel.amazon.models import LwaCredentials
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.spapi.reports import AmazonReport, report_text
from saleschannel.sandbox.reports import LISTING_COLUMNS
from tests.amazon.conftest import TIME_SCALE, US

DE, JP, FR = "A1PA6795UKMFR9", "A1VC38T7YXB528", "A13V1IB3VIYZZH"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05)


def make_gateway(sandbox, marketplace_ids=(US,)) -> Gateway:
    creds = sandbox.credentials
    return Gateway(seller_id=creds["seller_id"], region="NA", endpoint=sandbox.url, token_url=sandbox.token_url,
                   credentials=LwaCredentials(creds["client_id"], creds["client_secret"], creds["refresh_token"]),
                   marketplace_ids=list(marketplace_ids), retry=FAST, pacing_factor=TIME_SCALE)


def listings(text: str) -> dict[str, dict[str, str]]:
    header, *lines = text.rstrip("\n").split("\n")
    assert tuple(header.split("\t")) == LISTING_COLUMNS
    rows = [dict(zip(LISTING_COLUMNS, line.split("\t"), strict=True)) for line in lines]
    return {row["seller-sku"]: row for row in rows}


def fetch(gateway: Gateway, marketplace_id: str) -> tuple[AmazonReport, str]:
    report = gateway.wait_for_report(gateway.create_report(report_type=LISTINGS, marketplace_ids=[marketplace_id]))
    assert report.status == "DONE" and report.document_id and report.marketplace_ids == [marketplace_id]
    return report, gateway.get_report_document(report.document_id)


@pytest.mark.django_db
def test_listings_reports_in_marketplaces_with_different_charsets(sandbox):
    gateway = make_gateway(sandbox, [US, DE, JP])
    _report, us = fetch(gateway, US)  # UTF-8
    _report, de = fetch(gateway, DE)  # Cp1252
    _report, jp = fetch(gateway, JP)  # Shift_JIS
    us_rows, de_rows, jp_rows = listings(us), listings(de), listings(jp)
    assert len(us_rows) == len(de_rows) == len(jp_rows) == 30
    assert us_rows["SANDBOX-SKU-003"]["item-name"] == "Sandbox Steel Mug – Café Édition™"
    assert de_rows["SANDBOX-SKU-003"]["item-name"] == "Sandbox Steel Mug – Größe M, spülmaschinenfest"
    assert "„Made in Ölsnitz“" in de_rows["SANDBOX-SKU-001"]["item-description"]
    assert jp_rows["SANDBOX-SKU-003"]["item-name"] == "Sandbox Steel Mug 陶器マグカップ（日本限定）"
    assert (us_rows["SANDBOX-SKU-001"]["price"], de_rows["SANDBOX-SKU-001"]["price"],
            jp_rows["SANDBOX-SKU-001"]["price"]) == ("11.49", "10.57", "1720")
    assert us_rows["SANDBOX-SKU-005"]["fulfillment-channel"] == "AMAZON_NA"
    assert de_rows["SANDBOX-SKU-005"]["fulfillment-channel"] == "AMAZON_EU"
    assert jp_rows["SANDBOX-SKU-005"]["fulfillment-channel"] == "AMAZON_FE"
    assert de_rows["SANDBOX-SKU-001"]["fulfillment-channel"] == "DEFAULT"
    # the gateway sent exactly the model's body (the contract fixture checks every request at teardown too)
    created = sandbox.requests(operation="createReport")
    assert [r["body"] for r in created][-1] == '{"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": ' \
                                               f'["{JP}"]}}'


@pytest.mark.django_db
def test_a_large_report_comes_gzipped_and_is_decompressed(sandbox):
    sandbox.set_listings("FR", replace=True, generate=5_000, fba_every=10)
    _report, text = fetch(make_gateway(sandbox, [FR]), FR)
    rows = listings(text)
    assert len(rows) == 5_000 and rows["GEN-0000003"]["item-name"].endswith("Édition café crème")
    assert sum(row["fulfillment-channel"] == "AMAZON_EU" for row in rows.values()) == 500


@pytest.mark.django_db
def test_empty_fatal_and_unfinished_reports(sandbox):
    gateway = make_gateway(sandbox, [FR])
    sandbox.set_listings("FR", replace=True)
    empty = gateway.wait_for_report(gateway.create_report(report_type=LISTINGS))
    assert empty.status == "CANCELLED" and empty.finished and not empty.document_id
    sandbox.set_listings("FR", [{"sku": "FR-1", "title": "Tasse à café"}])
    sandbox.set_report_faults({LISTINGS: {"FATAL": 1.0}})
    assert gateway.wait_for_report(gateway.create_report(report_type=LISTINGS)).status == "FATAL"
    sandbox.set_report_faults()
    sandbox.configure(report_processing_seconds=10**6)  # never finishes within the bound below
    report_id = gateway.create_report(report_type=LISTINGS)
    with pytest.raises(AmazonError) as exc:
        gateway.wait_for_report(report_id, timeout=300, poll_seconds=60)  # 0.5 real s, 0.1 s between polls
    assert exc.value.code == "ReportNotReady" and exc.value.retryable
    assert gateway.get_report(report_id).status == "IN_QUEUE"


@pytest.mark.django_db
def test_faults_are_retried(sandbox):
    sandbox.set_faults({"createReport": {"500": 0.3}, "getReport": {"503": 0.3}, "getReportDocument": {"429": 0.3}},
                       seed=3)
    _report, text = fetch(make_gateway(sandbox), US)
    assert len(listings(text)) == 30


def test_report_text_decodes_per_charset():
    assert report_text("Größe".encode("cp1252"), "text/plain;charset=Cp1252") == "Größe"
    assert report_text("陶器〜".encode("shift_jis"), "text/plain; charset=Shift_JIS") == "陶器～"  # as Windows-31J
    assert report_text("①".encode("cp932"), "text/plain;charset=windows-31j") == "①"
    assert report_text("\ufeffCafé".encode(), "text/plain;charset=UTF-8") == "Café"
    assert report_text("Café".encode(), "text/plain") == "Café"  # no charset: UTF-8 when valid
    assert report_text("Café".encode("cp1252"), "") == "Café"  # else Cp1252
    with pytest.raises(AmazonError, match="unknown charset"):
        report_text(b"x", "text/plain;charset=x-klingon")
    with pytest.raises(AmazonError, match="not valid UTF-8"):
        report_text("Café".encode("cp1252"), "text/plain;charset=UTF-8")


@pytest.mark.django_db
def test_seller_performance_report_through_the_gateway(sandbox):
    import json

    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
    sandbox.ship(order_id, carrier="UPS", tracking="1Z999AA10123456784")
    gateway = make_gateway(sandbox)
    report = gateway.wait_for_report(gateway.create_report(report_type="GET_V2_SELLER_PERFORMANCE_REPORT"))
    assert report.status == "DONE"
    body = json.loads(gateway.get_report_document(report.document_id))
    [metrics] = body["performanceMetrics"]
    assert metrics["lateShipmentRate"]["orderCount"] == 1 and metrics["validTrackingRate"]["validTrackingCount"] == 1
