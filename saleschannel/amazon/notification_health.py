"""Health of a store's real-time notifications, and what it changes for the polling sweep (DESIGN.md §8.3).

Notifications are *healthy* while they are on, subscribed, and the consumer polled the queue without error within
``POLL_STALE``. While healthy, the polling sweep (``tasks.stores_due``) runs every ``HEALTHY_SWEEP_MINUTES`` (or
the store's own frequency when that is rarer) and counts the orders it had to create or update itself: the orders
no notification announced (lost, or not yet consumed). Otherwise the sweep runs at the store's frequency.
Only models are imported here: sync.py and tasks.py use this module, the consumer writes what it reads.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from saleschannel.amazon.notification_models import NotificationDeadLetter, NotificationMode, StoreNotifications

HEALTHY_SWEEP_MINUTES = 15
POLL_STALE = timedelta(minutes=2)  # a consumer polls every 20 s at most (long polling): older = not running


def notifications_of(store) -> StoreNotifications | None:
    return StoreNotifications.objects.filter(store_id=store.pk).first()


def is_healthy(settings: StoreNotifications | None, now=None) -> bool:
    if settings is None or settings.mode == NotificationMode.OFF or not settings.subscription_id:
        return False
    now = now or timezone.now()
    return (not settings.queue_error and settings.last_poll_at is not None
            and now - settings.last_poll_at <= POLL_STALE)


def sweep_minutes(store, now=None) -> int:
    """Minutes between two polling sweeps of ``store``: rarer while its notifications are healthy."""
    minutes = store.sync_frequency_minutes
    if is_healthy(notifications_of(store), now):
        return max(minutes, HEALTHY_SWEEP_MINUTES)
    return minutes


def record_sweep(*, store, found: int) -> None:
    """After a successful sweep: the orders it brought in itself, counted while notifications are healthy."""
    settings = notifications_of(store)
    if not is_healthy(settings):
        return
    StoreNotifications.objects.filter(pk=settings.pk).update(
        sweep_unannounced=found, sweep_unannounced_total=F("sweep_unannounced_total") + found)


def health(store, now=None) -> dict:
    """What the dashboard and ``notifications status`` show."""
    settings = notifications_of(store)
    if settings is None or settings.mode == NotificationMode.OFF:
        return {"mode": NotificationMode.OFF, "healthy": False}
    return {
        "mode": settings.mode,
        "healthy": is_healthy(settings, now),
        "subscribed": bool(settings.subscription_id),
        "last_poll_at": settings.last_poll_at,
        "last_received_at": settings.last_received_at,
        "lag_seconds": settings.last_lag_seconds,
        "messages_received": settings.messages_received,
        "orders_imported": settings.orders_imported,
        "messages_skipped": settings.messages_skipped,
        "queue_error": settings.queue_error,
        "queue_error_since": settings.queue_error_since,
        "dead_letters": NotificationDeadLetter.objects.filter(store_id=store.pk).count(),
        "sweep_unannounced": settings.sweep_unannounced,
        "sweep_unannounced_total": settings.sweep_unannounced_total,
        "sweep_minutes": sweep_minutes(store, now),
    }
