"""Reports API 2021-06-30 in the sandbox: createReport, getReports, getReport, cancelReport, getReportDocument,
and the report types the product reads: ``GET_MERCHANT_LISTINGS_ALL_DATA``, built from the sandbox's listings, and
``GET_V2_SELLER_PERFORMANCE_REPORT`` (performance.py).

Rules (``reports_2021-06-30.json`` and Amazon's report documentation):

* createReport {reportType, marketplaceIds (1-25), dataStartTime?, dataEndTime?, reportOptions?} → 202 {reportId};
  required fields and types, no field the model does not define, RFC 3339 date-times not after now and in order,
  the seller's marketplaces only, a report type the sandbox knows, report options that report type defines.
* A report is ``IN_QUEUE`` for the first half of ``report_processing_seconds`` (sandbox time, scaled like feeds),
  ``IN_PROGRESS`` for the second half, then ``DONE`` with a document, ``CANCELLED`` when it would be empty
  ("an automatic cancellation if there is no data to return"), or ``FATAL`` when a report fault says so
  (``PUT /_sandbox/report-faults``). cancelReport works only while ``IN_QUEUE``.
* getReports: ``reportTypes`` (1-10) unless ``nextToken``, which must then be the only parameter; statuses from the
  model's enum, 1-10 marketplaces, ``pageSize`` 1-100 (default 10), created window (default the last 90 days).
* The document is served by the pre-signed URL machinery of feeds (``/_s3/documents/…``, kind ``report``), GZIP
  compressed above ``GZIP_ABOVE_BYTES`` (``compressionAlgorithm: GZIP``), with its charset in the Content-Type.

Listings (``GET_MERCHANT_LISTINGS_ALL_DATA``): the default catalog (``catalog.DEFAULT_SKUS``) is listed on every
marketplace of the seller, priced in the marketplace's currency; every fifth SKU is fulfilled by Amazon
(``AMAZON_NA`` / ``AMAZON_EU`` / ``AMAZON_FE``, quantity left empty as Amazon does), the others by the merchant
(``DEFAULT``). Every third title and every description carry non-ASCII text of the marketplace's language.
``POST /_sandbox/listings`` adds, changes, removes or generates listings (``SandboxClient.set_listings``).

Charsets (the report's Content-Type says which): US ``UTF-8``; UK, DE, FR ``Cp1252`` (windows-1252, Amazon's
name); JP ``Shift_JIS``. The ``open-date`` column follows each marketplace's local format and time zone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from . import catalog
from .engine import ApiError, ControlError, decode_token, encode_token, new_document_id
from .performance import PERFORMANCE_REPORT, build_performance_report
from .timeutil import iso, now_ms

LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
# Report type → the reportOptions it defines (none for the listings report).
REPORT_TYPES: dict[str, tuple[str, ...]] = {LISTINGS_REPORT: ()}
REPORT_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
SPECIFICATION_FIELDS = ("reportType", "marketplaceIds", "dataStartTime", "dataEndTime", "reportOptions")
RETENTION_MS = 90 * 86_400_000  # "Reports are retained for a maximum of 90 days."
GZIP_ABOVE_BYTES = 256 * 1024
MAX_CONTROL_LISTINGS = 200_000

LISTING_COLUMNS = (
    "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity", "open-date", "image-url",
    "item-is-marketplace", "product-id-type", "zshop-shipping-fee", "item-note", "item-condition",
    "zshop-category1", "zshop-browse-path", "zshop-storefront-feature", "asin1", "asin2", "asin3",
    "will-ship-internationally", "expedited-shipping", "zshop-boldface", "product-id", "bid-for-featured-placement",
    "add-delete", "pending-quantity", "fulfillment-channel", "merchant-shipping-group", "status",
)
FULFILLMENT_CHANNELS = ("DEFAULT", "AMAZON_NA", "AMAZON_EU", "AMAZON_FE")
LISTING_STATUSES = ("Active", "Inactive", "Incomplete")


class Locale:
    def __init__(self, charset: str, codec: str, zone: str, date_format: str, fba: str, title: str, words: str):
        self.charset = charset  # as named in the document's Content-Type
        self.codec = codec  # Python's codec for it
        self.zone = ZoneInfo(zone)
        self.date_format = date_format
        self.fba = fba  # fulfillment-channel of FBA listings
        self.title = title  # non-ASCII suffix of every third title
        self.words = words  # non-ASCII description


LOCALES: dict[str, Locale] = {
    "US": Locale("UTF-8", "utf-8", "America/Los_Angeles", "%Y-%m-%d %H:%M:%S %Z", "AMAZON_NA",
                 " – Café Édition™", "Dishwasher-safe, 100 % recyclable — naïve design, “made to last”."),
    "UK": Locale("Cp1252", "cp1252", "Europe/London", "%d/%m/%Y %H:%M:%S %Z", "AMAZON_EU",
                 " – Crème Brûlée Edition", "Dishwasher-safe – £ for £ the best buy, “made to last”."),
    "DE": Locale("Cp1252", "cp1252", "Europe/Berlin", "%d.%m.%Y %H:%M:%S %Z", "AMAZON_EU",
                 " – Größe M, spülmaschinenfest", "Spülmaschinenfest, schöne Qualität für 10 € – „Made in Ölsnitz“."),
    "FR": Locale("Cp1252", "cp1252", "Europe/Paris", "%d/%m/%Y %H:%M:%S %Z", "AMAZON_EU",
                 " – Édition café crème", "Passe au lave-vaisselle, qualité supérieure – « fabriqué à Lyon » €."),
    "JP": Locale("Shift_JIS", "shift_jis", "Asia/Tokyo", "%Y/%m/%d %H:%M:%S %Z", "AMAZON_FE",
                 " 陶器マグカップ（日本限定）", "食器洗い機対応。高品質な日本製の商品です。"),
}
OPEN_DATE_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z: the default listings' first open date


# ---- listings ----------------------------------------------------------------------------------------------------
def default_listings(mp: catalog.Marketplace) -> list[dict[str, Any]]:
    locale = LOCALES[mp.code]
    out = []
    for n, sku in enumerate(catalog.DEFAULT_SKUS, start=1):
        fba = n % 5 == 0
        out.append({
            "sku": sku.sku, "asin": sku.asin,
            "title": sku.title + (locale.title if n % 3 == 0 else ""),
            "description": f"{sku.title}. {locale.words}",
            "price": mp.fmt(sku.price_in(mp)),
            "quantity": None if fba else 20 + (n * 7) % 80,
            "fulfillment_channel": locale.fba if fba else "DEFAULT",
            "status": "Active",
            "open_date_ms": OPEN_DATE_MS + n * 86_400_000 + n * 3_661_000,
        })
    return out


def ensure_listings(sandbox) -> None:
    """The default listings, once per reset (they can then be changed by the control API)."""
    store = sandbox.store
    if store.meta("listings_seeded"):
        return
    with store.write():
        if store.meta("listings_seeded"):
            return
        seller_id = sandbox.credentials["seller_id"]
        for marketplace_id in sandbox.credentials["marketplace_ids"]:
            mp = catalog.BY_ID.get(marketplace_id)
            if mp is not None and mp.code in LOCALES:
                store.put_listings(seller_id, marketplace_id, default_listings(mp))
        store.set_meta("listings_seeded", True)


def listing_from_spec(spec: Any, mp: catalog.Marketplace, existing: dict[str, Any] | None) -> dict[str, Any]:
    """A listing from the control API's JSON (``sku`` required; other fields default to the existing listing, then
    to the catalog's values for that SKU)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("sku"), str) or not spec["sku"].strip():
        raise ControlError("each listing needs a sku (a non-empty string)")
    unknown = set(spec) - {"sku", "asin", "title", "description", "price", "quantity", "fulfillment_channel",
                           "status", "open_date"}
    if unknown:
        raise ControlError(f"unknown listing field(s): {', '.join(sorted(unknown))}")
    base = catalog.sku(spec["sku"].strip())
    listing = dict(existing or {
        "sku": base.sku, "asin": base.asin, "title": base.title, "description": base.title,
        "price": mp.fmt(base.price_in(mp)), "quantity": 10, "fulfillment_channel": "DEFAULT", "status": "Active",
        "open_date_ms": now_ms()})
    for key in ("asin", "title", "description"):
        if key in spec:
            if not isinstance(spec[key], str):
                raise ControlError(f"{key} must be a string")
            listing[key] = spec[key]
    if "price" in spec:
        try:
            price = Decimal(str(spec["price"]))
        except InvalidOperation:
            raise ControlError(f"price {spec['price']!r} is not a number")
        if price < 0:
            raise ControlError("price must not be negative")
        listing["price"] = mp.fmt(price)
    if "quantity" in spec:
        quantity = spec["quantity"]
        if quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0):
            raise ControlError("quantity must be a non-negative integer or null")
        listing["quantity"] = quantity
    if "fulfillment_channel" in spec:
        channel = spec["fulfillment_channel"]
        if channel in ("FBA", "AFN"):
            channel = LOCALES[mp.code].fba
        elif channel in ("FBM", "MFN"):
            channel = "DEFAULT"
        if channel not in FULFILLMENT_CHANNELS:
            raise ControlError(f"fulfillment_channel must be one of {', '.join(FULFILLMENT_CHANNELS)}, FBA, FBM")
        listing["fulfillment_channel"] = channel
        if channel != "DEFAULT" and "quantity" not in spec:
            listing["quantity"] = None
    if "status" in spec:
        if spec["status"] not in LISTING_STATUSES:
            raise ControlError(f"status must be one of {', '.join(LISTING_STATUSES)}")
        listing["status"] = spec["status"]
    if "open_date" in spec:
        try:
            listing["open_date_ms"] = int(datetime.fromisoformat(str(spec["open_date"]).replace("Z", "+00:00"))
                                          .timestamp() * 1000)
        except ValueError:
            raise ControlError("open_date must be an ISO 8601 date-time")
    listing["sku"] = spec["sku"].strip()
    return listing


