"""The sandbox's state and rules, independent of HTTP: orders, tokens, feeds, settings, faults, the clock tick."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import random
import secrets
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import feeds, generator, orders
from .delivery import Notifier
from .limits import Faults, RateLimiter
from .settings import SandboxSettings
from .store import Store
from .timeutil import advance_ms, now_ms, offset_ms, parse_iso, reset_clock

LWA_SCOPES = {"sellingpartnerapi::notifications", "sellingpartnerapi::migration",
              "sellingpartnerapi::client_credential:rotation"}
MAX_BULK_ORDERS = 100_000


class ApiError(Exception):
    """An SP-API error response: ``{"errors": [{"code", "message", "details"}]}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"errors": [error]}


class ControlError(ValueError):
    """A refused control-API request (HTTP 400, or ``status``)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Sandbox:
    def __init__(self, data_dir: str | Path, *, settings: dict[str, Any] | None = None, url: str = ""):
        self.store = Store(data_dir)
        self.credentials = self.store.credentials()
        self.settings = SandboxSettings()
        self.settings.update(self.store.meta("settings", {}))
        if settings:
            self.settings.update(settings)
        self.store.set_meta("settings", self.settings.as_dict())
        self.baseline = self.settings.as_dict()  # what reset() goes back to
        self.faults = Faults(self.store.meta("faults") or {})
        self.limiter = RateLimiter()
        self.url = url
        self.rng = random.Random()
        self._tick_lock = threading.Lock()
        self._stream_mark = time.monotonic()
        self._stream_carry = 0.0
        self._signing_key = bytes.fromhex(self.credentials["signing_key"])
        # ORDER_CHANGE notifications: hooks into the store, so every order status or buyer change is seen.
        self.notifier = Notifier(self)

    # ---- clock -------------------------------------------------------------------------------------------------
    def scaled_ms(self, sandbox_seconds: float) -> int:
        return int(sandbox_seconds * 1000 / self.settings.time_scale)

    def public_credentials(self) -> dict[str, Any]:
        creds = {k: v for k, v in self.credentials.items() if k != "signing_key"}
        creds["endpoint"] = self.url
        creds["token_url"] = f"{self.url}/auth/o2/token"
        return creds

    # ---- LWA -----------------------------------------------------------------------------------------------------
    def lwa_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def error(status: int, code: str, description: str) -> tuple[int, dict[str, Any]]:
            return status, {"error_description": description, "error": code}

        grant_type = form.get("grant_type")
        if not grant_type:
            return error(400, "invalid_request", "The request is missing a required parameter : grant_type")
        if grant_type not in ("refresh_token", "client_credentials"):
            return error(400, "unsupported_grant_type", "Invalid grant_type parameter value")
        for name in ("client_id", "client_secret"):
            if not form.get(name):
                return error(400, "invalid_request", f"The request is missing a required parameter : {name}")
        if not (hmac.compare_digest(form["client_id"], self.credentials["client_id"])
                and hmac.compare_digest(form["client_secret"], self.credentials["client_secret"])):
            return error(401, "invalid_client", "Client authentication failed")
        ttl_ms = self.scaled_ms(self.settings.token_ttl_seconds)
        token = "Atza|" + secrets.token_urlsafe(96)
        if grant_type == "refresh_token":
            if not form.get("refresh_token"):
                return error(400, "invalid_request", "The request is missing a required parameter : refresh_token")
            if not hmac.compare_digest(form["refresh_token"], self.credentials["refresh_token"]):
                return error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
            self.store.add_token(token, kind="access", seller_id=self.credentials["seller_id"],
                                 expires_ms=now_ms() + ttl_ms)
            return 200, {"access_token": token, "refresh_token": self.credentials["refresh_token"],
                         "token_type": "bearer", "expires_in": max(1, ttl_ms // 1000)}
        scope = form.get("scope")
        if not scope:
            return error(400, "invalid_request", "The request is missing a required parameter : scope")
        if scope not in LWA_SCOPES:
            return error(400, "invalid_scope", "The request has an invalid parameter : scope")
        self.store.add_token(token, kind="grantless", seller_id=None, expires_ms=now_ms() + ttl_ms, scope=scope)
        return 200, {"access_token": token, "scope": scope, "token_type": "bearer",
                     "expires_in": max(1, ttl_ms // 1000)}

    def authenticate(self, token: str | None, method: str, path: str) -> tuple[str, set[str] | None]:
        """Check ``x-amz-access-token``. Returns (seller id, the data elements a restricted data token grants, or
        None for a plain access token)."""
        denied = "Access to requested resource is denied."
        if not token:
            raise ApiError(403, "Unauthorized", denied, "The access token is missing.")
        record = self.store.token(token)
        if record is None or record["kind"] == "grantless":
            raise ApiError(403, "Unauthorized", denied, "The access token you provided is revoked, malformed or "
                                                        "invalid.")
        if record["expires_ms"] <= now_ms():
            raise ApiError(403, "Unauthorized", denied, "The access token you provided has expired.")
        if record["kind"] == "access":
            return record["seller_id"], None
        for resource in record["scope"]:
            if resource["method"] == method and _path_matches(resource["path"], path):
                return record["seller_id"], set(resource.get("dataElements") or ())
        raise ApiError(403, "Unauthorized", denied, "The restricted data token does not grant access to this "
                                                    "resource.")

    def create_rdt(self, seller_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("restrictedResources"), list) \
                or not body["restrictedResources"]:
            raise ApiError(400, "InvalidInput", "restrictedResources is required and must be a non-empty list.")
        resources = []
        for resource in body["restrictedResources"]:
            if not isinstance(resource, dict) or resource.get("method") not in ("GET", "PUT", "POST", "DELETE") \
                    or not isinstance(resource.get("path"), str):
                raise ApiError(400, "InvalidInput", "Each restricted resource needs a method (GET, PUT, POST, DELETE) "
                                                    "and a path.")
            path = resource["path"]
            kind = _restricted_kind(path)
            if kind is None or resource["method"] != "GET":
                raise ApiError(400, "InvalidInput", f"{resource['method']} {path} is not a restricted operation.")
            elements = resource.get("dataElements") or []
            if kind in ("orders", "order", "items"):
                allowed = {"buyerInfo", "shippingAddress", "buyerTaxInformation"} if kind != "items" else {"buyerInfo"}
                if not elements or not set(elements) <= allowed:
                    raise ApiError(400, "InvalidInput", f"dataElements for {path} must be a non-empty subset of "
                                                        f"{sorted(allowed)}.")
            elif elements:
                raise ApiError(400, "InvalidInput", f"dataElements are not supported for {path}.")
            resources.append({"method": "GET", "path": path,
                              "dataElements": list(elements) or ["buyerInfo", "shippingAddress"]})
        ttl_ms = self.scaled_ms(3600)
        token = "Atz.sprdt|" + secrets.token_urlsafe(96)
        self.store.add_token(token, kind="rdt", seller_id=seller_id, expires_ms=now_ms() + ttl_ms, scope=resources)
        return {"restrictedDataToken": token, "expiresIn": max(1, ttl_ms // 1000)}

    # ---- orders ------------------------------------------------------------------------------------------------
    def create_orders(self, spec: dict[str, Any]) -> list[str]:
        if not isinstance(spec, dict):
            raise ControlError("the order spec must be a JSON object")
        try:
            count = int(spec.get("count", 1))
        except (TypeError, ValueError):
            raise ControlError("count must be an integer")
        if not 1 <= count <= MAX_BULK_ORDERS:
            raise ControlError(f"count must be between 1 and {MAX_BULK_ORDERS}")
        seed = spec.get("seed")
        rng = random.Random(seed if seed is not None else self.rng.randrange(2**63))
        try:
            status = generator.normalize_status(spec.get("status") or "Pending")
        except generator.SpecError as exc:
            raise ControlError(str(exc))
        now = now_ms()
        created = now
        if spec.get("created_at"):
            try:
                created = parse_iso(str(spec["created_at"]))
            except ValueError:
                raise ControlError("created_at must be an ISO 8601 date-time")
        seller_id = self.credentials["seller_id"]

        def build() -> dict[str, Any]:
            try:
                doc = generator.new_order(rng, spec, seller_id=seller_id, created_ms=created)
            except generator.SpecError as exc:
                raise ControlError(str(exc))
            if status == "Pending":
                doc["pendingUntilMs"] = now + self.scaled_ms(self.settings.pending_delay_seconds)
            else:
                try:
                    orders.set_status(doc, status, created, rng)
                except orders.OrderError as exc:
                    raise ControlError(exc.message)
            # A backdated order still appears now: polling by last update must see it.
            doc["lastUpdatedMs"] = max(doc["lastUpdatedMs"], now)
            return doc

        docs = [build() for _ in range(count)]
        ids = [d["orderId"] for d in docs]
        if len(set(ids)) != len(ids):  # a duplicate inside the batch: redraw it
            seen: set[str] = set()
            for index, doc in enumerate(docs):
                while doc["orderId"] in seen:
                    doc = docs[index] = build()
                seen.add(doc["orderId"])
            ids = [d["orderId"] for d in docs]
        for _ in range(20):
            taken = set(self.store.insert_orders(docs))
            if not taken:
                break
            docs = [build() for d in docs if d["orderId"] in taken]
            ids = [i for i in ids if i not in taken] + [d["orderId"] for d in docs]
        else:
            raise ControlError("could not find free order ids", status=409)
        return ids

    def order(self, order_id: str) -> dict[str, Any]:
        self.tick()
        doc = self.store.order(order_id)
        if doc is None:
            raise ControlError(f"order {order_id} not found", status=404)
        return doc

    def change_order(self, order_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.tick()
        with self.store.write():
            doc = self.store.order(order_id)
            if doc is None:
                raise ControlError(f"order {order_id} not found", status=404)
            now = now_ms()
            try:
                if action == "status":
                    if not payload.get("status"):
                        raise ControlError("status is required")
                    orders.set_status(doc, generator.normalize_status(str(payload["status"])), now, self.rng)
                elif action == "buyer-cancel":
                    orders.buyer_cancel(doc, now, payload.get("reason") or "Changed mind about purchase")
                elif action == "cancel":
                    orders.amazon_cancel(doc, now, payload.get("reason") or "Canceled by Amazon")
                elif action == "malform":
                    orders.malform(doc, now, payload)
                elif action == "ship":
                    orders.seller_central_ship(doc, now, self.rng, carrier=payload.get("carrier") or "UPS",
                                               method=payload.get("method") or "Ground",
                                               tracking=payload.get("tracking"))
                else:
                    raise ControlError(f"unknown action {action}", status=404)
            except (orders.OrderError, generator.SpecError) as exc:
                raise ControlError(getattr(exc, "message", str(exc)), status=409)
            self.store.save_order(doc)
        return doc

    # ---- tick: lifecycle, feeds, stream ---------------------------------------------------------------------
    def tick(self) -> None:
        """Apply what is due: Pending orders whose payment is verified, feed processing, the order stream."""
        if not self._tick_lock.acquire(blocking=False):
            # Another thread is ticking; wait for it so a read after tick() sees the due changes.
            with self._tick_lock:
                return
        try:
            now = now_ms()
            due = self.store.due_order_ids(now)
            if due:
                with self.store.write():
                    for order_id in due:
                        doc = self.store.order(order_id)
                        if doc and doc.get("pendingUntilMs") and doc["pendingUntilMs"] <= now:
                            orders.become_paid(doc, now)
                            doc["pendingUntilMs"] = None
                            self.store.save_order(doc)
            self._tick_feeds(now)
            self._tick_stream()
        finally:
            self._tick_lock.release()

    def advance_clock(self, sandbox_seconds: float) -> dict[str, Any]:
        """Move the clock ``sandbox_seconds`` (scaled like every delay) forward and apply at once what became due.

        Returns the clock (``clock()``)."""
        if sandbox_seconds < 0:
            raise ControlError("seconds must not be negative")
        advance_ms(self.scaled_ms(sandbox_seconds))
        self.tick()
        self.notifier.deliver_due()
        return self.clock()

    def clock(self) -> dict[str, Any]:
        """The sandbox's time: epoch ms, ISO 8601, and its offset from real time (ms)."""
        now = now_ms()
        return {"now_ms": now, "now": datetime.fromtimestamp(now / 1000, tz=UTC).isoformat(),
                "offset_ms": offset_ms()}

    def _tick_stream(self) -> None:
        mark = time.monotonic()
        elapsed, self._stream_mark = mark - self._stream_mark, mark
        rate = self.settings.stream_per_minute
        if rate <= 0:
            self._stream_carry = 0.0
            return
        self._stream_carry += elapsed * self.settings.time_scale / 60 * rate
        count = int(self._stream_carry)
        if count:
            self._stream_carry -= count
            self.create_orders({"count": count})

    def _tick_feeds(self, now: int) -> None:
        half = self.scaled_ms(self.settings.feed_processing_seconds / 2)
        for feed in self.store.feeds(statuses=["IN_QUEUE", "IN_PROGRESS"]):
            if feed["status"] == "IN_QUEUE" and now >= feed["created_ms"] + half:
                self.store.update_feed(feed["feed_id"], status="IN_PROGRESS", started_ms=now)
                feed["status"] = "IN_PROGRESS"
            if feed["status"] == "IN_PROGRESS" and now >= feed["created_ms"] + 2 * half:
                self._process_feed(feed, now)

    def _process_feed(self, feed: dict[str, Any], now: int) -> None:
        with self.store.write():
            current = self.store.feed(feed["feed_id"])
            if current is None or current["status"] != "IN_PROGRESS":
                return
            document = self.store.document(feed["input_document_id"])
            seller_id = feed["seller_id"]
            if document is None or document["content"] is None:
                status = "FATAL"
                report = feeds.report(seller_id, processed=0, successful=0, results=[
                    (0, "Error", feeds.CODE_FATAL, "The feed document was never uploaded.", None)])
            else:
                content = document["content"]
                if content[:2] == b"\x1f\x8b":
                    content = gzip.decompress(content)
                try:
                    status, report = feeds.process(
                        content, feed_type=feed["feed_type"], merchant_id=seller_id,
                        load_order=lambda order_id: self.store.order(order_id, seller_id),
                        save_order=self.store.save_order, now=now, rng=self.rng)
                except Exception as exc:  # a sandbox bug must not leave the feed IN_PROGRESS forever
                    traceback.print_exc(file=sys.stderr)
                    status = "FATAL"
                    report = feeds.report(seller_id, processed=0, successful=0, results=[
                        (0, "Error", feeds.CODE_FATAL, f"Internal error while processing the feed: {exc!r}", None)])
            result_id = new_document_id()
            self.store.add_document(result_id, seller_id=seller_id, kind="result", content_type="text/xml",
                                    now=now, content=gzip.compress(report), compression="GZIP")
            self.store.update_feed(feed["feed_id"], status=status, ended_ms=now, result_document_id=result_id)

    # ---- feed documents ----------------------------------------------------------------------------------------
    def presigned_url(self, document_id: str, method: str) -> str:
        stamp = datetime.fromtimestamp(now_ms() / 1000, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        expires = str(self.settings.upload_url_ttl_seconds)
        signature = self._sign(method, document_id, stamp, expires)
        return (f"{self.url}/_s3/documents/{document_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}"
                f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}")

    def _sign(self, method: str, document_id: str, stamp: str, expires: str) -> str:
        message = f"{method}\n{document_id}\n{stamp}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def check_presigned(self, method: str, document_id: str, args: dict[str, str]) -> str | None:
        """None when the pre-signed URL is valid, else the S3-style reason."""
        stamp, expires, signature = (args.get(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
        if not hmac.compare_digest(self._sign(method, document_id, stamp, expires), signature):
            return "The request signature we calculated does not match the signature you provided."
        issued = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp() * 1000
        if now_ms() > issued + self.scaled_ms(float(expires)) + 1000:  # stamp has whole seconds
            return "Request has expired"
        return None

    def reset(self) -> None:
        self.store.reset()
        reset_clock()
        self.settings = SandboxSettings(**self.baseline)
        self.store.set_meta("settings", self.settings.as_dict())
        self.faults.set({})
        self.store.set_meta("faults", {})
        self.limiter.reset()
        self.notifier.reset()


def new_document_id() -> str:
    return f"amzn1.tortuga.4.na.{uuid.uuid4()}.T{secrets.randbelow(10**12):012d}"


TOKEN_PREFIX = "SBX+"  # noqa: S105 - a format marker, not a secret


def encode_token(data: dict[str, Any]) -> str:
    # Standard base64 behind a prefix with a '+': a client that forgets to URL-encode the token sends a space
    # instead and gets an error, as with Amazon's tokens.
    return TOKEN_PREFIX + base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    if not token.startswith(TOKEN_PREFIX):
        raise ApiError(400, "InvalidInput", "Invalid pagination token (was it URL-encoded?).")
    try:
        data = json.loads(base64.b64decode(token[len(TOKEN_PREFIX):].encode(), validate=True))
    except Exception:
        raise ApiError(400, "InvalidInput", "Invalid pagination token.")
    if not isinstance(data, dict):
        raise ApiError(400, "InvalidInput", "Invalid pagination token.")
    return data


_RESTRICTED = [
    ("orders", ["orders", "v0", "orders"]),
    ("order", ["orders", "v0", "orders", "*"]),
    ("address", ["orders", "v0", "orders", "*", "address"]),
    ("buyer", ["orders", "v0", "orders", "*", "buyerInfo"]),
    ("items", ["orders", "v0", "orders", "*", "orderItems"]),
    ("itemsBuyer", ["orders", "v0", "orders", "*", "orderItems", "buyerInfo"]),
]


def _restricted_kind(path: str) -> str | None:
    parts = path.strip("/").split("/")
    for kind, pattern in _RESTRICTED:
        if len(parts) == len(pattern) and all(p == "*" or p == s for p, s in zip(pattern, parts, strict=True)):
            return kind
    return None


def _path_matches(granted: str, path: str) -> bool:
    """A granted path matches literally, or with ``{orderId}``-style placeholders standing for one segment."""
    a, b = granted.strip("/").split("/"), path.strip("/").split("/")
    return len(a) == len(b) and all(x == y or (x.startswith("{") and x.endswith("}")) for x, y in
                                    zip(a, b, strict=True))
