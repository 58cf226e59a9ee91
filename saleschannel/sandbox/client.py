"""A small client of the sandbox's control API (``/_sandbox/``), used by the CLI and by the test helper."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
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
        "malformed": rate}}; an empty call clears every fault."""
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
