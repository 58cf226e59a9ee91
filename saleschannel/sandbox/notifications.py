"""Notifications API v1 in the sandbox, and delivery of ``ORDER_CHANGE`` notifications to a real SQS queue.

The API (``notifications.json``):

* destinations are **grantless**: createDestination, getDestinations, getDestination, deleteDestination take an
  access token of the LWA ``client_credentials`` grant with scope ``sellingpartnerapi::notifications``; a seller's
  token is refused (403), as a grantless token is refused by the seller operations;
* createSubscription and getSubscription act for the seller (seller token; a grantless token is refused);
* getSubscriptionById and deleteSubscriptionById: the model calls them grantless, python-amazon-sp-api (our
  gateway's library) sends the seller's token and Amazon has answered both: the sandbox takes either (a grantless
  token sees every subscription of the application, a seller token only the seller's own).

Rules: every input rule of the model (required fields, types, enums, lengths, the ARN pattern, eventFilter and
filterExpression mutually exclusive, eventFilterType matching the notification type), one subscription per seller,
notification type and payload version (Amazon: 409 ``StateConflict``, "Subscription already exist for notification
type ..."), one destination per queue ARN (409 ``Conflict``), a destination with subscriptions cannot be deleted.

Delivery: every order insert or update goes through :meth:`Notifier.order_changed` (a hook of the store, inside the
order's own transaction). A status change (new order, Pending → Unshipped, shipped, canceled...) makes an
``OrderStatusChange``, a new buyer cancellation request a ``BuyerRequestedChange``, for each subscription of the
order's seller whose eventFilter lets it through (marketplaceIds, orderChangeTypes). Messages are kept in the
store (``nt_messages``) and a thread sends them with boto3 to the destination's queue through the SQS endpoint
(``serve --sqs-endpoint URL``, e.g. moto in server mode). Faults (``PUT /_sandbox/notifications/faults``), drawn
from one seeded generator when the message is made: ``loss`` (never sent), ``duplicate`` (sent twice, same
NotificationId), ``delay`` with ``delay_seconds`` (sandbox seconds, scaled), ``reorder`` (held back and released
just after a later message to the same destination, or after ``reorder_hold_seconds``).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .sqs import SqsError, SqsSender, parse_arn
from .timeutil import iso, now_ms

if TYPE_CHECKING:
    from flask import Flask

    from .engine import Sandbox

SCOPE = "sellingpartnerapi::notifications"
# Operations (sandbox names = Amazon's operationIds) and who may call them.
GRANTLESS = frozenset({"createDestination", "getDestinations", "getDestination", "deleteDestination"})
EITHER = frozenset({"getSubscriptionById", "deleteSubscriptionById"})
SELLER = frozenset({"createSubscription", "getSubscription"})
OPERATIONS = GRANTLESS | EITHER | SELLER
# notificationType → the payload versions the sandbox delivers.
NOTIFICATION_TYPES = {"ORDER_CHANGE": ("1.0",)}
EVENT_FILTER_TYPES = ("ANY_OFFER_CHANGED", "ORDER_CHANGE", "SHIPMENT_TRACKING_MILESTONE_CHANGED")
ORDER_CHANGE_TYPES = ("BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange")
AGGREGATION_PERIODS = ("FiveMinutes", "TenMinutes")
MAX_ATTEMPTS = 5
KEEP_MESSAGES_MS = 86_400_000  # records of handled messages (sent, lost, failed) are kept a day
DELIVERY_POLL_SECONDS = 0.05
REORDER_HOLD_SECONDS = 60.0  # sandbox seconds a reordered message waits at most for a later one

SCHEMA = """
CREATE TABLE IF NOT EXISTS nt_destinations (
    destination_id TEXT PRIMARY KEY, name TEXT NOT NULL, arn TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nt_subscriptions (
    subscription_id TEXT PRIMARY KEY, seller_id TEXT NOT NULL, notification_type TEXT NOT NULL,
    payload_version TEXT NOT NULL, destination_id TEXT NOT NULL, directive TEXT, created_ms INTEGER NOT NULL,
    UNIQUE (seller_id, notification_type, payload_version)
);
CREATE TABLE IF NOT EXISTS nt_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, notification_id TEXT NOT NULL, subscription_id TEXT NOT NULL,
    destination_id TEXT NOT NULL, arn TEXT NOT NULL, seller_id TEXT NOT NULL, order_id TEXT NOT NULL,
    change_type TEXT NOT NULL, order_status TEXT NOT NULL, event_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL,
    state TEXT NOT NULL, copies INTEGER NOT NULL, fault TEXT, held_until_ms INTEGER, attempts INTEGER NOT NULL,
    sent_ms INTEGER, error TEXT, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nt_messages_state ON nt_messages (state, due_ms);
"""
MESSAGE_KEYS = ("seq", "notification_id", "subscription_id", "destination_id", "arn", "seller_id", "order_id",
                "change_type", "order_status", "event_ms", "due_ms", "state", "copies", "fault", "held_until_ms",
                "attempts", "sent_ms", "error")


class NotificationError(Exception):
    """An SP-API error (mirrors engine.ApiError, which app.py turns into Amazon's error body)."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _api_error(exc: NotificationError):
    from .engine import ApiError

    return ApiError(exc.status, exc.code, exc.message, exc.details)


def _invalid(message: str) -> NotificationError:
    return NotificationError(400, "InvalidInput", message)


# ---- authentication -------------------------------------------------------------------------------------------

def authenticate(sandbox: Sandbox, operation: str, token: str | None, method: str, path: str
                 ) -> tuple[str | None, set[str] | None]:
    """(seller id, grants) for a Notifications operation; seller id None means the application (grantless)."""
    from .engine import ApiError

    denied = "Access to requested resource is denied."
    record = sandbox.store.token(token) if token else None
    grantless = record is not None and record["kind"] == "grantless"
    if operation in SELLER and grantless:
        raise ApiError(403, "Unauthorized", denied, f"{operation} acts for a selling partner: it needs the seller's "
                                                    "access token (refresh_token grant), not a grantless one.")
    if operation in SELLER or (operation in EITHER and not grantless):
        seller_id, grants = sandbox.authenticate(token, method, path)  # refuses grantless tokens
        if grants is not None:  # a restricted data token opens restricted operations only
            raise ApiError(403, "Unauthorized", denied, "A restricted data token cannot call this operation.")
        return seller_id, None
    if not token:
        raise ApiError(403, "Unauthorized", denied, "The access token is missing.")
    if record is None:
        raise ApiError(403, "Unauthorized", denied, "The access token you provided is revoked, malformed or invalid.")
    if not grantless:
        raise ApiError(403, "Unauthorized", denied, f"{operation} is a grantless operation: it needs an access token "
                                                    f"of the client_credentials grant with scope {SCOPE}.")
    if record["expires_ms"] <= now_ms():
        raise ApiError(403, "Unauthorized", denied, "The access token you provided has expired.")
    if record["scope"] != SCOPE:
        raise ApiError(403, "Unauthorized", denied, f"The access token's scope is {record['scope']}, not {SCOPE}.")
    return None, None


# ---- faults ---------------------------------------------------------------------------------------------------

FAULT_RATES = ("loss", "duplicate", "delay", "reorder")


class DeliveryFaults:
    """Fault rates of notification delivery, drawn from one seeded generator (a run can be replayed)."""

    def __init__(self, spec: dict[str, Any] | None = None):
        self._lock = threading.Lock()
        self.set(spec or {})

    def set(self, spec: dict[str, Any]) -> None:
        if not isinstance(spec, dict):
            raise ValueError("expected a JSON object")
        known = (*FAULT_RATES, "delay_seconds", "reorder_hold_seconds", "seed")
        for key in spec:
            if key not in known:
                raise ValueError(f"unknown notification fault {key!r} (known: {', '.join(known)})")
        rates = {}
        for key in FAULT_RATES:
            try:
                rate = float(spec.get(key) or 0)
            except (TypeError, ValueError):
                raise ValueError(f"{key} must be a number")
            if not 0 <= rate <= 1:
                raise ValueError(f"{key}: a rate is between 0 and 1")
            rates[key] = rate
        numbers = {}
        for key, default in (("delay_seconds", 0.0), ("reorder_hold_seconds", REORDER_HOLD_SECONDS)):
            try:
                numbers[key] = float(spec[key]) if spec.get(key) is not None else default
            except (TypeError, ValueError):
                raise ValueError(f"{key} must be a number")
            if numbers[key] < 0:
                raise ValueError(f"{key} must not be negative")
        if rates["delay"] and not numbers["delay_seconds"]:
            raise ValueError("delay needs delay_seconds (how late a delayed message is, in sandbox seconds)")
        seed = spec.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("seed must be an integer")
        with self._lock:
            self.spec = {**rates, **numbers, "seed": seed}
            self._rng = random.Random(seed)

    def draw(self) -> dict[str, bool]:
        """One message's fate: each fault drawn on its own (a message can be both delayed and duplicated)."""
        with self._lock:
            return {key: self._rng.random() < self.spec[key] for key in FAULT_RATES}


# ---- the notifier: subscriptions matched to order changes, messages, delivery -------------------------------------

class Notifier:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.store = sandbox.store
        with self.store._lock:  # as Store.__init__: executescript commits, so outside any transaction
            self.store.db().executescript(SCHEMA)
        self.faults = DeliveryFaults(self.store.meta("notification_faults") or {})
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._deliver_lock = threading.Lock()  # the thread and POST /_sandbox/notifications/deliver
        self._pruned_ms = 0
        self._sender: SqsSender | None = None
        self._sender_endpoint = ""
        self.application_id = "amzn1.sellerapps.app." + str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                       sandbox.credentials["client_id"]))
        self._listen()

    # ---- ids and endpoint ----------------------------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.sandbox.rng.getrandbits(128), version=4))

    def sender(self) -> SqsSender | None:
        endpoint = getattr(self.sandbox.settings, "sqs_endpoint", "") or ""
        if not endpoint:
            return None
        if self._sender is None or self._sender_endpoint != endpoint:
            self._sender, self._sender_endpoint = SqsSender(endpoint), endpoint
        return self._sender

    # ---- the store's hook ----------------------------------------------------------------------------------------
    def _listen(self) -> None:
        """Hook into the store only while a subscription exists (no cost for the sandbox otherwise)."""
        count = self.store.db().execute("SELECT COUNT(*) FROM nt_subscriptions").fetchone()[0]
        self.store.order_listener = self.order_changed if count else None
        if count or self.store.db().execute("SELECT 1 FROM nt_messages WHERE state IN ('pending', 'held') "
                                            "LIMIT 1").fetchone():
            self._start()

    def order_changed(self, before: dict[str, Any] | None, doc: dict[str, Any]) -> None:
        """Called by the store inside the order's write transaction."""
        changes = []
        if before is None or before.get("status") != doc["status"]:
            changes.append(("OrderStatusChange", f"Order status changed to {doc['status']}" if before else
                            f"New order in status {doc['status']}"))
        requested = {i["orderItemId"] for i in doc["items"] if i.get("buyerCancel")}
        already = {i["orderItemId"] for i in (before or {}).get("items", []) if i.get("buyerCancel")}
        if requested - already:
            changes.append(("BuyerRequestedChange", "Buyer Requested Cancel"))
        if not changes:
            return
        db = self.store.db()
        subscriptions = db.execute(
            "SELECT s.subscription_id, s.destination_id, s.directive, s.payload_version, d.arn FROM nt_subscriptions s "
            "JOIN nt_destinations d ON d.destination_id = s.destination_id WHERE s.seller_id = ? "
            "AND s.notification_type = 'ORDER_CHANGE' ORDER BY s.created_ms", (doc["sellerId"],)).fetchall()
        now = now_ms()
        queued = False
        for subscription_id, destination_id, directive, payload_version, arn in subscriptions:
            event_filter = (json.loads(directive) if directive else {}).get("eventFilter") or {}
            marketplaces = event_filter.get("marketplaceIds")
            if marketplaces and doc["marketplaceId"] not in marketplaces:
                continue
            for change_type, reason in changes:
                types = event_filter.get("orderChangeTypes")
                if types and change_type not in types:
                    continue
                self._enqueue(db, subscription_id, destination_id, arn, payload_version, doc, change_type, reason,
                              now)
                queued = True
        if queued:
            self._wake.set()

    def _enqueue(self, db, subscription_id, destination_id, arn, payload_version, doc, change_type, reason, now):
        fate = self.faults.draw()
        spec = self.faults.spec
        due = now + (self.sandbox.scaled_ms(spec["delay_seconds"]) if fate["delay"] else 0)
        state = "lost" if fate["loss"] else ("held" if fate["reorder"] else "pending")
        held_until = due + self.sandbox.scaled_ms(spec["reorder_hold_seconds"]) if state == "held" else None
        faults = [k for k in FAULT_RATES if fate[k]]
        notification_id = str(uuid.uuid4())  # not from sandbox.rng: notifications must not shift generated orders
        body = message(doc, change_type=change_type, reason=reason, event_ms=now, payload_version=payload_version,
                       application_id=self.application_id, subscription_id=subscription_id,
                       notification_id=notification_id)
        db.execute("INSERT INTO nt_messages (notification_id, subscription_id, destination_id, arn, seller_id, "
                   "order_id, change_type, order_status, event_ms, due_ms, state, copies, fault, held_until_ms, "
                   "attempts, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)",
                   (notification_id, subscription_id, destination_id, arn, doc["sellerId"], doc["orderId"],
                    change_type, doc["status"], now, due, state, 2 if fate["duplicate"] else 1,
                    ",".join(faults) or None, held_until, json.dumps(body, ensure_ascii=False)))

    # ---- delivery thread -----------------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="sandbox-notifications", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Woken by a new message; the short timeout also catches messages whose transaction committed after
            # the wake-up, delayed ones coming due and held ones timing out.
            self._wake.wait(DELIVERY_POLL_SECONDS)
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception as exc:  # keep delivering; the messages' records show what failed
                sys.stderr.write(f"sandbox notification delivery failed: {exc!r}\n")
                time.sleep(0.5)  # not a busy loop on a persistent error (e.g. the store being reset)

    def deliver_due(self) -> int:
        """Send what is due now; returns the number of messages handled."""
        with self._deliver_lock:
            return self._deliver_due()

    def _deliver_due(self) -> int:
        now = now_ms()
        db = self.store.db()
        if now - self._pruned_ms > 60_000:
            self._pruned_ms = now
            with self.store.write() as w:
                w.execute("DELETE FROM nt_messages WHERE state IN ('sent', 'lost', 'failed') AND event_ms < ?",
                          (now - KEEP_MESSAGES_MS,))
        with self.store.write() as w:  # held messages that waited long enough go out anyway
            w.execute("UPDATE nt_messages SET state = 'pending', due_ms = ? WHERE state = 'held' "
                      "AND held_until_ms <= ?", (now, now))
        rows = db.execute(f"SELECT {', '.join(MESSAGE_KEYS)}, body FROM nt_messages WHERE state = 'pending' AND "
                          "due_ms <= ? ORDER BY due_ms, seq LIMIT 200", (now,)).fetchall()
        for row in rows:
            record = dict(zip((*MESSAGE_KEYS, "body"), row, strict=True))
            self._send(record)
        return len(rows)

    def _send(self, record: dict[str, Any]) -> None:
        sender = self.sender()
        body = json.loads(record["body"])
        now = now_ms()
        body["NotificationMetadata"]["PublishTime"] = _iso_ms(now)
        text = json.dumps(body, ensure_ascii=False)
        try:
            if sender is None:
                raise SqsError("the sandbox has no SQS endpoint (serve --sqs-endpoint URL, or PUT /_sandbox/config "
                               "{\"sqs_endpoint\": URL})")
            for _ in range(record["copies"]):
                sender.send(record["arn"], text)
        except SqsError as exc:
            attempts = record["attempts"] + 1
            failed = attempts >= MAX_ATTEMPTS
            with self.store.write() as db:
                db.execute("UPDATE nt_messages SET attempts = ?, error = ?, state = ?, due_ms = ? WHERE seq = ?",
                           (attempts, str(exc)[:1000], "failed" if failed else "pending",
                            now + 1000 * attempts, record["seq"]))
            return
        with self.store.write() as db:
            db.execute("UPDATE nt_messages SET state = 'sent', sent_ms = ?, attempts = attempts + 1, error = NULL "
                       "WHERE seq = ?", (now, record["seq"]))
            # Reordering: a message held back goes out right after a later one to the same destination.
            released = db.execute("UPDATE nt_messages SET state = 'pending', due_ms = ? WHERE state = 'held' AND "
                                  "destination_id = ? AND seq < ?", (now, record["destination_id"], record["seq"]))
            if released.rowcount:
                self._wake.set()

    # ---- control -------------------------------------------------------------------------------------------------
    def set_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.faults.set(spec)
        self.store.set_meta("notification_faults", spec)
        return self.faults.spec

    def messages(self, *, order_id: str | None = None, state: str | None = None, limit: int = 1000
                 ) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(MESSAGE_KEYS)} FROM nt_messages WHERE 1=1"
        args: list[Any] = []
        if order_id:
            sql += " AND order_id = ?"
            args.append(order_id)
        if state:
            sql += " AND state = ?"
            args.append(state)
        rows = self.store.db().execute(sql + " ORDER BY seq LIMIT ?", (*args, limit)).fetchall()
        return [dict(zip(MESSAGE_KEYS, r, strict=True)) for r in rows]

    def report(self, **filters: Any) -> dict[str, Any]:
        counts = dict(self.store.db().execute("SELECT state, COUNT(*) FROM nt_messages GROUP BY state").fetchall())
        return {"faults": self.faults.spec, "sqs_endpoint": getattr(self.sandbox.settings, "sqs_endpoint", ""),
                "application_id": self.application_id, "counts": counts, "messages": self.messages(**filters)}

    def reset(self) -> None:
        """Forget destinations, subscriptions and messages; no delivery faults."""
        with self.store.write() as db:
            for table in ("nt_messages", "nt_subscriptions", "nt_destinations"):
                db.execute(f"DELETE FROM {table}")
        self.set_faults({})
        self._listen()

    # ---- subscriptions and destinations (used by the API) --------------------------------------------------------
    def subscription_added(self) -> None:
        self._listen()
        self._start()


