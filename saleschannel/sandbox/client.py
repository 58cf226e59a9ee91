"""A small client of the sandbox's control API (``/_sandbox/``), used by the CLI and by the test helper."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class SandboxControlError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"sandbox answered {status}: {message}")
        self.status = status
        self.message = message


class SandboxClient:
    def __init__(self, url: str, *, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - http(s) URL of the sandbox
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except ValueError:
                message = text
            raise SandboxControlError(exc.code, message) from None

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/_sandbox/health")

    def get_credentials(self) -> dict[str, Any]:
        return self.call("GET", "/_sandbox/credentials")

    def create_orders(self, **spec: Any) -> list[str]:
        """Create orders (see ``generator.new_order`` for the spec): count, seed, marketplace, fulfillment, status,
        lines, items=[{sku, qty, price, tax, shipping, shipping_tax, discount}], prime, business, promotion, gift,
        replacement, created_at, buyer_name, buyer_email, seller_order_id."""
        return self.call("POST", "/_sandbox/orders", spec)["order_ids"]

    def order(self, order_id: str) -> dict[str, Any]:
        return self.call("GET", f"/_sandbox/orders/{urllib.parse.quote(order_id)}")

    def set_status(self, order_id: str, status: str) -> dict[str, Any]:
        return self.call("POST", f"/_sandbox/orders/{urllib.parse.quote(order_id)}/status", {"status": status})

    def buyer_cancel(self, order_id: str, reason: str | None = None) -> dict[str, Any]:
        return self.call("POST", f"/_sandbox/orders/{urllib.parse.quote(order_id)}/buyer-cancel", {"reason": reason})

    def malform(self, order_id: str, path: str, value: Any = None, *, version: str = "2026") -> dict[str, Any]:
        """From now on answers about this order show ``value`` at ``path`` (``None`` removes the field), in the
        rendering ``version`` (2026, v0, v0items); ``path=""`` undoes every malformation of that version."""
        return self.call("POST", f"/_sandbox/orders/{urllib.parse.quote(order_id)}/malform",
                         {"path": path, "value": value, "version": version})

    def amazon_cancel(self, order_id: str, reason: str | None = None) -> dict[str, Any]:
        return self.call("POST", f"/_sandbox/orders/{urllib.parse.quote(order_id)}/cancel", {"reason": reason})

    def ship(self, order_id: str, *, tracking: str | None = None, carrier: str | None = None,
             method: str | None = None) -> dict[str, Any]:
        """Shipped from Seller Central (outside the API)."""
        return self.call("POST", f"/_sandbox/orders/{urllib.parse.quote(order_id)}/ship",
                         {"tracking": tracking, "carrier": carrier, "method": method})

    def set_faults(self, faults: dict[str, dict[str, float]] | None = None, *, timeout_seconds: float | None = None,
                   seed: int | None = None) -> dict[str, Any]:
        """``faults``: {"operationId" or "*": {"429": rate, "500": rate, "503": rate, "timeout": rate,
        "malformed": rate, "drop": rate}}; an empty call clears every fault. "drop": done, then the connection
        closes in the middle of the answer."""
        spec: dict[str, Any] = dict(faults or {})
        if timeout_seconds is not None:
            spec["timeout_seconds"] = timeout_seconds
        if seed is not None:
            spec["seed"] = seed
        return self.call("PUT", "/_sandbox/faults", spec)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """rate_limits, time_scale, pending_delay_seconds, stream_per_minute, feed_processing_seconds,
        token_ttl_seconds, upload_url_ttl_seconds."""
        return self.call("PUT", "/_sandbox/config", settings)

    def config(self) -> dict[str, Any]:
        return self.call("GET", "/_sandbox/config")

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded SP-API/LWA requests: since (id), operation, method, path (prefix), limit."""
        return self.call("GET", "/_sandbox/requests", **filters)["requests"]

    def feeds(self) -> list[dict[str, Any]]:
        """Every feed with its status, input document text and processing report."""
        return self.call("GET", "/_sandbox/feeds")["feeds"]

    # Reports and listings (sandbox/reports.py) ----------------------------------------------------------------
    def reports(self) -> list[dict[str, Any]]:
        """Every report (as getReport shows it), newest first."""
        return self.call("GET", "/_sandbox/reports")["reports"]

    def set_report_faults(self, faults: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
        """{"<reportType>" or "*": {"FATAL": rate}}: the share of new reports of that type that end FATAL; an empty
        call clears them (so does ``reset``)."""
        return self.call("PUT", "/_sandbox/report-faults", dict(faults or {}))

    def listings(self, marketplace: str) -> list[dict[str, Any]]:
        """The seller's listings on a marketplace (code or id), as GET_MERCHANT_LISTINGS_ALL_DATA reports them."""
        return self.call("GET", "/_sandbox/listings", marketplace=marketplace)["listings"]

    def set_listings(self, marketplace: str, listings: list[dict[str, Any]] | None = None, *, replace: bool = False,
                     remove: list[str] | None = None, generate: int = 0, fba_every: int = 0) -> int:
        """Add or change listings by SKU ({sku, title, description, price, quantity, fulfillment_channel (DEFAULT,
        AMAZON_NA/EU/FE, or FBA/FBM), status, asin, open_date}); ``replace`` drops the others first (``replace``
        alone empties the marketplace); ``remove`` drops SKUs; ``generate`` adds N listings GEN-0000001… (one in
        ``fba_every`` fulfilled by Amazon). Returns the marketplace's listing count."""
        return self.call("POST", "/_sandbox/listings", {"marketplace": marketplace, "listings": listings or [],
                                                        "replace": replace, "remove": remove or [],
                                                        "generate": generate, "fba_every": fba_every})["count"]

    def contract(self) -> dict[str, Any]:
        """Contract mode (``serve --contract-models DIR``): {"enabled", "checked", "operations" (operation key →
        count since the last clear), "operations_total" (since start), "violations" [{direction, operation, method,
        path, parameter, rule, message, text, query}]}; ``{"enabled": false}`` otherwise."""
        return self.call("GET", "/_sandbox/contract")

    def clear_contract(self) -> dict[str, Any]:
        """Forget the contract violations and the operations seen (not the since-start totals)."""
        return self.call("DELETE", "/_sandbox/contract")

    def notifications(self, *, order_id: str | None = None, state: str | None = None, limit: int = 1000
                      ) -> dict[str, Any]:
        """ORDER_CHANGE notifications the sandbox made: {"faults", "sqs_endpoint", "application_id", "counts"
        (state → number), "messages" [{seq, notification_id, subscription_id, destination_id, arn, seller_id,
        order_id, change_type, order_status, event_ms, due_ms, state (pending, held, sent, lost, failed), copies,
        fault, held_until_ms, attempts, sent_ms, error}]}."""
        return self.call("GET", "/_sandbox/notifications", order_id=order_id, state=state, limit=limit)

    def set_notification_faults(self, **spec: Any) -> dict[str, Any]:
        """Delivery faults: loss, duplicate, reorder, delay (rates 0-1), delay_seconds, reorder_hold_seconds
        (sandbox seconds), seed; no argument clears them."""
        return self.call("PUT", "/_sandbox/notifications/faults", spec)

    def deliver_notifications(self) -> int:
        """Send the notifications due now (the sandbox does it by itself within ~50 ms)."""
        return self.call("POST", "/_sandbox/notifications/deliver", {})["handled"]

    # The clock (timeutil.py) ------------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        """The sandbox's time: {"now_ms", "now" (ISO 8601), "offset_ms" (ahead of real time)}."""
        return self.call("GET", "/_sandbox/clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox's clock ``seconds`` sandbox seconds forward (scaled: at ``time_scale`` 600, 600 seconds
        are one real second); what became due (payments verified, feeds and reports processed, delayed
        notifications) is done before it returns. Returns ``clock()``."""
        return self.call("POST", "/_sandbox/clock", {"seconds": seconds})

    def wait_until(self, condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02,
                   message: str = "the sandbox's condition") -> Any:
        """Poll ``condition`` until it returns something true (returned), for events that happen on a thread of the
        sandbox (e.g. a notification sent to SQS); raise TimeoutError after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{message} did not happen within {timeout} s")
            time.sleep(interval)  # a poll of an event on another thread, bounded by the deadline

    def reset(self) -> None:
        """Forget orders, feeds and requests; settings back to the start-up ones; no faults."""
        self.call("POST", "/_sandbox/reset")

    def access_token(self) -> str:
        """An LWA access token for the sandbox seller (refresh_token grant)."""
        creds = self.get_credentials()
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": creds["refresh_token"],
                                       "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
        req = urllib.request.Request(self.token_url, data=form.encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())["access_token"]


def format_contract_violations(report: dict[str, Any], limit: int = 30) -> str:
    """Readable lines for a ``SandboxClient.contract()`` report (what the test fixtures show on a violation)."""
    rows = report.get("violations") or []
    lines = [f"{len(rows)} request-contract violation(s) against Amazon's models ({report.get('models')}):"]
    for row in rows[:limit]:
        lines.append(f"  - {row['text']}")
        if row.get("query"):
            lines.append(f"      query: {row['query'][:300]}")
    more = len(rows) - min(limit, len(rows)) + (report.get("dropped") or 0)
    if more:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)
