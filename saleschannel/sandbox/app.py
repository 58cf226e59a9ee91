"""The sandbox's HTTP face: LWA, the SP-API routes (Orders 2026-01-01 and v0, Tokens, Feeds, Reports), pre-signed
document URLs; the control API under ``/_sandbox/`` is control.py (and notifications.py for its own)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request

from . import notifications as notify
from . import orders as order_rules
from . import render, reports, search
from .control import Control, feed_json, json_response
from .engine import ApiError, Sandbox, decode_token, encode_token, new_document_id
from .limits import USAGE_PLANS
from .orders import OrderError
from .timeutil import now_ms, parse_iso

log = logging.getLogger("saleschannel.sandbox")

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
MAX_RECORDED_BODY = 100_000


def create_app(sandbox: Sandbox) -> Flask:
    app = Flask("saleschannel.sandbox")
    app.config["MAX_CONTENT_LENGTH"] = 50 * 1024 * 1024
    app.url_map.strict_slashes = False
    api = SpApi(sandbox)

    for method, rule, operation, handler in api.routes():
        app.add_url_rule(rule, endpoint=operation, view_func=api.view(operation, handler), methods=[method])
    app.add_url_rule("/auth/o2/token", endpoint="lwa", view_func=api.lwa, methods=["POST"])
    app.add_url_rule("/_s3/documents/<document_id>", endpoint="s3", view_func=api.s3, methods=["GET", "PUT"])
    Control(sandbox).register(app)
    notify.register_control(app, sandbox)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_found(exc):
        status = getattr(exc, "code", 404)
        if request.path.startswith("/_sandbox"):
            return json_response({"error": "not found" if status == 404 else "method not allowed"}, status)
        error = ApiError(status, "NotFound" if status == 404 else "MethodNotAllowed",
                         "Resource not found" if status == 404 else "Method not allowed")
        response = json_response(error.body(), status, {"x-amzn-RequestId": str(uuid.uuid4())})
        api.record(None, status, None, str(uuid.uuid4()))
        return response

    return app


def _list_arg(name: str) -> list[str]:
    """Array query parameters, sent as CSV (``a,b``) or repeated (``a&a``)."""
    values = []
    for raw in request.args.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"{name} must be an integer.")
    if not low <= value <= high:
        raise ApiError(400, "InvalidInput", f"{name} must be between {low} and {high}.")
    return value


def _date_arg(name: str, value: str | None = None) -> int | None:
    raw = request.args.get(name) if value is None else value
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise ApiError(400, "InvalidInput", f"Invalid {name}: {raw!r} is not an ISO 8601 date-time.")


def _check_enum(name: str, values: list[str], allowed) -> None:
    for value in values:
        if value not in allowed:
            raise ApiError(400, "InvalidInput", f"Invalid value {value!r} for {name}.")


class SpApi:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def routes(self) -> list[tuple[str, str, str, Callable]]:
        return [
            ("GET", "/orders/2026-01-01/orders", "searchOrders", self.search_orders),
            ("GET", "/orders/2026-01-01/orders/<order_id>", "getOrder", self.get_order_2026),
            ("GET", "/orders/v0/orders", "getOrders", self.get_orders_v0),
            ("GET", "/orders/v0/orders/<order_id>", "getOrderV0", self.get_order_v0),
            ("GET", "/orders/v0/orders/<order_id>/orderItems", "getOrderItems", self.get_order_items),
            ("GET", "/orders/v0/orders/<order_id>/address", "getOrderAddress", self.get_order_address),
            ("GET", "/orders/v0/orders/<order_id>/buyerInfo", "getOrderBuyerInfo", self.get_order_buyer_info),
            ("POST", "/orders/v0/orders/<order_id>/shipmentConfirmation", "confirmShipment", self.confirm_shipment),
            ("POST", "/tokens/2021-03-01/restrictedDataToken", "createRestrictedDataToken", self.create_rdt),
            ("POST", "/feeds/2021-06-30/documents", "createFeedDocument", self.create_feed_document),
            ("GET", "/feeds/2021-06-30/documents/<document_id>", "getFeedDocument", self.get_feed_document),
            ("POST", "/feeds/2021-06-30/feeds", "createFeed", self.create_feed),
            ("GET", "/feeds/2021-06-30/feeds", "getFeeds", self.get_feeds),
            ("GET", "/feeds/2021-06-30/feeds/<feed_id>", "getFeed", self.get_feed),
            ("DELETE", "/feeds/2021-06-30/feeds/<feed_id>", "cancelFeed", self.cancel_feed),
            # Reports 2021-06-30: the logic is in reports.py
            ("POST", "/reports/2021-06-30/reports", "createReport", self.create_report),
            ("GET", "/reports/2021-06-30/reports", "getReports", self.get_reports),
            ("GET", "/reports/2021-06-30/reports/<report_id>", "getReport", self.get_report),
            ("DELETE", "/reports/2021-06-30/reports/<report_id>", "cancelReport", self.cancel_report),
            ("GET", "/reports/2021-06-30/documents/<document_id>", "getReportDocument", self.get_report_document),
            # Notifications v1: the logic is in notifications.py
            *notify.NotificationsApi(self.sandbox).routes(),
        ]

    # ---- plumbing ------------------------------------------------------------------------------------------------
    def record(self, operation: str | None, status: int, fault: str | None, request_id: str,
               body: str | None = None) -> None:
        if body is None:
            body = request.get_data(as_text=True)[:MAX_RECORDED_BODY]
        self.sandbox.store.record(at_ms=now_ms(), method=request.method, path=request.path,
                                  query=request.query_string.decode("latin-1"), body=body, status=status,
                                  operation=operation, request_id=request_id, fault=fault)

    def view(self, operation: str, handler: Callable) -> Callable:
        sandbox = self.sandbox
        rate, _burst = USAGE_PLANS[operation]

        def view(**kwargs):
            request_id = str(uuid.uuid4())
            fault = None
            try:
                if operation in notify.OPERATIONS:  # grantless operations, or either kind of token
                    seller_id, grants = notify.authenticate(sandbox, operation, request.headers.get(
                        "x-amz-access-token"), request.method, request.path)
                else:
                    seller_id, grants = sandbox.authenticate(request.headers.get("x-amz-access-token"),
                                                             request.method, request.path)
                if sandbox.settings.rate_limits and not sandbox.limiter.take(seller_id, operation,
                                                                             sandbox.settings.time_scale):
                    raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
                fault = sandbox.faults.draw(operation)
                if fault == "429":
                    raise ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
                if fault == "500":
                    raise ApiError(500, "InternalFailure", "We encountered an internal error. Please try again.")
                if fault == "503":
                    raise ApiError(503, "ServiceUnavailable", "Service temporarily unavailable. Please try again.")
                if fault == "timeout":
                    time.sleep(sandbox.faults.timeout_seconds)
                status, body = handler(seller_id=seller_id, grants=grants, **kwargs)
            except ApiError as exc:
                status, body = exc.status, exc.body()
            except Exception:
                traceback.print_exc(file=sys.stderr)
                status, body = 500, ApiError(500, "InternalFailure", "We encountered an internal error.").body()
            text = "" if body is None else json.dumps(body, ensure_ascii=False)
            if fault == "malformed":
                # The response is cut in the middle, as by a dropped connection or a broken proxy.
                text = text[: max(1, len(text) // 2)] if text else '{"payload": {'
                status = 200 if status == 204 else status
            headers = {"x-amzn-RequestId": request_id, "x-amzn-RateLimit-Limit": f"{rate:g}"}
            if fault == "drop":
                # Done, then the connection closes mid-answer: the server announces more than it sends, and closes.
                full = text or '{"payload": {}}'
                headers["Content-Length"] = str(len(full.encode()) + 64)
                text = full[: max(1, len(full) // 2)]
            self.record(operation, status, fault, request_id)
            # Contract mode (contract.py) does not check an answer broken on purpose: by a fault, or by an order
            # malformed on purpose (render.malformed, which sets the same flag).
            g.sandbox_fault = fault or g.get("sandbox_fault")
            response = Response(text, status=status, headers=headers,
                                content_type="application/json" if text else None)
            if fault == "drop":
                response.headers["Content-Length"] = headers["Content-Length"]
            return response

        view.__name__ = f"view_{operation}"
        return view

    def _body(self) -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise ApiError(400, "InvalidInput", "The request body is not valid JSON.")

    def _order(self, order_id: str, seller_id: str) -> dict[str, Any]:
        if not ORDER_ID.match(order_id):
            raise ApiError(400, "InvalidInput", f"Invalid orderId {order_id!r}: expected the 3-7-7 format.")
        self.sandbox.tick()
        doc = self.sandbox.store.order(order_id, seller_id)
        if doc is None:
            raise ApiError(404, "NotFound", f"Order {order_id} was not found.")
        return doc

    def _marketplaces(self, values: list[str]) -> list[str]:
        allowed = set(self.sandbox.credentials["marketplace_ids"])
        for value in values:
            if value not in allowed:
                raise ApiError(400, "InvalidInput", f"Invalid marketplace id {value!r}: the seller does not "
                                                    "participate in it.")
        return values

    # ---- LWA and pre-signed documents ------------------------------------------------------------------------
    def lwa(self):
        request_id = str(uuid.uuid4())
        form = dict(request.form) if request.form else {}
        if not form and request.is_json:
            form = {k: str(v) for k, v in (request.get_json(silent=True) or {}).items()}
        status, body = self.sandbox.lwa_token(form)
        masked = {k: ("***" if k in ("client_secret", "refresh_token") else v) for k, v in form.items()}
        self.record("lwaToken", status, None, request_id, body=json.dumps(masked))
        return json_response(body, status, {"x-amzn-RequestId": request_id})

    def s3(self, document_id: str):
        request_id = str(uuid.uuid4())
        reason = self.sandbox.check_presigned(request.method, document_id, request.args)
        document = self.sandbox.store.document(document_id)
        if reason is None and document is None:
            reason = "The specified key does not exist."
        if reason is None and request.method == "PUT" and document["kind"] != "input":
            reason = "Result documents are read-only."
        if reason:
            code = "NoSuchKey" if document is None else "AccessDenied"
            self.record("s3" + request.method.title(), 403, None, request_id, body="")
            xml = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{reason}</Message></Error>"
            return Response(xml, status=404 if code == "NoSuchKey" else 403, content_type="application/xml")
        if request.method == "PUT":
            content = request.get_data()
            self.sandbox.store.upload_document(document_id, content, now_ms())
            self.record("s3Put", 200, None, request_id)
            return Response("", status=200, headers={"ETag": f'"{uuid.uuid4().hex}"'})
        self.record("s3Get", 200, None, request_id, body="")
        return Response(document["content"] or b"", status=200,
                        content_type=document["content_type"] or "application/octet-stream")

    # ---- Orders 2026-01-01 ---------------------------------------------------------------------------------------
    def search_orders(self, *, seller_id: str, grants, **_):
        return search.search_orders_2026(self.sandbox, seller_id, request.args)

    def get_order_2026(self, *, seller_id: str, grants, order_id: str):
        included = _list_arg("includedData")
        _check_enum("includedData", included, render.INCLUDED_DATA)
        return 200, {"order": render.order_2026(self._order(order_id, seller_id), set(included))}

    # ---- Orders v0 ---------------------------------------------------------------------------------------------
    def get_orders_v0(self, *, seller_id: str, grants, **_):
        return search.get_orders_v0(self.sandbox, seller_id, request.args, grants)

    def get_order_v0(self, *, seller_id: str, grants, order_id: str):
        doc = self._order(order_id, seller_id)
        return 200, {"payload": render.order_v0(doc, data_elements=grants or set())}

    def get_order_items(self, *, seller_id: str, grants, order_id: str):
        doc = self._order(order_id, seller_id)
        return 200, {"payload": {"AmazonOrderId": order_id,
                                 "OrderItems": render.order_items_v0(doc, data_elements=grants or set())}}

    def get_order_address(self, *, seller_id: str, grants, order_id: str):
        doc = self._order(order_id, seller_id)
        return 200, {"payload": render.address_v0(doc, full=grants is not None)}

    def get_order_buyer_info(self, *, seller_id: str, grants, order_id: str):
        doc = self._order(order_id, seller_id)
        return 200, {"payload": render.buyer_v0(doc, full=grants is not None)}

    def confirm_shipment(self, *, seller_id: str, grants, order_id: str):
        body = self._body()
        self._order(order_id, seller_id)  # 400 / 404 first
        with self.sandbox.store.write():
            doc = self.sandbox.store.order(order_id, seller_id)
            try:
                order_rules.confirm_shipment(doc, body, now_ms(), self.sandbox.rng)
            except OrderError as exc:
                raise ApiError(exc.status, exc.code, exc.message, exc.details)
            self.sandbox.store.save_order(doc)
        return 204, None

    # ---- Tokens ------------------------------------------------------------------------------------------------
    def create_rdt(self, *, seller_id: str, grants, **_):
        return 200, self.sandbox.create_rdt(seller_id, self._body())

    # ---- Feeds -------------------------------------------------------------------------------------------------
    def create_feed_document(self, *, seller_id: str, grants, **_):
        body = self._body()
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidInput", "The request body must be a JSON object.")
        if not isinstance(body.get("contentType"), str) or not body["contentType"].strip():
            raise ApiError(400, "InvalidInput", "contentType is required and must be a string.")
        document_id = new_document_id()
        self.sandbox.store.add_document(document_id, seller_id=seller_id, kind="input",
                                        content_type=body["contentType"], now=now_ms())
        return 201, {"feedDocumentId": document_id, "url": self.sandbox.presigned_url(document_id, "PUT")}

    def get_feed_document(self, *, seller_id: str, grants, document_id: str):
        if request.args.get("enableContentEncodingUrlHeader", "true") not in ("true", "false"):
            raise ApiError(400, "InvalidInput", "enableContentEncodingUrlHeader must be true or false.")
        document = self.sandbox.store.document(document_id)
        if document is None or document["seller_id"] != seller_id:
            raise ApiError(404, "NotFound", f"Feed document {document_id} was not found.")
        out = {"feedDocumentId": document_id, "url": self.sandbox.presigned_url(document_id, "GET")}
        if document["compression"]:
            out["compressionAlgorithm"] = document["compression"]
        return 200, out

    def create_feed(self, *, seller_id: str, grants, **_):
        body = self._body()
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidInput", "The request body must be a JSON object.")
        _feed_specification(body)
        marketplace_ids = body["marketplaceIds"]
        self._marketplaces(marketplace_ids)
        document = self.sandbox.store.document(str(body["inputFeedDocumentId"]))
        if document is None or document["seller_id"] != seller_id or document["kind"] != "input":
            raise ApiError(400, "InvalidInput", f"Invalid inputFeedDocumentId {body['inputFeedDocumentId']!r}.")
        feed_id = str(50_000_000_000 + self.sandbox.rng.randrange(10**10))
        while self.sandbox.store.feed(feed_id):  # a restart with the same --seed replays the generator
            feed_id = str(50_000_000_000 + self.sandbox.rng.randrange(10**10))
        self.sandbox.store.add_feed({"feed_id": feed_id, "seller_id": seller_id, "feed_type": str(body["feedType"]),
                                     "marketplace_ids": marketplace_ids,
                                     "input_document_id": document["document_id"], "status": "IN_QUEUE",
                                     "created_ms": now_ms()})
        return 202, {"feedId": feed_id}

    def _feed(self, feed_id: str, seller_id: str) -> dict[str, Any]:
        self.sandbox.tick()
        feed = self.sandbox.store.feed(feed_id)
        if feed is None or feed["seller_id"] != seller_id:
            raise ApiError(404, "NotFound", f"Feed {feed_id} was not found.")
        return feed

    def get_feed(self, *, seller_id: str, grants, feed_id: str):
        return 200, feed_json(self._feed(feed_id, seller_id))

    def cancel_feed(self, *, seller_id: str, grants, feed_id: str):
        feed = self._feed(feed_id, seller_id)
        if feed["status"] != "IN_QUEUE":
            raise ApiError(400, "InvalidInput", f"The feed cannot be cancelled: it is {feed['status']}.")
        self.sandbox.store.update_feed(feed_id, status="CANCELLED", ended_ms=now_ms())
        return 200, None

    # ---- Reports (reports.py) ----------------------------------------------------------------------------------
    def create_report(self, *, seller_id: str, grants, **_):
        return reports.create_report(self.sandbox, seller_id, self._body())

    def get_reports(self, *, seller_id: str, grants, **_):
        return reports.get_reports(self.sandbox, seller_id, request.args)

    def get_report(self, *, seller_id: str, grants, report_id: str):
        return reports.get_report(self.sandbox, seller_id, report_id)

    def cancel_report(self, *, seller_id: str, grants, report_id: str):
        return reports.cancel_report(self.sandbox, seller_id, report_id)

    def get_report_document(self, *, seller_id: str, grants, document_id: str):
        return reports.get_report_document(self.sandbox, seller_id, document_id, request.args)

    def get_feeds(self, *, seller_id: str, grants, **_):
        token_text = request.args.get("nextToken")
        if token_text:
            others = sorted(name for name in request.args if name != "nextToken")
            if others:  # the model: "include this token as the only parameter"
                raise ApiError(400, "InvalidInput", "nextToken must be the only parameter; also sent: "
                                                    f"{', '.join(others)}.")
            state = decode_token(token_text)
            if state.get("s") != seller_id or state.get("v") != "feeds":
                raise ApiError(400, "InvalidInput", "Invalid nextToken.")
        else:
            state = _feeds_query(seller_id, now_ms())
        self.sandbox.tick()
        matching = [f for f in self.sandbox.store.feeds(seller_id=seller_id, statuses=state["st"] or None)
                    if f["feed_type"] in state["t"] and state["a"] <= f["created_ms"] <= state["b"]
                    and (not state["m"] or set(state["m"]) & set(f["marketplace_ids"]))]
        page = matching[state["o"]: state["o"] + state["n"]]
        body: dict[str, Any] = {"feeds": [feed_json(f) for f in page]}
        if len(matching) > state["o"] + state["n"]:
            body["nextToken"] = encode_token({**state, "o": state["o"] + state["n"]})
        return 200, body


FEED_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
FEED_RETENTION_MS = 90 * 86_400_000  # "Feeds are retained for a maximum of 90 days"


def _feed_specification(body: dict[str, Any]) -> None:
    """CreateFeedSpecification: required fields, their types, 1 to 25 marketplaces, feedOptions of strings."""
    for field in ("feedType", "marketplaceIds", "inputFeedDocumentId"):
        if body.get(field) in (None, "", []):
            raise ApiError(400, "InvalidInput", f"{field} is required.")
    for field in ("feedType", "inputFeedDocumentId"):
        if not isinstance(body[field], str):
            raise ApiError(400, "InvalidInput", f"{field} must be a string.")
    marketplace_ids = body["marketplaceIds"]
    if not isinstance(marketplace_ids, list) or not 1 <= len(marketplace_ids) <= 25 \
            or not all(isinstance(m, str) for m in marketplace_ids):
        raise ApiError(400, "InvalidInput", "marketplaceIds must list 1 to 25 marketplace ids.")
    options = body.get("feedOptions", {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise ApiError(400, "InvalidInput", "feedOptions must be an object of string values.")


def _present_list_arg(name: str) -> list[str] | None:
    """An array query parameter that, when present, must hold at least one value (minItems 1)."""
    if name not in request.args:
        return None
    values = _list_arg(name)
    if not values:
        raise ApiError(400, "InvalidInput", f"{name} must not be empty.")
    return values


def _feeds_query(seller_id: str, now: int) -> dict[str, Any]:
    """getFeeds' first page: feedTypes 1-10, marketplaceIds 1-10, processingStatuses from the enum, pageSize
    1-100, createdSince/createdUntil as ISO 8601 date-times in order."""
    feed_types = _present_list_arg("feedTypes")
    if not feed_types:
        raise ApiError(400, "InvalidInput", "feedTypes is required when nextToken is not provided.")
    if len(feed_types) > 10:
        raise ApiError(400, "InvalidInput", "At most 10 feedTypes are allowed.")
    marketplace_ids = _present_list_arg("marketplaceIds") or []
    if len(marketplace_ids) > 10:
        raise ApiError(400, "InvalidInput", "At most 10 marketplaceIds are allowed.")
    statuses = _present_list_arg("processingStatuses") or []
    _check_enum("processingStatuses", statuses, FEED_STATUSES)
    since = _date_arg("createdSince")
    until = _date_arg("createdUntil")
    since = now - FEED_RETENTION_MS if since is None else since
    until = now if until is None else until
    if since > until:
        raise ApiError(400, "InvalidInput", "createdSince must be before createdUntil.")
    return {"v": "feeds", "s": seller_id, "t": feed_types, "st": statuses, "m": marketplace_ids, "a": since,
            "b": until, "n": _int_arg("pageSize", 10, 1, 100), "o": 0}
