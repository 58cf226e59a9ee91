"""The ORDER_CHANGE consumer (DESIGN.md §8.3): reads a store's SQS queue and imports the orders it announces.

Run by the worker (``saleschannel worker`` starts ``ConsumerSupervisor``: one thread per store whose notifications
are on; ``--no-notifications`` leaves them to another process) or alone by
``saleschannel amazon notifications consume [--store S]``.

For each receive: long polling (``WAIT_SECONDS`` = 20 s), up to 10 messages, hidden from other consumers for
``VISIBILITY_TIMEOUT``. For each message:

* unreadable, or not an ORDER_CHANGE with an AmazonOrderId: a dead letter at once, with the reason as its note;
* the order's stored last update is not older than the notification's ``TimeOfOrderChange``: a duplicate or an
  older notification, nothing to fetch (deleted, counted as skipped);
* else getOrder through the gateway (paced like every call), then, in one transaction that locks the stored
  order, the same import path as polling (``sync.import_orders``), unless Amazon's copy is older than the stored
  one: an order never rolls back;
* the message is deleted only after that transaction has committed. A failure leaves it in the queue: it comes
  back after the visibility timeout; at its ``MAX_RECEIVES``-th receive it becomes a dead letter with the error.

A crash between commit and delete only means the message comes back, and is then skipped as a duplicate.
Health (last poll, last message, lag = time since SQS received the message, counts, queue errors) is written to
``StoreNotifications`` (notification_health.py reads it).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from saleschannel.amazon.models import AmazonOrder, AmazonStore
from saleschannel.amazon.notification_models import NotificationDeadLetter, NotificationMode, StoreNotifications
from saleschannel.amazon.notifications import sqs_client
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.spapi.normalise import parse_datetime
from saleschannel.amazon.sync import import_orders

logger = logging.getLogger(__name__)

WAIT_SECONDS = 20
VISIBILITY_TIMEOUT = 120
MAX_RECEIVES = 5
BATCH = 10
ERROR_PAUSE = 10.0  # seconds between two receives while the queue cannot be reached
SUPERVISE_SECONDS = 30.0  # how often the worker looks for stores whose notifications were switched on or off
# Test hook (tests/amazon/test_notifications_kill.py), like ``after_commit``: when this environment variable names a
# file, the consumer writes the order id to it after the order's commit and, before the delete, waits as long as the
# file exists, so that a test can kill -9 the process there. Read only when set; never set outside that test.
PAUSE_FILE_ENV = "SALESCHANNEL_TEST_CONSUMER_PAUSE_FILE"


class PoisonMessage(Exception):
    """A message that can never be handled (unreadable, not an ORDER_CHANGE)."""


def parse_message(body: str) -> tuple[str, datetime | None]:
    """(AmazonOrderId, TimeOfOrderChange) of an ORDER_CHANGE notification; PoisonMessage otherwise."""
    try:
        data = json.loads(body)
    except ValueError:
        raise PoisonMessage("not JSON")
    if not isinstance(data, dict) or data.get("NotificationType") != "ORDER_CHANGE":
        raise PoisonMessage("not an ORDER_CHANGE notification")
    change = (data.get("Payload") or {}).get("OrderChangeNotification")
    if not isinstance(change, dict) or not isinstance(change.get("AmazonOrderId"), str) or not change["AmazonOrderId"]:
        raise PoisonMessage("no Payload.OrderChangeNotification.AmazonOrderId")
    trigger = change.get("OrderChangeTrigger") or {}
    when = parse_datetime(trigger.get("TimeOfOrderChange") if isinstance(trigger, dict) else None)
    return change["AmazonOrderId"], when


class Consumer:
    """Consumes one store's queue. Not thread-safe: one per thread (it owns a gateway)."""

    def __init__(self, store: AmazonStore, *, wait_seconds: int = WAIT_SECONDS,
                 visibility_timeout: int = VISIBILITY_TIMEOUT, max_receives: int = MAX_RECEIVES,
                 gateway: Gateway | None = None, after_commit: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.after_commit = after_commit  # called between the order's commit and the delete (crash tests)
        self.wait_seconds = wait_seconds
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self.settings = StoreNotifications.objects.get(store=store)
        self.gateway = gateway or Gateway.for_store(store)
        self.sqs = sqs_client(self.settings, timeout=wait_seconds + 10)

    def close(self) -> None:
        self.gateway.close()

    # ---- one receive -------------------------------------------------------------------------------------------
    def poll_once(self) -> int:
        """One long-polling receive and its messages; returns how many were received (0 when the queue failed)."""
        try:
            answer = self.sqs.receive_message(
                QueueUrl=self.settings.queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=self.wait_seconds,
                VisibilityTimeout=self.visibility_timeout, AttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
        except Exception as exc:  # noqa: BLE001 - every botocore error means the same: the queue failed
            self._queue_failed(exc)
            return 0
        messages = answer.get("Messages") or []
        now = timezone.now()
        fields = {"last_poll_at": now, "queue_error": "", "queue_error_since": None}
        if messages:
            sent = max(int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages) / 1000
            fields.update(last_received_at=now, messages_received=F("messages_received") + len(messages),
                          last_lag_seconds=max(0.0, now.timestamp() - sent) if sent else None)
        StoreNotifications.objects.filter(pk=self.settings.pk).update(**fields)
        for message in messages:
            self.handle(message)
        return len(messages)

    def _queue_failed(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"[:1000]
        logger.warning("SQS queue of Amazon store %s cannot be read: %s", self.store.pk, text)
        StoreNotifications.objects.filter(pk=self.settings.pk).update(queue_error=text)
        StoreNotifications.objects.filter(pk=self.settings.pk, queue_error_since__isnull=True).update(
            queue_error_since=timezone.now())

    # ---- one message -------------------------------------------------------------------------------------------
    def handle(self, message: dict) -> str:
        """imported, skipped, dead (a dead letter), or retry (left in the queue)."""
        receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        body = message.get("Body") or ""
        try:
            order_id, changed_at = parse_message(body)
        except PoisonMessage as poison:
            self._dead_letter(message, receives, f"Unreadable message ({poison}).", order_id="")
            return "dead"
        try:
            outcome = self._import(order_id, changed_at)
        except Exception as error:  # noqa: BLE001 - any failure: retried by SQS, dead-lettered after N receives
            if isinstance(error, AmazonError):
                reason = error.message
            else:
                reason = f"{type(error).__name__}: {error}"
                logger.exception("ORDER_CHANGE for %s could not be handled", order_id)
            if receives >= self.max_receives:
                self._dead_letter(message, receives, f"Failed {receives} times; last error: {reason}",
                                  order_id=order_id)
                return "dead"
            return "retry"
        counter = "orders_imported" if outcome == "imported" else "messages_skipped"
        StoreNotifications.objects.filter(pk=self.settings.pk).update(**{counter: F(counter) + 1})
        if self.after_commit is not None:
            self.after_commit(order_id)
        if pause_file := os.environ.get(PAUSE_FILE_ENV):  # test hook, see PAUSE_FILE_ENV
            with open(pause_file, "w") as reached:
                reached.write(order_id)
            while os.path.exists(pause_file):
                time.sleep(0.1)
        self._delete(message)  # the order's transaction has committed
        return outcome

    def _import(self, order_id: str, changed_at: datetime | None) -> str:
        stored = AmazonOrder.objects.filter(amazon_order_id=order_id).values("store_id", "last_update_date").first()
        if stored and stored["store_id"] != self.store.pk:
            raise AmazonError(f"Amazon order {order_id} belongs to another Amazon store.", "WrongStore", None, False)
        if stored and stored["last_update_date"] and changed_at and changed_at <= stored["last_update_date"]:
            return "skipped"  # a duplicate, or older than what is stored: nothing to fetch
        data = self.gateway.get_order(order_id)
        with transaction.atomic():
            current = (AmazonOrder.objects.select_for_update().filter(amazon_order_id=order_id)
                       .values_list("last_update_date", flat=True).first())
            if current and data.last_update_date and data.last_update_date < current:
                return "skipped"  # Amazon's copy is older than ours (read before a later import): never roll back
            counts = import_orders(store=self.store, orders=[data])
        return "imported" if counts.created or counts.updated or counts.failed else "skipped"

    def _delete(self, message: dict) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.settings.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # noqa: BLE001 - it comes back after the visibility timeout, and is skipped then
            self._queue_failed(exc)

    def _dead_letter(self, message: dict, receives: int, note: str, *, order_id: str) -> None:
        notification_id = ""
        try:
            notification_id = str(json.loads(message.get("Body") or "")["NotificationMetadata"]["NotificationId"])
        except (ValueError, KeyError, TypeError):
            pass
        NotificationDeadLetter.objects.get_or_create(
            store=self.store, message_id=str(message.get("MessageId") or "")[:128],
            defaults={"notification_id": notification_id[:128], "amazon_order_id": order_id[:32],
                      "receive_count": receives, "note": note, "body": (message.get("Body") or "")[:100_000]})
        logger.warning("ORDER_CHANGE message %s dead-lettered: %s", message.get("MessageId"), note)
        self._delete(message)

    # ---- the loop ----------------------------------------------------------------------------------------------
    def _where(self, settings: StoreNotifications) -> tuple:
        return (settings.mode, settings.queue_url, settings.aws_region, settings.access_key_id_encrypted,
                settings.secret_access_key_encrypted)

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``, or the store's notifications are switched off or moved to another queue (the worker's
        supervisor then starts a consumer with the new settings)."""
        where = self._where(self.settings)
        while not stop.is_set():
            close_old_connections()
            current = StoreNotifications.objects.filter(pk=self.settings.pk).first()
            if current is None or current.mode == NotificationMode.OFF or self._where(current) != where:
                return
            self.poll_once()
            self.settings.refresh_from_db(fields=["queue_error"])
            if self.settings.queue_error and stop.wait(ERROR_PAUSE):
                return


def consume_store(store: AmazonStore, stop: threading.Event, **options) -> None:
    """A thread's body: consume ``store`` until ``stop`` (or its notifications are switched off)."""
    try:
        consumer = Consumer(store, **options)
        try:
            consumer.run(stop)
        finally:
            consumer.close()
    except Exception as exc:
        logger.exception("the ORDER_CHANGE consumer of Amazon store %s stopped", store.pk)
        try:  # shown in health (the supervisor starts it again at its next check)
            StoreNotifications.objects.filter(store_id=store.pk).update(
                queue_error=f"The consumer stopped: {type(exc).__name__}: {exc}"[:1000])
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            logger.exception("could not record the consumer's failure")
    finally:
        connection.close()


class ConsumerSupervisor:
    """One consumer thread per active store whose notifications are on, started and stopped as settings change."""

    def __init__(self, *, store_ids: list[int] | None = None, **options) -> None:
        self.store_ids = store_ids
        self.options = options
        self.stop = threading.Event()
        self._threads: dict[int, threading.Thread] = {}
        self._thread: threading.Thread | None = None

    def stores(self) -> list[AmazonStore]:
        query = AmazonStore.objects.filter(is_active=True).exclude(notification_settings__mode=NotificationMode.OFF)
        query = query.filter(notification_settings__isnull=False)
        if self.store_ids is not None:
            query = query.filter(pk__in=self.store_ids)
        return list(query)

    def check(self) -> int:
        for store in self.stores():
            thread = self._threads.get(store.pk)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=consume_store, args=(store, self.stop), kwargs=self.options,
                                          name=f"order-change-{store.pk}", daemon=True)
                self._threads[store.pk] = thread
                thread.start()
        return sum(t.is_alive() for t in self._threads.values())

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                close_old_connections()
                try:
                    self.check()
                except Exception:
                    logger.exception("the ORDER_CHANGE supervisor could not read the stores")
                self.stop.wait(SUPERVISE_SECONDS)
        finally:
            connection.close()

    def start(self) -> ConsumerSupervisor:
        self._thread = threading.Thread(target=self.run, name="order-change-supervisor", daemon=True)
        self._thread.start()
        return self

    def shutdown(self, timeout: float = WAIT_SECONDS + 15) -> None:
        self.stop.set()
        for thread in [self._thread, *self._threads.values()]:
            if thread is not None:
                thread.join(timeout)