def control_set_listings(sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/listings`` {marketplace, listings: [{sku, title, description, price, quantity,
    fulfillment_channel, status, asin, open_date}], replace?, remove?: [sku], generate?: N, fba_every?: K}.

    ``replace`` removes the marketplace's other listings first (``replace`` with no listings empties it: its
    reports are CANCELLED); ``generate`` adds N listings ``GEN-0000001``… (1 in ``fba_every`` fulfilled by Amazon)."""
    try:
        mp = catalog.marketplace(body.get("marketplace"))
    except ValueError as exc:
        raise ControlError(str(exc))
    if mp.marketplace_id not in sandbox.credentials["marketplace_ids"] or mp.code not in LOCALES:
        raise ControlError(f"the seller does not sell on {mp.code}")
    specs = body.get("listings") or []
    if not isinstance(specs, list):
        raise ControlError("listings must be a list")
    try:
        generate = int(body.get("generate") or 0)
        fba_every = int(body.get("fba_every") or 0)
    except (TypeError, ValueError):
        raise ControlError("generate and fba_every must be integers")
    if not 0 <= generate <= MAX_CONTROL_LISTINGS or len(specs) > MAX_CONTROL_LISTINGS or fba_every < 0:
        raise ControlError(f"at most {MAX_CONTROL_LISTINGS} listings at once")
    remove = body.get("remove") or []
    if not isinstance(remove, list) or not all(isinstance(s, str) for s in remove):
        raise ControlError("remove must be a list of SKUs")
    ensure_listings(sandbox)
    seller_id = sandbox.credentials["seller_id"]
    store = sandbox.store
    replace = bool(body.get("replace"))
    existing = {} if replace else {item["sku"]: item for item in store.listings(seller_id, mp.marketplace_id)}
    docs = [listing_from_spec(spec, mp, existing.get(str(spec.get("sku", "")).strip()) if isinstance(spec, dict)
                              else None) for spec in specs]
    if generate:
        locale = LOCALES[mp.code]
        now = now_ms()
        for n in range(1, generate + 1):
            fba = bool(fba_every) and n % fba_every == 0
            base = catalog.DEFAULT_SKUS[(n - 1) % len(catalog.DEFAULT_SKUS)]
            docs.append({"sku": f"GEN-{n:07d}", "asin": f"B0GEN{n:05d}"[-10:] if n < 10**5 else f"B{n:09d}",
                         "title": f"{base.title} #{n}" + (locale.title if n % 3 == 0 else ""),
                         "description": locale.words, "price": mp.fmt(base.price_in(mp)),
                         "quantity": None if fba else n % 50, "fulfillment_channel": locale.fba if fba else "DEFAULT",
                         "status": "Active", "open_date_ms": now - n * 1000})
    with store.write():
        if remove:
            store.delete_listings(seller_id, mp.marketplace_id, remove)
        store.put_listings(seller_id, mp.marketplace_id, docs, replace=replace)
    return {"marketplace": mp.code, "marketplace_id": mp.marketplace_id,
            "count": store.count_listings(seller_id, mp.marketplace_id)}


def control_listings(sandbox, marketplace: str | None) -> dict[str, Any]:
    try:
        mp = catalog.marketplace(marketplace)
    except ValueError as exc:
        raise ControlError(str(exc))
    ensure_listings(sandbox)
    listings = sandbox.store.listings(sandbox.credentials["seller_id"], mp.marketplace_id)
    return {"marketplace": mp.code, "marketplace_id": mp.marketplace_id, "count": len(listings),
            "listings": listings}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return re.sub(r"[\t\r\n]+", " ", str(value))


def listing_id(marketplace_id: str, sku: str) -> str:
    digest = hashlib.sha256(f"{marketplace_id}|{sku}".encode()).hexdigest().upper()
    return f"{int(digest[:6], 16) % 10_000:04d}{digest[6:13]}"


def listings_rows(mp: catalog.Marketplace, listings: list[dict[str, Any]]) -> list[list[str]]:
    locale = LOCALES[mp.code]
    rows = []
    for item in listings:
        opened = datetime.fromtimestamp(item["open_date_ms"] / 1000, tz=UTC).astimezone(locale.zone)
        merchant = item["fulfillment_channel"] == "DEFAULT"
        rows.append([
            item["title"], item["description"], listing_id(mp.marketplace_id, item["sku"]), item["sku"],
            item["price"], item["quantity"] if merchant else "", opened.strftime(locale.date_format), "", "y", "1",
            "", "", "11", "", "", "", item["asin"], "", "", "", "", "", item["asin"], "", "",
            "0", item["fulfillment_channel"], "Migrated Template" if merchant else "", item["status"]])
    return rows


def build_listings_report(sandbox, report: dict[str, Any]) -> tuple[bytes, str] | None:
    """The report's text encoded in the marketplace's charset, and its Content-Type; None when there is no data.

    "Only the first marketplace is used" for this report type."""
    ensure_listings(sandbox)
    mp = catalog.BY_ID[report["marketplace_ids"][0]]
    listings = sandbox.store.listings(report["seller_id"], mp.marketplace_id)
    if not listings:
        return None
    locale = LOCALES[mp.code]
    lines = ["\t".join(LISTING_COLUMNS)]
    lines += ["\t".join(_cell(v) for v in row) for row in listings_rows(mp, listings)]
    text = "\n".join(lines) + "\n"
    return text.encode(locale.codec, errors="replace"), f"text/plain;charset={locale.charset}"


REPORT_TYPES[PERFORMANCE_REPORT] = ()
BUILDERS = {LISTINGS_REPORT: build_listings_report, PERFORMANCE_REPORT: build_performance_report}


# ---- processing over sandbox time ------------------------------------------------------------------------------
def advance(sandbox, now: int | None = None) -> None:
    """Move the reports that are due: IN_QUEUE → IN_PROGRESS at half of ``report_processing_seconds``, then DONE,
    CANCELLED (no data) or FATAL (a report fault) at the end."""
    now = now_ms() if now is None else now
    half = sandbox.scaled_ms(sandbox.settings.report_processing_seconds / 2)
    store = sandbox.store
    for report in store.reports(statuses=["IN_QUEUE", "IN_PROGRESS"]):
        if report["status"] == "IN_QUEUE" and now >= report["created_ms"] + half:
            store.update_report(report["report_id"], status="IN_PROGRESS", started_ms=now)
            report["status"] = "IN_PROGRESS"
        if report["status"] == "IN_PROGRESS" and now >= report["created_ms"] + 2 * half:
            _finish(sandbox, report, now)


def _finish(sandbox, report: dict[str, Any], now: int) -> None:
    store = sandbox.store
    with store.write():
        current = store.report(report["report_id"])
        if current is None or current["status"] != "IN_PROGRESS":
            return
        if current["fate"] == "FATAL":
            document_id = new_document_id()
            error = {"errorDetails": f"Report {current['report_id']} could not be generated (a sandbox report "
                                     "fault)."}
            store.add_document(document_id, seller_id=current["seller_id"], kind="report",
                               content_type="application/json;charset=UTF-8", now=now,
                               content=json.dumps(error).encode())
            store.update_report(current["report_id"], status="FATAL", ended_ms=now, document_id=document_id)
            return
        built = BUILDERS[current["report_type"]](sandbox, current)
        if built is None:
            store.update_report(current["report_id"], status="CANCELLED", ended_ms=now)
            return
        content, content_type = built
        compression = None
        if len(content) > GZIP_ABOVE_BYTES:
            content, compression = gzip.compress(content, compresslevel=5), "GZIP"
        document_id = new_document_id()
        store.add_document(document_id, seller_id=current["seller_id"], kind="report", content_type=content_type,
                           now=now, content=content, compression=compression)
        store.update_report(current["report_id"], status="DONE", ended_ms=now, document_id=document_id)


# ---- faults ----------------------------------------------------------------------------------------------------
def set_faults(sandbox, spec: dict[str, Any]) -> dict[str, Any]:
    """``PUT /_sandbox/report-faults`` {"<reportType>" or "*": {"FATAL": rate}}: the share of new reports of that
    type that end FATAL (drawn when the report is created). An empty object clears them."""
    clean: dict[str, dict[str, float]] = {}
    for key, value in spec.items():
        if key != "*" and key not in REPORT_TYPES:
            raise ControlError(f"unknown report type {key!r} (one of *, {', '.join(REPORT_TYPES)})")
        if not isinstance(value, dict) or set(value) - {"FATAL"}:
            raise ControlError(f"{key}: expected {{\"FATAL\": rate}}")
        try:
            rate = float(value.get("FATAL", 0))
        except (TypeError, ValueError):
            raise ControlError(f"{key}: the rate must be a number")
        if not 0 <= rate <= 1:
            raise ControlError(f"{key}: a rate is between 0 and 1")
        clean[key] = {"FATAL": rate}
    sandbox.store.set_meta("report_faults", clean)
    return clean


def _fate(sandbox, report_type: str) -> str | None:
    faults = sandbox.store.meta("report_faults") or {}
    rate = (faults.get(report_type) or faults.get("*") or {}).get("FATAL", 0.0)
    return "FATAL" if rate and sandbox.rng.random() < rate else None


# ---- the operations ------------------------------------------------------------------------------------------------
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _date_time(name: str, value: Any) -> int:
    """An RFC 3339 date-time (the model's ``format: date-time``: a time zone is required) → epoch ms."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise ApiError(400, "InvalidInput", f"Invalid {name}: {value!r} is not an ISO 8601 date-time with a time "
                                            "zone (e.g. 2024-01-31T12:00:00Z).")
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"Invalid {name}: {value!r} is not a valid date-time.")


