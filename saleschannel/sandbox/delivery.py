"""Delivery of the sandbox's ``ORDER_CHANGE`` notifications: order changes matched to subscriptions, messages kept
in the store (``nt_messages``), a thread sending them to SQS, and the delivery faults.

The API side (destinations, subscriptions, their rules) is in notifications.py; see its docstring for the whole.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from .sqs import SqsError, SqsSender
from .timeutil import iso, now_ms

if TYPE_CHECKING:
    from .engine import Sandbox

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
    """Order changes matched to subscriptions, made into messages, sent by a thread (or ``deliver_due``)."""

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