def _iso_ms(ms: int) -> str:
    """ISO 8601 with milliseconds, as in Amazon's notifications (``2020-01-11T00:09:53.109Z``)."""
    return f"{iso(ms)[:-1]}.{ms % 1000:03d}Z"


def message(doc: dict[str, Any], *, change_type: str, reason: str, event_ms: int, payload_version: str,
            application_id: str, subscription_id: str, notification_id: str) -> dict[str, Any]:
    """An ORDER_CHANGE notification (OrderChangeNotification.json) for a sandbox order, at order level."""
    items = []
    shipped_total = unshipped_total = 0
    statuses = set()
    for item in doc["items"]:
        left = 0 if item.get("canceled") else item["qty"] - item["shipped"]
        shipped_total += item["shipped"]
        unshipped_total += left
        status = "Shipped" if item["shipped"] and not left else "Unshipped"
        statuses.add(status)
        items.append({"OrderItemId": item["orderItemId"], "SellerSKU": item["sku"], "SupplySourceId": None,
                      "OrderItemStatus": status, "Quantity": item["qty"], "QuantityShipped": item["shipped"],
                      "IsBuyerRequestedCancel": bool(item.get("buyerCancel"))})
    if len(statuses) < 2:  # "Will display it when items' status are different."
        for entry in items:
            entry.pop("OrderItemStatus")
    programs = [name for name, on in (("Business", doc.get("business")), ("Prime", doc.get("prime")),
                                      ("Premium", doc.get("premium")),
                                      ("Replacement", doc.get("replacedOrderId"))) if on]
    summary: dict[str, Any] = {
        "MarketplaceId": doc["marketplaceId"],
        "OrderStatus": doc["status"],
        "PurchaseDate": _iso_ms(doc["createdMs"]),
        "DestinationPostalCode": (doc.get("address") or {}).get("postalCode"),
        "FulfillmentType": doc["channel"],
        "OrderType": "StandardOrder",
        "NumberOfItemsShipped": shipped_total,
        "NumberOfItemsUnshipped": unshipped_total,
        "EarliestShipDate": _iso_ms(doc["earliestShipMs"]),
        "LatestShipDate": _iso_ms(doc["latestShipMs"]),
    }
    if doc["channel"] == "MFN":
        summary["EarliestDeliveryDate"] = _iso_ms(doc["earliestDeliveryMs"])
        if doc["status"] not in ("PendingAvailability", "Pending", "Canceled"):
            summary["LatestDeliveryDate"] = _iso_ms(doc["latestDeliveryMs"])
    if programs:
        summary["OrderPrograms"] = programs
    summary["OrderItems"] = items
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": payload_version,
        "EventTime": _iso_ms(event_ms),
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": doc["sellerId"],
            "AmazonOrderId": doc["orderId"],
            "OrderChangeType": change_type,
            "OrderChangeTrigger": {"TimeOfOrderChange": _iso_ms(doc["lastUpdatedMs"]), "ChangeReason": reason},
            "Summary": summary,
        }},
        "NotificationMetadata": {"ApplicationId": application_id, "SubscriptionId": subscription_id,
                                 "PublishTime": _iso_ms(event_ms), "NotificationId": notification_id},
    }