def _check_marketplaces(sandbox, values: list[str]) -> None:
    allowed = set(sandbox.credentials["marketplace_ids"])
    for value in values:
        if value not in allowed:
            raise ApiError(400, "InvalidInput", f"Invalid marketplace id {value!r}: the seller does not participate "
                                                "in it.")


def _new_report_id(sandbox) -> str:
    report_id = str(60_000_000_000 + sandbox.rng.randrange(10**10))
    while sandbox.store.report(report_id):
        report_id = str(60_000_000_000 + sandbox.rng.randrange(10**10))
    return report_id


def create_report(sandbox, seller_id: str, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidInput", "The request body must be a JSON object (CreateReportSpecification).")
    unknown = sorted(set(body) - set(SPECIFICATION_FIELDS))
    if unknown:
        raise ApiError(400, "InvalidInput", f"Unknown field(s) in CreateReportSpecification: {', '.join(unknown)}.")
    for field in ("reportType", "marketplaceIds"):
        if field not in body or body[field] is None:
            raise ApiError(400, "InvalidInput", f"{field} is required.")
    report_type = body["reportType"]
    if not isinstance(report_type, str) or not report_type:
        raise ApiError(400, "InvalidInput", "reportType must be a non-empty string.")
    marketplace_ids = body["marketplaceIds"]
    if not isinstance(marketplace_ids, list) or not all(isinstance(m, str) for m in marketplace_ids) \
            or not 1 <= len(marketplace_ids) <= 25:
        raise ApiError(400, "InvalidInput", "marketplaceIds must list 1 to 25 marketplace ids.")
    now = now_ms()
    start = end = None
    if "dataStartTime" in body:
        start = _date_time("dataStartTime", body["dataStartTime"])
    if "dataEndTime" in body:
        end = _date_time("dataEndTime", body["dataEndTime"])
    for name, value in (("dataStartTime", start), ("dataEndTime", end)):
        if value is not None and value > now + 1000:  # whole seconds on the wire
            raise ApiError(400, "InvalidInput", f"{name} must be prior to or equal to the current date and time.")
    if start is not None and end is not None and start > end:
        raise ApiError(400, "InvalidInput", "dataStartTime must be prior to or equal to dataEndTime.")
    options = body.get("reportOptions", {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise ApiError(400, "InvalidInput", "reportOptions must be an object of string values.")
    if report_type not in REPORT_TYPES:
        raise ApiError(400, "InvalidInput", f"Invalid reportType {report_type!r}: the sandbox knows "
                                            f"{', '.join(REPORT_TYPES)}.")
    bad_options = sorted(set(options) - set(REPORT_TYPES[report_type]))
    if bad_options:
        raise ApiError(400, "InvalidInput", f"Report option(s) {', '.join(bad_options)} are not supported for "
                                            f"{report_type}.")
    _check_marketplaces(sandbox, marketplace_ids)
    report_id = _new_report_id(sandbox)
    sandbox.store.add_report({
        "report_id": report_id, "seller_id": seller_id, "report_type": report_type,
        "marketplace_ids": marketplace_ids, "options": options, "data_start_ms": start if start is not None else now,
        "data_end_ms": end if end is not None else now, "status": "IN_QUEUE", "created_ms": now,
        "fate": _fate(sandbox, report_type)})
    return 202, {"reportId": report_id}


def report_json(report: dict[str, Any]) -> dict[str, Any]:
    out = {"reportId": report["report_id"], "reportType": report["report_type"],
           "marketplaceIds": report["marketplace_ids"], "createdTime": iso(report["created_ms"]),
           "processingStatus": report["status"], "dataStartTime": iso(report["data_start_ms"]),
           "dataEndTime": iso(report["data_end_ms"])}
    if report["started_ms"]:
        out["processingStartTime"] = iso(report["started_ms"])
    if report["ended_ms"]:
        out["processingEndTime"] = iso(report["ended_ms"])
    if report["document_id"]:
        out["reportDocumentId"] = report["document_id"]
    return out


def _report(sandbox, seller_id: str, report_id: str) -> dict[str, Any]:
    advance(sandbox)
    report = sandbox.store.report(report_id)
    if report is None or report["seller_id"] != seller_id:
        raise ApiError(404, "NotFound", f"Report {report_id} was not found.")
    return report


def get_report(sandbox, seller_id: str, report_id: str) -> tuple[int, dict[str, Any]]:
    return 200, report_json(_report(sandbox, seller_id, report_id))


def cancel_report(sandbox, seller_id: str, report_id: str) -> tuple[int, None]:
    report = _report(sandbox, seller_id, report_id)
    if report["status"] != "IN_QUEUE":
        raise ApiError(400, "InvalidInput", f"Only reports with processingStatus IN_QUEUE can be cancelled; report "
                                            f"{report_id} is {report['status']}.")
    sandbox.store.update_report(report_id, status="CANCELLED", ended_ms=now_ms())
    return 200, None


def get_report_document(sandbox, seller_id: str, document_id: str,
                        args: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    if args.get("enableContentEncodingUrlHeader", "true") not in ("true", "false"):
        raise ApiError(400, "InvalidInput", "enableContentEncodingUrlHeader must be true or false.")
    unknown = sorted(set(args) - {"enableContentEncodingUrlHeader"})
    if unknown:
        raise ApiError(400, "InvalidInput", f"Unknown parameter(s): {', '.join(unknown)}.")
    document = sandbox.store.document(document_id)
    if document is None or document["seller_id"] != seller_id or document["kind"] != "report":
        raise ApiError(404, "NotFound", f"Report document {document_id} was not found.")
    out = {"reportDocumentId": document_id, "url": sandbox.presigned_url(document_id, "GET")}
    if document["compression"]:
        out["compressionAlgorithm"] = document["compression"]
    return 200, out


def _list(args, name: str) -> list[str] | None:
    """An array query parameter (CSV or repeated); when present it must hold at least one value (minItems 1)."""
    if name not in args:
        return None
    values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
    if not values:
        raise ApiError(400, "InvalidInput", f"{name} must not be empty.")
    return values


GET_REPORTS_PARAMETERS = ("reportTypes", "processingStatuses", "marketplaceIds", "pageSize", "createdSince",
                          "createdUntil", "nextToken")


def get_reports(sandbox, seller_id: str, args) -> tuple[int, dict[str, Any]]:
    unknown = sorted(set(args) - set(GET_REPORTS_PARAMETERS))
    if unknown:
        raise ApiError(400, "InvalidInput", f"Unknown parameter(s): {', '.join(unknown)}.")
    now = now_ms()
    token_text = args.get("nextToken")
    if "nextToken" in args:
        others = sorted(name for name in args if name != "nextToken")
        if others:  # "include this token as the only parameter"
            raise ApiError(400, "InvalidInput", "nextToken must be the only parameter; also sent: "
                                                f"{', '.join(others)}.")
        if not token_text:
            raise ApiError(400, "InvalidInput", "nextToken must not be empty.")
        state = decode_token(token_text)
        if state.get("s") != seller_id or state.get("v") != "reports":
            raise ApiError(400, "InvalidInput", "Invalid nextToken.")
    else:
        report_types = _list(args, "reportTypes")
        if not report_types:
            raise ApiError(400, "InvalidInput", "reportTypes is required when nextToken is not provided.")
        if len(report_types) > 10:
            raise ApiError(400, "InvalidInput", "At most 10 reportTypes are allowed.")
        statuses = _list(args, "processingStatuses") or []
        for status in statuses:
            if status not in REPORT_STATUSES:
                raise ApiError(400, "InvalidInput", f"Invalid value {status!r} for processingStatuses.")
        marketplace_ids = _list(args, "marketplaceIds") or []
        if len(marketplace_ids) > 10:
            raise ApiError(400, "InvalidInput", "At most 10 marketplaceIds are allowed.")
        page_size = 10
        if "pageSize" in args:
            raw = args.get("pageSize", "")
            if not re.fullmatch(r"[+-]?\d+", raw or ""):
                raise ApiError(400, "InvalidInput", "pageSize must be an integer.")
            page_size = int(raw)
            if not 1 <= page_size <= 100:
                raise ApiError(400, "InvalidInput", "pageSize must be between 1 and 100.")
        since = _date_time("createdSince", args["createdSince"]) if "createdSince" in args else now - RETENTION_MS
        until = _date_time("createdUntil", args["createdUntil"]) if "createdUntil" in args else now
        if since > until:
            raise ApiError(400, "InvalidInput", "createdSince must be before createdUntil.")
        state = {"v": "reports", "s": seller_id, "t": report_types, "st": statuses, "m": marketplace_ids,
                 "a": since, "b": until, "n": page_size, "o": 0}
    advance(sandbox, now)
    matching = [r for r in sandbox.store.reports(seller_id=seller_id, statuses=state["st"] or None)
                if r["report_type"] in state["t"] and state["a"] <= r["created_ms"] <= state["b"]
                and r["created_ms"] >= now - RETENTION_MS
                and (not state["m"] or set(state["m"]) & set(r["marketplace_ids"]))]
    page = matching[state["o"]: state["o"] + state["n"]]
    body: dict[str, Any] = {"reports": [report_json(r) for r in page]}
    if len(matching) > state["o"] + state["n"]:
        body["nextToken"] = encode_token({**state, "o": state["o"] + state["n"]})
    return 200, body


def control_reports(sandbox) -> dict[str, Any]:
    """``GET /_sandbox/reports``: every report with its status (the document's text is read through the API)."""
    advance(sandbox)
    return {"reports": [report_json(r) for r in sandbox.store.reports()]}
