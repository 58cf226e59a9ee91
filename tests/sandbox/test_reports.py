"""Reports API 2021-06-30 in the sandbox (saleschannel/sandbox/reports.py): every input rule both ways, the lifecycle
over sandbox time, the listings report's columns and charsets, cancel, FATAL, empty → CANCELLED, the contract."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from saleschannel.sandbox.reports import LISTING_COLUMNS

from .fixtures import spapi_models_dir
from .helpers import ago, api, iso, processed, wait_for

US, UK, DE, FR, JP = "ATVPDKIKX0DER", "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "A1VC38T7YXB528"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
REPORTS = "/reports/2021-06-30/reports"


@pytest.fixture
def client(sandbox):
    sandbox.configure(rate_limits=False, report_processing_seconds=12)  # 0.2 real seconds at time scale 60
    return api(sandbox)


def create(client, marketplace_ids=(US,), report_type=LISTINGS, **extra) -> str:
    response = client.post(REPORTS, json={"reportType": report_type, "marketplaceIds": list(marketplace_ids), **extra})
    assert response.status_code == 202, response.text
    return response.json()["reportId"]


def finished(client, report_id: str) -> dict:
    processed(client, "report_processing_seconds")
    return wait_for(lambda: (r := client.get(f"{REPORTS}/{report_id}").json())["processingStatus"]
                    in ("DONE", "CANCELLED", "FATAL") and r)


def download(client, report: dict) -> httpx.Response:
    document = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    assert document.status_code == 200, document.text
    body = document.json()
    assert body["reportDocumentId"] == report["reportDocumentId"]
    response = httpx.get(body["url"])
    assert response.status_code == 200
    if body.get("compressionAlgorithm") == "GZIP":
        response._content = gzip.decompress(response.content)
    return response


def rows(response: httpx.Response) -> list[dict[str, str]]:
    text = response.content.decode(response.charset_encoding)
    header, *lines = text.rstrip("\n").split("\n")
    columns = header.split("\t")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in lines]


def error(response: httpx.Response, status: int = 400, code: str = "InvalidInput") -> str:
    assert response.status_code == status, response.text
    [err] = response.json()["errors"]
    assert err["code"] == code
    return err["message"]


# ---- lifecycle ---------------------------------------------------------------------------------------------------
def test_report_goes_through_queue_and_progress_to_done(sandbox, client):
    sandbox.configure(report_processing_seconds=60)  # 1 real second: each status is seen
    report_id = create(client)
    seen = [client.get(f"{REPORTS}/{report_id}").json()]
    assert seen[0]["processingStatus"] == "IN_QUEUE" and "reportDocumentId" not in seen[0]
    for _ in range(2):
        sandbox.advance_clock(30)  # half of the processing time: IN_QUEUE → IN_PROGRESS, then → DONE
        seen.append(client.get(f"{REPORTS}/{report_id}").json())
    statuses = [r["processingStatus"] for r in seen]
    assert statuses[0] == "IN_QUEUE" and "IN_PROGRESS" in statuses and statuses[-1] == "DONE"
    assert statuses == sorted(statuses, key=["IN_QUEUE", "IN_PROGRESS", "DONE"].index)
    done = seen[-1]
    assert done["reportType"] == LISTINGS and done["marketplaceIds"] == [US]
    assert done["createdTime"] <= done["processingStartTime"] <= done["processingEndTime"]
    assert done["reportDocumentId"]


def test_listings_report_has_every_column_and_the_catalog(sandbox, client):
    response = download(client, finished(client, create(client)))
    assert response.headers["content-type"] == "text/plain;charset=UTF-8"
    header = response.content.decode().split("\n", 1)[0]
    assert tuple(header.split("\t")) == LISTING_COLUMNS and len(LISTING_COLUMNS) == 29
    listings = rows(response)
    assert len(listings) == 30
    by_sku = {row["seller-sku"]: row for row in listings}
    first = by_sku["SANDBOX-SKU-001"]
    assert first["item-name"] == "Sandbox Ceramic Mug" and first["price"] == "11.49"
    assert first["asin1"] == first["product-id"] == "B0SANDB001" and first["product-id-type"] == "1"
    assert first["fulfillment-channel"] == "DEFAULT" and first["quantity"].isdigit()
    assert first["status"] == "Active" and first["item-condition"] == "11"
    assert first["merchant-shipping-group"] == "Migrated Template"
    assert first["open-date"].endswith((" PST", " PDT"))
    fba = [row for row in listings if row["fulfillment-channel"] == "AMAZON_NA"]
    assert len(fba) == 6 and all(row["quantity"] == "" for row in fba)
    assert by_sku["SANDBOX-SKU-003"]["item-name"] == "Sandbox Steel Mug – Café Édition™"


@pytest.mark.parametrize(("marketplace", "charset", "fba", "title", "price"), [
    (UK, "Cp1252", "AMAZON_EU", "Sandbox Steel Mug – Crème Brûlée Edition", "13.59"),
    (DE, "Cp1252", "AMAZON_EU", "Sandbox Steel Mug – Größe M, spülmaschinenfest", "15.63"),
    (FR, "Cp1252", "AMAZON_EU", "Sandbox Steel Mug – Édition café crème", "15.63"),
    (JP, "Shift_JIS", "AMAZON_FE", "Sandbox Steel Mug 陶器マグカップ（日本限定）", "2550"),
])
def test_each_marketplace_has_its_charset_currency_and_fba_channel(sandbox, client, marketplace, charset, fba, title,
                                                                  price):
    response = download(client, finished(client, create(client, [marketplace])))
    assert response.headers["content-type"] == f"text/plain;charset={charset}"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")  # really encoded in the marketplace's charset, not UTF-8
    by_sku = {row["seller-sku"]: row for row in rows(response)}
    assert by_sku["SANDBOX-SKU-003"]["item-name"] == title
    assert by_sku["SANDBOX-SKU-003"]["price"] == price
    assert by_sku["SANDBOX-SKU-005"]["fulfillment-channel"] == fba


def test_only_the_first_marketplace_is_used(sandbox, client):
    report = finished(client, create(client, [DE, US]))
    assert report["marketplaceIds"] == [DE, US]
    response = download(client, report)
    assert response.headers["content-type"].endswith("charset=Cp1252")
    assert {row["fulfillment-channel"] for row in rows(response)} == {"DEFAULT", "AMAZON_EU"}


def test_listings_can_be_changed_and_the_report_follows(sandbox, client):
    count = sandbox.set_listings("DE", [{"sku": "SANDBOX-SKU-001", "price": "9.50", "title": "Kaffeebecher „Groß“"},
                                        {"sku": "DE-NEU-1", "title": "Neuer Artikel äöü", "quantity": 3},
                                        {"sku": "DE-FBA-1", "fulfillment_channel": "FBA"}],
                                 remove=["SANDBOX-SKU-002"])
    assert count == 31
    by_sku = {row["seller-sku"]: row for row in rows(download(client, finished(client, create(client, [DE]))))}
    assert by_sku["SANDBOX-SKU-001"]["price"] == "9.50" and by_sku["SANDBOX-SKU-001"]["item-name"] == \
        "Kaffeebecher „Groß“"
    assert by_sku["DE-NEU-1"]["quantity"] == "3" and by_sku["DE-NEU-1"]["item-name"] == "Neuer Artikel äöü"
    assert by_sku["DE-FBA-1"]["fulfillment-channel"] == "AMAZON_EU" and by_sku["DE-FBA-1"]["quantity"] == ""
    assert "SANDBOX-SKU-002" not in by_sku
    assert len(sandbox.listings("US")) == 30  # other marketplaces unchanged
    sandbox.reset()
    assert {item["sku"] for item in sandbox.listings("DE")} == {f"SANDBOX-SKU-{n:03d}" for n in range(1, 31)}


def test_bad_listings_are_refused_by_the_control_api(sandbox):
    from saleschannel.sandbox.client import SandboxControlError

    for listings, kwargs in (([{"title": "no sku"}], {}), ([{"sku": "A", "price": "abc"}], {}),
                             ([{"sku": "A", "quantity": -1}], {}), ([{"sku": "A", "fulfillment_channel": "X"}], {}),
                             ([{"sku": "A", "colour": "red"}], {})):
        with pytest.raises(SandboxControlError) as exc:
            sandbox.set_listings("US", listings, **kwargs)
        assert exc.value.status == 400
    with pytest.raises(SandboxControlError):
        sandbox.set_listings("XX", [])


def test_a_50000_line_report_is_gzipped_and_complete(sandbox, client):
    assert sandbox.set_listings("FR", replace=True, generate=50_000, fba_every=4) == 50_000
    report = finished(client, create(client, [FR]))
    document = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    assert document["compressionAlgorithm"] == "GZIP"
    listings = rows(download(client, report))
    assert len(listings) == 50_000
    assert sum(row["fulfillment-channel"] == "AMAZON_EU" for row in listings) == 12_500
    assert listings[2]["item-name"].endswith("Édition café crème")


# ---- CANCELLED, cancelReport, FATAL ----------------------------------------------------------------------------
def test_a_report_without_data_is_cancelled(sandbox, client):
    sandbox.set_listings("FR", replace=True)
    report = finished(client, create(client, [FR]))
    assert report["processingStatus"] == "CANCELLED" and "reportDocumentId" not in report
    assert finished(client, create(client, [DE]))["processingStatus"] == "DONE"  # other marketplaces have data


def test_cancel_only_while_in_queue(sandbox, client):
    sandbox.configure(report_processing_seconds=3600)  # a real minute: stays IN_QUEUE for this test
    report_id = create(client)
    response = client.delete(f"{REPORTS}/{report_id}")
    assert response.status_code == 200 and response.content == b""
    assert client.get(f"{REPORTS}/{report_id}").json()["processingStatus"] == "CANCELLED"
    assert "IN_QUEUE" in error(client.delete(f"{REPORTS}/{report_id}"))
    error(client.delete(f"{REPORTS}/999"), 404, "NotFound")
    sandbox.configure(report_processing_seconds=6)
    done = finished(client, create(client))
    assert done["processingStatus"] == "DONE"
    assert "DONE" in error(client.delete(f"{REPORTS}/{done['reportId']}"))


def test_fatal_is_injectable(sandbox, client):
    sandbox.set_report_faults({LISTINGS: {"FATAL": 1.0}})
    report = finished(client, create(client))
    assert report["processingStatus"] == "FATAL"
    assert b"could not be generated" in download(client, report).content
    sandbox.set_report_faults()
    assert finished(client, create(client))["processingStatus"] == "DONE"
    from saleschannel.sandbox.client import SandboxControlError

    with pytest.raises(SandboxControlError):
        sandbox.set_report_faults({"GET_NOT_A_REPORT": {"FATAL": 1}})
    with pytest.raises(SandboxControlError):
        sandbox.set_report_faults({LISTINGS: {"FATAL": 2}})


# ---- createReport rules, both ways -----------------------------------------------------------------------------
def future(**delta) -> str:
    return iso(datetime.now(tz=UTC) + timedelta(**delta))


@pytest.mark.parametrize(("body", "words"), [
    ({"marketplaceIds": [US]}, "reportType is required"),
    ({"reportType": LISTINGS}, "marketplaceIds is required"),
    ({"reportType": LISTINGS, "marketplaceIds": []}, "1 to 25"),
    ({"reportType": LISTINGS, "marketplaceIds": [US] * 26}, "1 to 25"),
    ({"reportType": LISTINGS, "marketplaceIds": US}, "1 to 25"),
    ({"reportType": LISTINGS, "marketplaceIds": [1]}, "1 to 25"),
    ({"reportType": 7, "marketplaceIds": [US]}, "reportType must be"),
    ({"reportType": "GET_NOT_A_REPORT", "marketplaceIds": [US]}, "Invalid reportType"),
    ({"reportType": LISTINGS, "marketplaceIds": ["A2EUQ1WTGCTBG2"]}, "does not participate"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "dataStartTime": "yesterday"}, "dataStartTime"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "dataStartTime": "2024-01-01T00:00:00"}, "time zone"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "dataEndTime": "2024-02-30T00:00:00Z"}, "dataEndTime"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "dataEndTime": future(hours=1)}, "prior to or equal"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "dataStartTime": ago(hours=1), "dataEndTime": ago(hours=2)},
     "prior to or equal to dataEndTime"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "reportOptions": {"a": 1}}, "string values"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "reportOptions": {"custom": "true"}}, "not supported"),
    ({"reportType": LISTINGS, "marketplaceIds": [US], "marketplaceId": US}, "Unknown field"),
    ([LISTINGS], "JSON object"),
])
def test_create_report_refuses_what_the_model_does_not_allow(sandbox, client, body, words):
    assert words in error(client.post(REPORTS, json=body))


def test_create_report_refuses_a_body_that_is_not_json(sandbox, client):
    error(client.post(REPORTS, content=b"{not json", headers={"content-type": "application/json"}))


@pytest.mark.parametrize("extra", [
    {},
    {"dataStartTime": ago(days=30), "dataEndTime": ago(minutes=1)},
    {"dataStartTime": "2024-01-01T12:00:00+01:00"},
    {"dataEndTime": ago(seconds=0)},
    {"reportOptions": {}},
])
def test_create_report_accepts_what_the_model_allows(sandbox, client, extra):
    report = finished(client, create(client, [US, DE, JP], **extra))
    assert report["processingStatus"] == "DONE"
    if "dataStartTime" in extra:
        assert report["dataStartTime"][:10] == extra["dataStartTime"][:10]


# ---- getReports --------------------------------------------------------------------------------------------------
def test_get_reports_filters_and_pages_with_next_token_alone(sandbox, client):
    ids = [create(client, [m]) for m in (US, DE, FR, JP, UK)]
    cancelled = create(client, [US])
    client.delete(f"{REPORTS}/{cancelled}")
    for report_id in ids:
        finished(client, report_id)
    seen, params, pages = [], {"reportTypes": LISTINGS, "pageSize": 2}, 0
    while True:
        body = client.get(REPORTS, params=params).json()
        pages += 1
        seen += [r["reportId"] for r in body["reports"]]
        if "nextToken" not in body:
            break
        params = {"nextToken": body["nextToken"]}
    assert pages == 3 and sorted(seen) == sorted([*ids, cancelled])
    only_done = client.get(REPORTS, params={"reportTypes": LISTINGS, "processingStatuses": "DONE"}).json()
    assert {r["reportId"] for r in only_done["reports"]} == set(ids)
    by_marketplace = client.get(REPORTS, params={"reportTypes": LISTINGS, "marketplaceIds": f"{DE},{JP}"}).json()
    assert {r["reportId"] for r in by_marketplace["reports"]} == {ids[1], ids[3]}
    earlier = client.get(REPORTS, params={"reportTypes": LISTINGS, "createdUntil": ago(minutes=5)}).json()
    assert earlier["reports"] == []
    window = client.get(REPORTS, params={"reportTypes": LISTINGS, "createdSince": ago(minutes=5),
                                         "createdUntil": future(minutes=1), "pageSize": 100}).json()
    assert len(window["reports"]) == 6 and "nextToken" not in window
    other_type = client.get(REPORTS, params={"reportTypes": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"}).json()
    assert other_type == {"reports": []}


@pytest.mark.parametrize(("params", "words"), [
    ({}, "reportTypes is required"),
    ({"reportTypes": ""}, "must not be empty"),
    ({"reportTypes": ",".join(f"T{n}" for n in range(11))}, "At most 10 reportTypes"),
    ({"reportTypes": LISTINGS, "processingStatuses": "FINISHED"}, "processingStatuses"),
    ({"reportTypes": LISTINGS, "processingStatuses": ""}, "must not be empty"),
    ({"reportTypes": LISTINGS, "marketplaceIds": ",".join([US] * 11)}, "At most 10 marketplaceIds"),
    ({"reportTypes": LISTINGS, "pageSize": 0}, "between 1 and 100"),
    ({"reportTypes": LISTINGS, "pageSize": 101}, "between 1 and 100"),
    ({"reportTypes": LISTINGS, "pageSize": "ten"}, "integer"),
    ({"reportTypes": LISTINGS, "createdSince": "last week"}, "createdSince"),
    ({"reportTypes": LISTINGS, "createdUntil": "2024-01-01"}, "createdUntil"),
    ({"reportTypes": LISTINGS, "createdSince": ago(hours=1), "createdUntil": ago(hours=2)}, "before createdUntil"),
    ({"reportTypes": LISTINGS, "sortOrder": "ASC"}, "Unknown parameter"),
    ({"nextToken": "SBX+bm90IGEgdG9rZW4="}, "Invalid"),
    ({"nextToken": "garbage"}, "Invalid"),
    ({"nextToken": ""}, "must not be empty"),
])
def test_get_reports_refuses_what_the_model_does_not_allow(sandbox, client, params, words):
    assert words in error(client.get(REPORTS, params=params))


def test_get_reports_next_token_must_be_the_only_parameter(sandbox, client):
    for _ in range(3):
        create(client)
    body = client.get(REPORTS, params={"reportTypes": LISTINGS, "pageSize": 1}).json()
    token = body["nextToken"]
    assert "only parameter" in error(client.get(REPORTS, params={"nextToken": token, "reportTypes": LISTINGS}))
    assert "only parameter" in error(client.get(REPORTS, params={"nextToken": token, "pageSize": 1}))
    # unencoded: '+' becomes a space
    assert "Invalid" in error(client.get(f"{REPORTS}?nextToken={token}"))
    assert len(client.get(REPORTS, params={"nextToken": token}).json()["reports"]) == 1


# ---- getReport / getReportDocument -------------------------------------------------------------------------------
def test_get_report_and_document_refuse_unknown_ids_and_bad_parameters(sandbox, client):
    error(client.get(f"{REPORTS}/123"), 404, "NotFound")
    error(client.get("/reports/2021-06-30/documents/amzn1.tortuga.4.na.missing"), 404, "NotFound")
    report = finished(client, create(client))
    path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    assert client.get(path, params={"enableContentEncodingUrlHeader": "false"}).status_code == 200
    assert "true or false" in error(client.get(path, params={"enableContentEncodingUrlHeader": "yes"}))
    assert "Unknown parameter" in error(client.get(path, params={"format": "tsv"}))
    # a feed document is not a report document
    feed_document = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml"}).json()
    error(client.get(f"/reports/2021-06-30/documents/{feed_document['feedDocumentId']}"), 404, "NotFound")
    # the pre-signed URL is read-only and signed
    url = client.get(path).json()["url"]
    assert httpx.put(url, content=b"x").status_code == 403
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403


def test_rate_plan_of_create_report(sandbox):
    # Real time for this test: at the fixture's scale (60) the bucket would refill a token a second.
    sandbox.configure(rate_limits=True, time_scale=1)
    client = api(sandbox)
    statuses = [client.post(REPORTS, json={"reportType": LISTINGS, "marketplaceIds": [US]}) for _ in range(16)]
    assert [r.status_code for r in statuses[:15]] == [202] * 15
    assert statuses[15].status_code == 429 and statuses[15].json()["errors"][0]["code"] == "QuotaExceeded"
    assert statuses[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"


# ---- contract ----------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not (spapi_models_dir() / "reports_2021-06-30.json").exists(),
                    reason=f"Amazon's SP-API models are not at {spapi_models_dir()}")
def test_answers_validate_against_the_reports_model(sandbox, client):
    from saleschannel.sandbox.contract import Contract

    contract = Contract(spapi_models_dir(), files=("reports_2021-06-30.json",))
    report_id = create(client)
    queued = create(client)
    answers = [("createReport", client.post(REPORTS, json={"reportType": LISTINGS, "marketplaceIds": [US]})),
               ("createReport", client.post(REPORTS, json={})),
               ("cancelReport", client.delete(f"{REPORTS}/{queued}")),
               ("getReport", client.get(f"{REPORTS}/{queued}")),
               ("getReport", client.get(f"{REPORTS}/404")),
               ("getReports", client.get(REPORTS, params={"reportTypes": LISTINGS, "pageSize": 1})),
               ("getReports", client.get(REPORTS))]
    report = finished(client, report_id)
    answers += [("getReport", client.get(f"{REPORTS}/{report_id}")),
                ("getReportDocument", client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}")),
                ("getReportDocument", client.get("/reports/2021-06-30/documents/missing")),
                ("cancelReport", client.delete(f"{REPORTS}/{report_id}"))]
    for name, response in answers:
        operation = contract.operations[f"reports_2021-06-30/{name}"]
        violations = contract.check_response(operation, response.status_code, response.content,
                                             response.headers.get("content-type", ""))
        assert not violations, "\n".join(map(str, violations))


# ---- GET_V2_SELLER_PERFORMANCE_REPORT ----------------------------------------------------------------------------
def seller_cancel(sandbox, client, order_id: str, reason: str) -> None:
    """A seller cancellation: an OrderAcknowledgement feed with StatusCode Failure."""
    item = sandbox.order(order_id)["items"][0]["orderItemId"]
    xml = ('<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
           f"<MerchantIdentifier>{sandbox.credentials['seller_id']}</MerchantIdentifier></Header>"
           "<MessageType>OrderAcknowledgement</MessageType><Message><MessageID>1</MessageID><OrderAcknowledgement>"
           f"<AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>Failure</StatusCode><Item>"
           f"<AmazonOrderItemCode>{item}</AmazonOrderItemCode><CancelReason>{reason}</CancelReason></Item>"
           "</OrderAcknowledgement></Message></AmazonEnvelope>")
    document = client.post("/feeds/2021-06-30/documents", json={"contentType": "text/xml; charset=UTF-8"}).json()
    assert httpx.put(document["url"], content=xml.encode()).status_code == 200
    feed_id = client.post("/feeds/2021-06-30/feeds", json={
        "feedType": "POST_ORDER_ACKNOWLEDGEMENT_DATA", "marketplaceIds": [US],
        "inputFeedDocumentId": document["feedDocumentId"]}).json()["feedId"]
    sandbox.advance_clock(sandbox.config()["feed_processing_seconds"])
    wait_for(lambda: client.get(f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "DONE")
    assert sandbox.order(order_id)["status"] == "Canceled"


def test_seller_performance_report_is_computed_from_the_orders(sandbox, client):
    sandbox.configure(feed_processing_seconds=6)
    mfn = {"marketplace": "US", "fulfillment": "MFN", "status": "Unshipped", "business": False}
    [late] = sandbox.create_orders(count=1, created_at=ago(days=3), **mfn)  # Latest Ship Date: a day ago
    [on_time] = sandbox.create_orders(count=1, **{**mfn, "business": True})
    [untracked] = sandbox.create_orders(count=1, **mfn)
    [canceled, buyer_asked, waiting] = sandbox.create_orders(count=3, **mfn)
    sandbox.create_orders(count=1, marketplace="US", fulfillment="AFN", status="Unshipped")  # FBA: not counted
    sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Pending")  # not yet an order
    sandbox.create_orders(count=2, marketplace="DE", fulfillment="MFN", status="Unshipped")  # another marketplace
    for order_id in (late, on_time):
        sandbox.ship(order_id, carrier="UPS", tracking="1Z999AA10123456784")
    sandbox.ship(untracked, carrier="Bob's Courier", tracking="BOB-1")
    seller_cancel(sandbox, client, canceled, "NoInventory")
    sandbox.buyer_cancel(buyer_asked)
    seller_cancel(sandbox, client, buyer_asked, "BuyerCanceled")

    report = finished(client, create(client, [US], report_type="GET_V2_SELLER_PERFORMANCE_REPORT"))
    assert report["processingStatus"] == "DONE"
    response = download(client, report)
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body = response.json()
    [metrics] = body["performanceMetrics"]
    assert metrics["marketplaceId"] == US and waiting
    lsr = metrics["lateShipmentRate"]
    assert (lsr["orderCount"], lsr["lateShipmentCount"], lsr["status"]) == (3, 1, "BAD")
    assert lsr["rate"] == pytest.approx(1 / 3) and lsr["targetValue"] == 0.04
    pfcr = metrics["preFulfillmentCancellationRate"]
    assert (pfcr["orderCount"], pfcr["cancellationCount"], pfcr["status"]) == (6, 1, "BAD")
    vtr = metrics["validTrackingRate"]
    assert (vtr["shipmentCount"], vtr["validTrackingCount"], vtr["status"]) == (3, 2, "BAD")
    assert vtr["rate"] == pytest.approx(2 / 3) and vtr["targetCondition"] == "GREATER_THAN"
    assert metrics["onTimeDeliveryRate"]["status"] == "NONE"
    assert metrics["invoiceDefectRate"]["orderCount"] == 1
    assert body["accountStatuses"] == [{"marketplaceId": US, "status": "AT_RISK"}]
    assert lsr["reportingDateRange"]["reportingDateTo"].endswith("Z")

    models = spapi_models_dir() / "accountHealthReport-2020-11-18.json"
    if models.exists():  # valid against Amazon's schema
        import json

        import jsonschema

        jsonschema.Draft7Validator(json.loads(models.read_text())).validate(body)

    # A marketplace without orders: every rate 0, status NONE, account NORMAL.
    quiet = download(client, finished(client, create(client, [JP], report_type="GET_V2_SELLER_PERFORMANCE_REPORT")))
    [jp] = quiet.json()["performanceMetrics"]
    assert jp["lateShipmentRate"]["status"] == "NONE" and quiet.json()["accountStatuses"][0]["status"] == "NORMAL"
