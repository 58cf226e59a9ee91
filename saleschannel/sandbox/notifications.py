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
just after a later message to the same destination, or after ``reorder_hold_seconds``). The delivery side is in
delivery.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import request

from .engine import ApiError
from .sqs import SqsError, parse_arn
from .timeutil import now_ms

if TYPE_CHECKING:
    from flask import Flask

    from .delivery import Notifier
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


class NotificationError(Exception):
    """An SP-API error (mirrors engine.ApiError, which app.py turns into Amazon's error body)."""

    def __init__(self, status: int, code: str, message: str, details: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _api_error(exc: NotificationError):

    return ApiError(exc.status, exc.code, exc.message, exc.details)


def _invalid(message: str) -> NotificationError:
    return NotificationError(400, "InvalidInput", message)


# ---- authentication -------------------------------------------------------------------------------------------

def authenticate(sandbox: Sandbox, operation: str, token: str | None, method: str, path: str
                 ) -> tuple[str | None, set[str] | None]:
    """(seller id, grants) for a Notifications operation; seller id None means the application (grantless)."""

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
