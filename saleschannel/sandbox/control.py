"""The sandbox's control API under ``/_sandbox/``: JSON in and out, no LWA, for tests, the CLI and the demo.

The SP-API routes are in app.py; the notification controls in notifications.py.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from . import orders as order_rules
from . import reports
from .engine import ControlError, Sandbox
from .timeutil import iso


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers or {},
                    content_type="application/json")


def feed_json(feed: dict[str, Any]) -> dict[str, Any]:
    """A feed as the Feeds API shows it (getFeed, getFeeds)."""
    out = {"feedId": feed["feed_id"], "feedType": feed["feed_type"], "marketplaceIds": feed["marketplace_ids"],
           "createdTime": iso(feed["created_ms"]), "processingStatus": feed["status"]}
    if feed["started_ms"]:
        out["processingStartTime"] = iso(feed["started_ms"])
    if feed["ended_ms"]:
        out["processingEndTime"] = iso(feed["ended_ms"])
    if feed["result_document_id"]:
        out["resultFeedDocumentId"] = feed["result_document_id"]
    return out


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
            ("GET", "/_sandbox/contract", self.get_contract),
            ("DELETE", "/_sandbox/contract", self.clear_contract),
            ("GET", "/_sandbox/reports", self.reports),
            ("PUT", "/_sandbox/report-faults", self.set_report_faults),
            ("GET", "/_sandbox/listings", self.listings),
            ("POST", "/_sandbox/listings", self.set_listings),
            ("GET", "/_sandbox/clock", self.clock),
            ("POST", "/_sandbox/clock", self.advance_clock),
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
                return json_response({"error": str(exc)}, exc.status)
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response(result)

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

    def get_contract(self):
        """Contract mode (``serve --contract-models DIR``): violations and operations seen; else enabled false."""
        recorder = getattr(self.sandbox, "contract", None)
        return recorder.report() if recorder is not None else {"enabled": False}

    def clear_contract(self):
        recorder = getattr(self.sandbox, "contract", None)
        if recorder is not None:
            recorder.clear()
        return self.get_contract()

    def feeds(self):
        self.sandbox.tick()
        out = []
        for feed in self.sandbox.store.feeds():
            item = feed_json(feed)
            document = self.sandbox.store.document(feed["input_document_id"])
            content = document["content"] if document else None
            item["input"] = content.decode("utf-8", "replace") if content is not None else None
            result = self.sandbox.store.document(feed["result_document_id"]) if feed["result_document_id"] else None
            item["report"] = gzip.decompress(result["content"]).decode("utf-8") if result else None
            out.append(item)
        return {"feeds": out}

    # Reports (reports.py) ------------------------------------------------------------------------------------------
    def reports(self):
        return reports.control_reports(self.sandbox)

    def set_report_faults(self):
        return reports.set_faults(self.sandbox, self._body())

    def listings(self):
        return reports.control_listings(self.sandbox, request.args.get("marketplace"))

    def set_listings(self):
        return reports.control_set_listings(self.sandbox, self._body())

    # The clock (timeutil.py) ----------------------------------------------------------------------------------------
    def clock(self):
        return self.sandbox.clock()

    def advance_clock(self):
        """{"seconds": sandbox seconds}: move the clock forward; what became due (Pending → Unshipped, feeds,
        reports, delayed notifications) is done before the answer."""
        try:
            seconds = float(self._body().get("seconds", 0))
        except (TypeError, ValueError):
            raise ControlError("seconds must be a number")
        self.sandbox.advance_clock(seconds)
        reports.advance(self.sandbox)
        return self.sandbox.clock()
