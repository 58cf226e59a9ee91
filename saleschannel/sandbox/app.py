"""The sandbox's HTTP face: LWA, the SP-API routes (Orders 2026-01-01 and v0, Tokens, Feeds), pre-signed document
URLs, and the control API under ``/_sandbox/``."""

from __future__ import annotations

import gzip
import json
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from . import orders as order_rules
from . import render
from .engine import ApiError, ControlError, Sandbox, decode_token, encode_token, new_document_id
from .generator import STATUS_FROM_2026, V0_STATUSES
from .limits import USAGE_PLANS
from .orders import OrderError
from .timeutil import iso, now_ms, parse_iso

log = logging.getLogger("saleschannel.sandbox")

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
MAX_RECORDED_BODY = 100_000
TOKEN_LIFETIME_SECONDS = 86_400  # pagination tokens


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

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_found(exc):
        status = getattr(exc, "code", 404)
        if request.path.startswith("/_sandbox"):
            return _json({"error": "not found" if status == 404 else "method not allowed"}, status)
        error = ApiError(status, "NotFound" if status == 404 else "MethodNotAllowed",
                         "Resource not found" if status == 404 else "Method not allowed")
        response = _json(error.body(), status, {"x-amzn-RequestId": str(uuid.uuid4())})
        api.record(None, status, None, str(uuid.uuid4()))
        return response

    return app


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    content_type="application/json")


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
                seller_id, grants = sandbox.authenticate(request.headers.get("x-amz-access-token"), request.method,
                                                         request.path)
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
            self.record(operation, status, fault, request_id)
            return Response(text, status=status, headers=headers,
                            content_type="application/json" if text else None)

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

    def _window(self, after_name: str, before_name: str, after_raw: int | None, before_raw: int | None
                ) -> tuple[int, int]:
        """The 2-minute rule: a window end must be at least 2 minutes (scaled) before now; it defaults to that."""
        latest = now_ms() - self.sandbox.scaled_ms(120)
        if before_raw is None:
            before = latest
        elif before_raw > latest:
            raise ApiError(400, "InvalidInput", f"{before_name} must be at least two minutes before the time of the "
                                                "request.")
        else:
            before = before_raw
        if after_raw > before:
            raise ApiError(400, "InvalidInput", f"{after_name} must be before {before_name} "
                                                f"({iso(before)}).")
        return after_raw, before

    # ---- LWA and pre-signed documents ------------------------------------------------------------------------
    def lwa(self):
        request_id = str(uuid.uuid4())
        form = dict(request.form) if request.form else {}
        if not form and request.is_json:
            form = {k: str(v) for k, v in (request.get_json(silent=True) or {}).items()}
        status, body = self.sandbox.lwa_token(form)
        masked = {k: ("***" if k in ("client_secret", "refresh_token") else v) for k, v in form.items()}
        self.record("lwaToken", status, None, request_id, body=json.dumps(masked))
        return _json(body, status, {"x-amzn-RequestId": request_id})

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
        token_text = request.args.get("paginationToken")
        if token_text:
            state = decode_token(token_text)
            if state.get("s") != seller_id or state.get("v") != "2026":
                raise ApiError(400, "InvalidInput", "Invalid pagination token.")
            if state["e"] < now_ms():
                raise ApiError(400, "InvalidInput", "The pagination token has expired.")
        else:
            created_after = _date_arg("createdAfter")
            updated_after = _date_arg("lastUpdatedAfter")
            created_before = _date_arg("createdBefore")
            updated_before = _date_arg("lastUpdatedBefore")
            if (created_after is None) == (updated_after is None):
                raise ApiError(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter must be "
                                                    "provided.")
            if created_after is not None and updated_before is not None:
                raise ApiError(400, "InvalidInput", "lastUpdatedBefore cannot be provided with createdAfter.")
            if updated_after is not None and created_before is not None:
                raise ApiError(400, "InvalidInput", "createdBefore cannot be provided with lastUpdatedAfter.")
            if created_after is not None:
                column, names = "created_ms", ("createdAfter", "createdBefore")
                after, before = self._window(*names, created_after, created_before)
            else:
                column, names = "updated_ms", ("lastUpdatedAfter", "lastUpdatedBefore")
                after, before = self._window(*names, updated_after, updated_before)
            statuses = _list_arg("fulfillmentStatuses")
            _check_enum("fulfillmentStatuses", statuses, STATUS_FROM_2026)
            marketplace_ids = self._marketplaces(_list_arg("marketplaceIds"))
            if len(marketplace_ids) > 50:
                raise ApiError(400, "InvalidInput", "At most 50 marketplaceIds are allowed.")
            fulfilled_by = _list_arg("fulfilledBy")
            _check_enum("fulfilledBy", fulfilled_by, ("MERCHANT", "AMAZON"))
            included = _list_arg("includedData")
            _check_enum("includedData", included, render.INCLUDED_DATA)
            state = {"v": "2026", "s": seller_id, "c": column, "a": after, "b": before,
                     "st": [STATUS_FROM_2026[s] for s in statuses], "m": marketplace_ids,
                     "f": ["AFN" if f == "AMAZON" else "MFN" for f in fulfilled_by], "i": included,
                     "n": _int_arg("maxResultsPerPage", 100, 1, 100), "k": None,
                     "e": now_ms() + self.sandbox.scaled_ms(TOKEN_LIFETIME_SECONDS)}
            if "Unshipped" in state["st"]:
                state["st"].append("InvoiceUnconfirmed")  # shown as UNSHIPPED in this version
        self.sandbox.tick()
        docs = self.sandbox.store.search_orders(
            seller_id=seller_id, time_column=state["c"], after=state["a"], before=state["b"], statuses=state["st"],
            marketplace_ids=state["m"], channels=state["f"], limit=state["n"] + 1,
            cursor=tuple(state["k"]) if state["k"] else None)
        included = set(state["i"])
        body: dict[str, Any] = {"orders": [render.order_2026(d, included) for d in docs[: state["n"]]]}
        if len(docs) > state["n"]:
            last = docs[state["n"] - 1]
            key = last["lastUpdatedMs"] if state["c"] == "updated_ms" else last["createdMs"]
            body["pagination"] = {"nextToken": encode_token({**state, "k": [key, last["orderId"]]})}
        body["lastUpdatedBefore" if state["c"] == "updated_ms" else "createdBefore"] = iso(state["b"])
        return 200, body

    def get_order_2026(self, *, seller_id: str, grants, order_id: str):
        included = _list_arg("includedData")
        _check_enum("includedData", included, render.INCLUDED_DATA)
        return 200, {"order": render.order_2026(self._order(order_id, seller_id), set(included))}

    # ---- Orders v0 ---------------------------------------------------------------------------------------------
    def get_orders_v0(self, *, seller_id: str, grants, **_):
        token_text = request.args.get("NextToken")
        if token_text:
            state = decode_token(token_text)
            if state.get("s") != seller_id or state.get("v") != "v0":
                raise ApiError(400, "InvalidInput", "Invalid NextToken.")
            if state["e"] < now_ms():
                raise ApiError(400, "InvalidInput", "The NextToken has expired.")
        else:
            marketplace_ids = self._marketplaces(_list_arg("MarketplaceIds"))
            if not marketplace_ids:
                raise ApiError(400, "InvalidInput", "MarketplaceIds is required.")
            if len(marketplace_ids) > 50:
                raise ApiError(400, "InvalidInput", "At most 50 MarketplaceIds are allowed.")
            order_ids = _list_arg("AmazonOrderIds")
            created_after = _date_arg("CreatedAfter")
            updated_after = _date_arg("LastUpdatedAfter")
            if order_ids:
                column, after, before = "created_ms", 0, now_ms()
            else:
                if (created_after is None) == (updated_after is None):
                    raise ApiError(400, "InvalidInput", "Exactly one of CreatedAfter and LastUpdatedAfter must be "
                                                        "provided.")
                if created_after is not None:
                    if request.args.get("LastUpdatedBefore"):
                        raise ApiError(400, "InvalidInput", "LastUpdatedBefore cannot be provided with CreatedAfter.")
                    column = "created_ms"
                    after, before = self._window("CreatedAfter", "CreatedBefore", created_after,
                                                 _date_arg("CreatedBefore"))
                else:
                    if request.args.get("CreatedBefore"):
                        raise ApiError(400, "InvalidInput", "CreatedBefore cannot be provided with LastUpdatedAfter.")
                    column = "updated_ms"
                    after, before = self._window("LastUpdatedAfter", "LastUpdatedBefore", updated_after,
                                                 _date_arg("LastUpdatedBefore"))
            statuses = _list_arg("OrderStatuses")
            _check_enum("OrderStatuses", statuses, V0_STATUSES)
            channels = _list_arg("FulfillmentChannels")
            _check_enum("FulfillmentChannels", channels, ("MFN", "AFN"))
            state = {"v": "v0", "s": seller_id, "c": column, "a": after, "b": before, "st": statuses,
                     "m": marketplace_ids, "f": channels, "o": order_ids, "be": request.args.get("BuyerEmail"),
                     "so": request.args.get("SellerOrderId"), "n": _int_arg("MaxResultsPerPage", 100, 1, 100),
                     "k": None, "e": now_ms() + self.sandbox.scaled_ms(TOKEN_LIFETIME_SECONDS)}
        self.sandbox.tick()
        docs = self.sandbox.store.search_orders(
            seller_id=seller_id, time_column=state["c"], after=state["a"], before=state["b"], statuses=state["st"],
            marketplace_ids=state["m"], channels=state["f"], limit=state["n"] + 1,
            cursor=tuple(state["k"]) if state["k"] else None, buyer_email=state["be"], seller_order_id=state["so"],
            order_ids=state["o"])
        elements = grants or set()
        payload: dict[str, Any] = {"Orders": [render.order_v0(d, data_elements=elements) for d in docs[: state["n"]]]}
        if len(docs) > state["n"]:
            last = docs[state["n"] - 1]
            key = last["lastUpdatedMs"] if state["c"] == "updated_ms" else last["createdMs"]
            payload["NextToken"] = encode_token({**state, "k": [key, last["orderId"]]})
        if not state["o"]:
            payload["LastUpdatedBefore" if state["c"] == "updated_ms" else "CreatedBefore"] = iso(state["b"])
        return 200, {"payload": payload}

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
                changed = order_rules.confirm_shipment(doc, body, now_ms(), self.sandbox.rng)
            except OrderError as exc:
                raise ApiError(exc.status, exc.code, exc.message, exc.details)
            if changed:
                self.sandbox.store.save_order(doc)
        return 204, None

    # ---- Tokens ------------------------------------------------------------------------------------------------
    def create_rdt(self, *, seller_id: str, grants, **_):
        return 200, self.sandbox.create_rdt(seller_id, self._body())

    # ---- Feeds -------------------------------------------------------------------------------------------------
    def create_feed_document(self, *, seller_id: str, grants, **_):
        body = self._body()
        if not isinstance(body, dict) or not isinstance(body.get("contentType"), str) or not body["contentType"]:
            raise ApiError(400, "InvalidInput", "contentType is required.")
        document_id = new_document_id()
        self.sandbox.store.add_document(document_id, seller_id=seller_id, kind="input",
                                        content_type=body["contentType"], now=now_ms())
        return 201, {"feedDocumentId": document_id, "url": self.sandbox.presigned_url(document_id, "PUT")}

    def get_feed_document(self, *, seller_id: str, grants, document_id: str):
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
        for field in ("feedType", "marketplaceIds", "inputFeedDocumentId"):
            if not body.get(field):
                raise ApiError(400, "InvalidInput", f"{field} is required.")
        marketplace_ids = body["marketplaceIds"]
        if not isinstance(marketplace_ids, list) or not 1 <= len(marketplace_ids) <= 25:
            raise ApiError(400, "InvalidInput", "marketplaceIds must list 1 to 25 marketplace ids.")
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

    @staticmethod
    def _feed_json(feed: dict[str, Any]) -> dict[str, Any]:
        out = {"feedId": feed["feed_id"], "feedType": feed["feed_type"], "marketplaceIds": feed["marketplace_ids"],
               "createdTime": iso(feed["created_ms"]), "processingStatus": feed["status"]}
        if feed["started_ms"]:
            out["processingStartTime"] = iso(feed["started_ms"])
        if feed["ended_ms"]:
            out["processingEndTime"] = iso(feed["ended_ms"])
        if feed["result_document_id"]:
            out["resultFeedDocumentId"] = feed["result_document_id"]
        return out

    def _feed(self, feed_id: str, seller_id: str) -> dict[str, Any]:
        self.sandbox.tick()
        feed = self.sandbox.store.feed(feed_id)
        if feed is None or feed["seller_id"] != seller_id:
            raise ApiError(404, "NotFound", f"Feed {feed_id} was not found.")
        return feed

    def get_feed(self, *, seller_id: str, grants, feed_id: str):
        return 200, self._feed_json(self._feed(feed_id, seller_id))

    def cancel_feed(self, *, seller_id: str, grants, feed_id: str):
        feed = self._feed(feed_id, seller_id)
        if feed["status"] != "IN_QUEUE":
            raise ApiError(400, "InvalidInput", f"The feed cannot be cancelled: it is {feed['status']}.")
        self.sandbox.store.update_feed(feed_id, status="CANCELLED", ended_ms=now_ms())
        return 200, None

    def get_feeds(self, *, seller_id: str, grants, **_):
        token_text = request.args.get("nextToken")
        if token_text:
            state = decode_token(token_text)
            if state.get("s") != seller_id or state.get("v") != "feeds":
                raise ApiError(400, "InvalidInput", "Invalid nextToken.")
        else:
            feed_types = _list_arg("feedTypes")
            if not feed_types:
                raise ApiError(400, "InvalidInput", "feedTypes is required when nextToken is not provided.")
            if len(feed_types) > 10:
                raise ApiError(400, "InvalidInput", "At most 10 feedTypes are allowed.")
            statuses = _list_arg("processingStatuses")
            _check_enum("processingStatuses", statuses, ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"))
            since = _date_arg("createdSince")
            until = _date_arg("createdUntil")
            now = now_ms()
            state = {"v": "feeds", "s": seller_id, "t": feed_types, "st": statuses,
                     "m": _list_arg("marketplaceIds"), "a": since if since is not None else now - 90 * 86_400_000,
                     "b": until if until is not None else now, "n": _int_arg("pageSize", 10, 1, 100), "o": 0}
        self.sandbox.tick()
        matching = [f for f in self.sandbox.store.feeds(seller_id=seller_id, statuses=state["st"] or None)
                    if f["feed_type"] in state["t"] and state["a"] <= f["created_ms"] <= state["b"]
                    and (not state["m"] or set(state["m"]) & set(f["marketplace_ids"]))]
        page = matching[state["o"]: state["o"] + state["n"]]
        body: dict[str, Any] = {"feeds": [self._feed_json(f) for f in page]}
        if len(matching) > state["o"] + state["n"]:
            body["nextToken"] = encode_token({**state, "o": state["o"] + state["n"]})
        return 200, body


class Control:
    """``/_sandbox/``: JSON in and out, no LWA, for tests, the CLI and the demo."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def register(self, app: Flask) -> None:
        routes = [
            ("GET", "/_sandbox/health", self.health),
            ("GET", "/_sandbox/credentials", self.credentials),
            ("GET", "/_sandbox/orders", self.list_orders),
            ("POST", "/_sandbox/orders", self.create_orders),
            ("GET", "/_sandbox/orders/<order_id>", self.get_order),
            ("POST", "/_sandbox/orders/<order_id>/<action>", self.order_action),
            ("GET", "/_sandbox/faults", self.get_faults),
            ("PUT", "/_sandbox/faults", self.set_faults),
            ("GET", "/_sandbox/config", self.get_config),
            ("PUT", "/_sandbox/config", self.set_config),
            ("POST", "/_sandbox/reset", self.reset),
            ("GET", "/_sandbox/requests", self.requests),
            ("GET", "/_sandbox/feeds", self.feeds),
        ]
        for method, rule, handler in routes:
            app.add_url_rule(rule, endpoint=f"control_{handler.__name__}_{method}", view_func=self._wrap(handler),
                             methods=[method])

    @staticmethod
    def _wrap(handler: Callable) -> Callable:
        def view(**kwargs):
            try:
                result = handler(**kwargs)
            except ControlError as exc:
                return _json({"error": str(exc)}, exc.status)
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
            return _json(result)

        view.__name__ = handler.__name__
        return view

    @staticmethod
    def _body() -> dict[str, Any]:
        data = request.get_json(silent=True, force=True)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ControlError("expected a JSON object")
        return data

    def health(self):
        return {"ok": True, "url": self.sandbox.url}

    def credentials(self):
        return self.sandbox.public_credentials()

    def list_orders(self):
        limit = int(request.args.get("limit", 1000))
        return {"count": self.sandbox.store.count_orders(), "order_ids": self.sandbox.store.order_ids(limit)}

    def create_orders(self):
        return {"order_ids": self.sandbox.create_orders(self._body())}

    def get_order(self, order_id: str):
        return order_rules.summary(self.sandbox.order(order_id))

    def order_action(self, order_id: str, action: str):
        return order_rules.summary(self.sandbox.change_order(order_id, action, self._body()))

    def get_faults(self):
        return self.sandbox.faults.spec

    def set_faults(self):
        spec = self._body()
        self.sandbox.faults.set(spec)
        self.sandbox.store.set_meta("faults", spec)
        return self.sandbox.faults.spec

    def get_config(self):
        return self.sandbox.settings.as_dict()

    def set_config(self):
        self.sandbox.settings.update(self._body())
        self.sandbox.store.set_meta("settings", self.sandbox.settings.as_dict())
        return self.sandbox.settings.as_dict()

    def reset(self):
        self.sandbox.reset()
        return {"ok": True}

    def requests(self):
        args = request.args
        return {"requests": self.sandbox.store.requests(
            since=int(args.get("since", 0)), operation=args.get("operation"), method=args.get("method"),
            path=args.get("path"), limit=int(args.get("limit", 1000)))}

    def feeds(self):
        self.sandbox.tick()
        out = []
        for feed in self.sandbox.store.feeds():
            item = SpApi._feed_json(feed)
            document = self.sandbox.store.document(feed["input_document_id"])
            content = document["content"] if document else None
            item["input"] = content.decode("utf-8", "replace") if content is not None else None
            result = self.sandbox.store.document(feed["result_document_id"]) if feed["result_document_id"] else None
            item["report"] = gzip.decompress(result["content"]).decode("utf-8") if result else None
            out.append(item)
        return {"feeds": out}
