"""Amazon schedule (Huey): a tick every minute enqueues the stores whose sync is due; daily housekeeping.

Tasks are idempotent: a sync of a store that is already syncing is skipped by the store's lock (which expires, so
a crashed worker cannot leave it stuck), and redaction only touches what is not redacted yet. Every worker process
runs the schedule (no single one is special): the tick claims each due store in the database, so two workers
ticking at the same minute enqueue it once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saleschannel.amazon.deadline_alerts import ship_by_alerts_send, ship_by_digests_send
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.notification_health import sweep_minutes
from saleschannel.amazon.privacy import purge_old_logs, redact_personal_data
from saleschannel.amazon.seller_performance import PerformanceReportError, fetch_performance_report
from saleschannel.amazon.sync import retry_open_orders, sync_store

logger = logging.getLogger(__name__)

# The minute tick runs a little early so that a store due "every 5 minutes" does not slip to 6.
DUE_TOLERANCE = timedelta(seconds=20)


def stores_due(now=None) -> list[AmazonStore]:
    """Active stores whose sync frequency has elapsed since their last attempt."""
    now = now or timezone.now()
    due = []
    for store in AmazonStore.objects.filter(is_active=True).only("pk", "sync_frequency_minutes",
                                                                 "last_sync_attempt_at"):
        last = store.last_sync_attempt_at
        # Rarer while the store's real-time notifications are healthy (notification_health.py).
        if last is None or now - last >= timedelta(minutes=sweep_minutes(store, now)) - DUE_TOLERANCE:
            due.append(store)
    return due


@db_task()
def amazon_sync_store(store_id: int) -> str:
    """One sync pass of one store (skipped when another pass holds the lock)."""
    store = AmazonStore.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        return "gone"
    run = sync_store(store=store)
    return run.state


@db_task()
def amazon_retry_open_orders(store_id: int) -> int:
    """Retry a store's orders in Error now (a product or SKU mapping they waited for appeared); returns how many
    got their Commerce order."""
    store = AmazonStore.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        return 0
    return retry_open_orders(store=store).created


@db_task()
def amazon_listings_read(read_id: int) -> str:
    """Read a store's listings from Amazon for the "Import your listings" page (idempotent: a read already done or
    failed is left alone, one left "reading" by a stopped worker is taken again)."""
    # Imported here: a real cycle (listings_jobs enqueues this task; listings, which it uses, imports waiting.py,
    # which imports this module).
    from saleschannel.amazon import listings_jobs

    return listings_jobs.listings_read_run(read_id=read_id)


def claim_due_stores(now=None) -> list[int]:
    """The due stores this caller may enqueue: each due store is claimed by marking its attempt now, only if the
    mark is still the one read (compare and set). Every worker runs the schedule, so with several workers the
    minute tick runs several times at once: one of them claims a store, the others skip it. The mark also keeps
    the next tick from enqueuing a store again while its sync waits in the queue."""
    claimed = []
    for store in stores_due(now):
        if AmazonStore.objects.filter(pk=store.pk, last_sync_attempt_at=store.last_sync_attempt_at).update(
                last_sync_attempt_at=timezone.now()):
            claimed.append(store.pk)
    return claimed


@db_periodic_task(crontab(minute="*"))
def amazon_schedule_syncs() -> int:
    claimed = claim_due_stores()
    for store_id in claimed:
        amazon_sync_store(store_id)
    return len(claimed)


@db_periodic_task(crontab(minute="17", hour="3"))
def amazon_housekeeping() -> dict:
    """Daily: redact the personal data that is due, purge old logs."""
    return {"redacted": redact_personal_data(), "purged": purge_old_logs()}


@db_periodic_task(crontab(minute="*/10"))
def amazon_listings_reads_resume() -> int:
    """Every 10 minutes: enqueue again the listings reads whose worker stopped (idempotent)."""
    from saleschannel.amazon import listings_jobs  # imported here: the cycle named in amazon_listings_read

    return listings_jobs.listings_reads_resume()


@db_periodic_task(crontab(minute="*/5"))
def amazon_ship_by_alerts() -> int:
    """Every 5 minutes: alert operators about orders newly within their store's ship-by threshold (once each)."""
    return ship_by_alerts_send()


@db_periodic_task(crontab(minute="0", hour="7"))
def amazon_ship_by_digest() -> int:
    """Daily at 7:00: each store's digest of the orders overdue or due within 24 hours (once per day)."""
    return ship_by_digests_send()


@db_task()
def amazon_fetch_performance_report(store_id: int) -> int:
    """Amazon's own seller metrics of one store (GET_V2_SELLER_PERFORMANCE_REPORT); returns how many marketplaces
    were stored (0 when Amazon could not produce it: tomorrow's run tries again)."""
    store = AmazonStore.objects.filter(pk=store_id, is_active=True).first()
    if store is None:
        return 0
    try:
        return len(fetch_performance_report(store))
    except PerformanceReportError as error:
        logger.warning("Amazon store %s: performance report not fetched: %s", store.name, error.message)
        return 0


@db_periodic_task(crontab(minute="43", hour="6"))
def amazon_performance_reports() -> int:
    """Daily: fetch Amazon's seller metrics of every active store (beside our projection on the dashboard)."""
    stores = list(AmazonStore.objects.filter(is_active=True).values_list("pk", flat=True))
    for store_id in stores:
        amazon_fetch_performance_report(store_id)
    return len(stores)