# ---- input rules ------------------------------------------------------------------------------------------------

def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be a JSON object.")
    return value


def _string(body: dict[str, Any], field: str, name: str, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise _invalid(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string.")
    if required and not value.strip():
        raise _invalid(f"{name} must not be empty.")
    return value


def _string_list(value: Any, name: str, allowed=None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{name} must be an array of strings.")
    if not value:
        raise _invalid(f"{name} must not be empty: leave it out to receive every value.")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                raise _invalid(f"Invalid value {v!r} for {name} (one of {', '.join(allowed)}).")
    return value


def check_notification_type(notification_type: str) -> None:
    if notification_type not in NOTIFICATION_TYPES:
        raise _invalid(f"Invalid notificationType {notification_type!r}: the sandbox supports "
                       f"{', '.join(NOTIFICATION_TYPES)}.")


def check_subscription_request(notification_type: str, body: Any, marketplace_ids: list[str]) -> dict[str, Any]:
    """CreateSubscriptionRequest: returns the processingDirective to keep (or {})."""
    body = _object(body, "The request body")
    version = _string(body, "payloadVersion", "payloadVersion")
    _string(body, "destinationId", "destinationId")
    if version not in NOTIFICATION_TYPES[notification_type]:
        raise _invalid(f"Invalid payloadVersion {version!r} for {notification_type} (supported: "
                       f"{', '.join(NOTIFICATION_TYPES[notification_type])}).")
    if "processingDirective" not in body or body["processingDirective"] is None:
        return {}
    directive = _object(body["processingDirective"], "processingDirective")
    if "eventFilter" in directive and "filterExpression" in directive:
        raise _invalid("processingDirective: eventFilter and filterExpression are mutually exclusive.")
    if "filterExpression" in directive:
        expression = directive["filterExpression"]
        if not isinstance(expression, str) or not 1 <= len(expression) <= 256:
            raise _invalid("processingDirective.filterExpression must be a string of 1 to 256 characters.")
        raise _invalid(f"filterExpression is not supported for {notification_type}: use eventFilter.")
    out: dict[str, Any] = {}
    if "eventFilter" in directive:
        event_filter = _object(directive["eventFilter"], "processingDirective.eventFilter")
        filter_type = event_filter.get("eventFilterType")
        if filter_type is None:
            raise _invalid("processingDirective.eventFilter.eventFilterType is required.")
        if filter_type not in EVENT_FILTER_TYPES:
            raise _invalid(f"Invalid eventFilterType {filter_type!r} (one of {', '.join(EVENT_FILTER_TYPES)}).")
        if filter_type != notification_type:
            raise _invalid(f"eventFilterType {filter_type} does not apply to notification type {notification_type}.")
        kept: dict[str, Any] = {"eventFilterType": filter_type}
        if "marketplaceIds" in event_filter:
            kept["marketplaceIds"] = _string_list(event_filter["marketplaceIds"], "eventFilter.marketplaceIds",
                                                  marketplace_ids)
        if "orderChangeTypes" in event_filter:
            kept["orderChangeTypes"] = _string_list(event_filter["orderChangeTypes"], "eventFilter.orderChangeTypes",
                                                    ORDER_CHANGE_TYPES)
        if "aggregationSettings" in event_filter:
            settings = _object(event_filter["aggregationSettings"], "eventFilter.aggregationSettings")
            if settings.get("aggregationTimePeriod") not in AGGREGATION_PERIODS:
                raise _invalid("eventFilter.aggregationSettings.aggregationTimePeriod is required (one of "
                               f"{', '.join(AGGREGATION_PERIODS)}).")
            raise _invalid("aggregationSettings apply to ANY_OFFER_CHANGED only.")
        if "trackingIdentifier" in event_filter:
            raise _invalid("trackingIdentifier applies to SHIPMENT_TRACKING_MILESTONE_CHANGED only.")
        out["eventFilter"] = kept
    return out


def check_destination_request(body: Any) -> tuple[str, str]:
    """CreateDestinationRequest: returns (name, queue ARN)."""
    body = _object(body, "The request body")
    name = _string(body, "name", "name")
    if len(name) > 256:
        raise _invalid("name must be at most 256 characters.")
    if body.get("resourceSpecification") is None:
        raise _invalid("resourceSpecification is required.")
    spec = _object(body["resourceSpecification"], "resourceSpecification")
    kinds = [k for k in ("sqs", "eventBridge") if spec.get(k) is not None]
    if len(kinds) != 1:
        raise _invalid("resourceSpecification must have exactly one resource type: sqs or eventBridge.")
    if kinds == ["eventBridge"]:
        bridge = _object(spec["eventBridge"], "resourceSpecification.eventBridge")
        _string(bridge, "region", "resourceSpecification.eventBridge.region")
        _string(bridge, "accountId", "resourceSpecification.eventBridge.accountId")
        raise _invalid("The sandbox delivers to SQS destinations only (eventBridge is not supported here).")
    sqs = _object(spec["sqs"], "resourceSpecification.sqs")
    arn = _string(sqs, "arn", "resourceSpecification.sqs.arn")
    if len(arn) > 1000:
        raise _invalid("resourceSpecification.sqs.arn must be at most 1000 characters.")
    if parse_arn(arn) is None:
        raise _invalid(f"Invalid SQS ARN {arn!r}: expected arn:aws:sqs:REGION:ACCOUNT:QUEUE.")
    return name, arn


# ---- the HTTP handlers (registered by app.SpApi.routes) --------------------------------------------------------------

class NotificationsApi:
    """Handlers ``(seller_id=..., grants=..., **path) -> (status, body)``; seller_id None = grantless caller."""

    def __init__(self, sandbox: Sandbox | None):
        self.sandbox = sandbox

    def routes(self) -> list[tuple[str, str, str, Callable]]:
        wrap = self._wrap
        return [
            ("GET", "/notifications/v1/subscriptions/<notification_type>", "getSubscription",
             wrap(self.get_subscription)),
            ("POST", "/notifications/v1/subscriptions/<notification_type>", "createSubscription",
             wrap(self.create_subscription)),
            ("GET", "/notifications/v1/subscriptions/<notification_type>/<subscription_id>", "getSubscriptionById",
             wrap(self.get_subscription_by_id)),
            ("DELETE", "/notifications/v1/subscriptions/<notification_type>/<subscription_id>",
             "deleteSubscriptionById", wrap(self.delete_subscription_by_id)),
            ("GET", "/notifications/v1/destinations", "getDestinations", wrap(self.get_destinations)),
            ("POST", "/notifications/v1/destinations", "createDestination", wrap(self.create_destination)),
            ("GET", "/notifications/v1/destinations/<destination_id>", "getDestination", wrap(self.get_destination)),
            ("DELETE", "/notifications/v1/destinations/<destination_id>", "deleteDestination",
             wrap(self.delete_destination)),
        ]

    @staticmethod
    def _wrap(handler: Callable) -> Callable:
        def call(**kwargs):
            try:
                return handler(**kwargs)
            except NotificationError as exc:
                raise _api_error(exc)

        call.__name__ = handler.__name__
        return call

    @property
    def notifier(self) -> Notifier:
        return self.sandbox.notifier

    @staticmethod
    def _body() -> Any:
        from flask import request

        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise _invalid("The request body is not valid JSON.")

    # ---- subscriptions -------------------------------------------------------------------------------------------
    @staticmethod
    def _subscription_json(row) -> dict[str, Any]:
        subscription_id, _seller, _type, version, destination_id, directive = row[:6]
        out: dict[str, Any] = {"subscriptionId": subscription_id, "payloadVersion": version,
                               "destinationId": destination_id}
        if directive:
            out["processingDirective"] = json.loads(directive)
        return out

    SUBSCRIPTION_COLUMNS = "subscription_id, seller_id, notification_type, payload_version, destination_id, directive"

    def create_subscription(self, *, seller_id: str, grants, notification_type: str):
        check_notification_type(notification_type)
        body = self._body()
        directive = check_subscription_request(notification_type, body,
                                               list(self.sandbox.credentials["marketplace_ids"]))
        store = self.sandbox.store
        with store.write() as db:
            if db.execute("SELECT 1 FROM nt_destinations WHERE destination_id = ?",
                          (body["destinationId"],)).fetchone() is None:
                raise _invalid(f"No destination with id {body['destinationId']!r} for applicationId "
                               f"{self.notifier.application_id!r}.")
            existing = db.execute("SELECT subscription_id FROM nt_subscriptions WHERE seller_id = ? AND "
                                  "notification_type = ? AND payload_version = ?",
                                  (seller_id, notification_type, body["payloadVersion"])).fetchone()
            if existing:
                raise NotificationError(409, "StateConflict", "The resource specified conflicts with the current "
                                                              "state.",
                                        f"Subscription already exist for notification type {notification_type} "
                                        f"(subscriptionId {existing[0]}).")
            subscription_id = self.notifier._new_id()
            db.execute("INSERT INTO nt_subscriptions (subscription_id, seller_id, notification_type, payload_version, "
                       "destination_id, directive, created_ms) VALUES (?,?,?,?,?,?,?)",
                       (subscription_id, seller_id, notification_type, body["payloadVersion"], body["destinationId"],
                        json.dumps(directive) if directive else None, now_ms()))
            row = db.execute(f"SELECT {self.SUBSCRIPTION_COLUMNS} FROM nt_subscriptions WHERE subscription_id = ?",
                             (subscription_id,)).fetchone()
        self.notifier.subscription_added()
        return 200, {"payload": self._subscription_json(row)}

    def get_subscription(self, *, seller_id: str, grants, notification_type: str):
        from flask import request

        check_notification_type(notification_type)
        version = request.args.get("payloadVersion")
        sql = (f"SELECT {self.SUBSCRIPTION_COLUMNS} FROM nt_subscriptions WHERE seller_id = ? AND "
               "notification_type = ?")
        args: list[Any] = [seller_id, notification_type]
        if version is not None:
            sql += " AND payload_version = ?"
            args.append(version)
        row = self.sandbox.store.db().execute(sql + " ORDER BY payload_version DESC LIMIT 1", args).fetchone()
        if row is None:
            raise NotificationError(404, "NotFound", "The resource specified does not exist.",
                                    f"No subscription for notification type {notification_type}.")
        return 200, {"payload": self._subscription_json(row)}

    def _subscription_by_id(self, seller_id: str | None, notification_type: str, subscription_id: str):
        check_notification_type(notification_type)
        row = self.sandbox.store.db().execute(
            f"SELECT {self.SUBSCRIPTION_COLUMNS} FROM nt_subscriptions WHERE subscription_id = ? AND "
            "notification_type = ?", (subscription_id, notification_type)).fetchone()
        if row is None or (seller_id is not None and row[1] != seller_id):
            raise NotificationError(404, "NotFound", "The resource specified does not exist.",
                                    f"No subscription {subscription_id} for notification type {notification_type}.")
        return row

    def get_subscription_by_id(self, *, seller_id: str | None, grants, notification_type: str,
                               subscription_id: str):
        return 200, {"payload": self._subscription_json(self._subscription_by_id(seller_id, notification_type,
                                                                                  subscription_id))}

    def delete_subscription_by_id(self, *, seller_id: str | None, grants, notification_type: str,
                                  subscription_id: str):
        self._subscription_by_id(seller_id, notification_type, subscription_id)
        with self.sandbox.store.write() as db:
            db.execute("DELETE FROM nt_subscriptions WHERE subscription_id = ?", (subscription_id,))
        self.notifier._listen()
        return 200, {}

    # ---- destinations (grantless) --------------------------------------------------------------------------------
    @staticmethod
    def _destination_json(row) -> dict[str, Any]:
        destination_id, name, arn = row[:3]
        return {"name": name, "destinationId": destination_id, "resource": {"sqs": {"arn": arn}}}

    def create_destination(self, *, seller_id, grants, **_):
        name, arn = check_destination_request(self._body())
        store = self.sandbox.store
        with store.write() as db:
            if db.execute("SELECT 1 FROM nt_destinations WHERE arn = ?", (arn,)).fetchone():
                raise NotificationError(409, "Conflict", "The requested resource conflict with a resource in the "
                                                         "server.",
                                        f"A destination with arn {arn} already exists for the application "
                                        f"{self.notifier.application_id}.")
        sender = self.notifier.sender()
        if sender is not None:  # Amazon checks it can reach the queue; so does the sandbox when it knows SQS
            try:
                sender.queue_url(arn)
            except SqsError as exc:
                raise _invalid(f"Cannot access the SQS queue {arn}: check that it exists and that its policy lets "
                               f"Amazon's notification service send messages ({exc}).")
        destination_id = self.notifier._new_id()
        with store.write() as db:
            try:
                db.execute("INSERT INTO nt_destinations (destination_id, name, arn, created_ms) VALUES (?,?,?,?)",
                           (destination_id, name, arn, now_ms()))
            except Exception:  # the same ARN, created meanwhile by a concurrent request
                raise NotificationError(409, "Conflict", "The requested resource conflict with a resource in the "
                                                         "server.", f"A destination with arn {arn} already exists.")
        return 200, {"payload": self._destination_json((destination_id, name, arn))}

    def get_destinations(self, *, seller_id, grants, **_):
        rows = self.sandbox.store.db().execute("SELECT destination_id, name, arn FROM nt_destinations "
                                               "ORDER BY created_ms, destination_id").fetchall()
        return 200, {"payload": [self._destination_json(r) for r in rows]}

    def _destination(self, destination_id: str):
        row = self.sandbox.store.db().execute("SELECT destination_id, name, arn FROM nt_destinations WHERE "
                                              "destination_id = ?", (destination_id,)).fetchone()
        if row is None:
            raise NotificationError(404, "NotFound", "The resource specified does not exist.",
                                    f"No destination with id {destination_id}.")
        return row

    def get_destination(self, *, seller_id, grants, destination_id: str):
        return 200, {"payload": self._destination_json(self._destination(destination_id))}

    def delete_destination(self, *, seller_id, grants, destination_id: str):
        self._destination(destination_id)
        with self.sandbox.store.write() as db:
            if db.execute("SELECT 1 FROM nt_subscriptions WHERE destination_id = ?", (destination_id,)).fetchone():
                raise NotificationError(409, "StateConflict", "The resource specified conflicts with the current "
                                                              "state.",
                                        "Destination has subscriptions: delete them first (deleteSubscriptionById).")
            db.execute("DELETE FROM nt_destinations WHERE destination_id = ?", (destination_id,))
        return 200, {}


# ---- control API: /_sandbox/notifications ---------------------------------------------------------------------------

def register_control(app: Flask, sandbox: Sandbox) -> None:
    from flask import Response, request

    def answer(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")

    def show():
        args = request.args
        try:
            limit = int(args.get("limit", 1000))
        except ValueError:
            return answer({"error": "limit must be an integer"}, 400)
        return answer(sandbox.notifier.report(order_id=args.get("order_id"), state=args.get("state"), limit=limit))

    def set_faults():
        data = request.get_json(silent=True, force=True)
        try:
            return answer(sandbox.notifier.set_faults({} if data is None else data))
        except ValueError as exc:
            return answer({"error": str(exc)}, 400)

    def get_faults():
        return answer(sandbox.notifier.faults.spec)

    def deliver():
        """Send what is due now (the delivery thread does it anyway; for a deterministic demo or test step)."""
        return answer({"handled": sandbox.notifier.deliver_due()})

    for method, rule, view in (("GET", "/_sandbox/notifications", show),
                               ("GET", "/_sandbox/notifications/faults", get_faults),
                               ("PUT", "/_sandbox/notifications/faults", set_faults),
                               ("POST", "/_sandbox/notifications/deliver", deliver)):
        app.add_url_rule(rule, endpoint=f"control_notifications_{view.__name__}_{method}", view_func=view,
                         methods=[method])
