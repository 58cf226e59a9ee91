"""Inbound sync: mirror Amazon orders, create Commerce orders exactly once, reflect Amazon's changes (§4.2–§4.4).

A sync pass polls ``searchOrders`` by *last updated* time over a window that ends at least two minutes before now
and starts a few minutes before the previous window's end (the overlap catches orders Amazon indexed late); every
page repeats the first page's query, plus the token. Orders seen for the first time are written a page per
transaction, the others one per transaction; an order that cannot be read or imported is kept in Error, never
dropped, so one bad order never blocks the others. The store's watermark (Amazon's ``lastUpdatedBefore``) moves
only after the window's last page is committed, so a crashed pass is simply redone and the overlap is harmless:

* one Amazon order id → one ``AmazonOrder`` row (unique), created or locked (``SELECT ... FOR UPDATE``) first;
* one ``AmazonOrder`` → at most one Commerce order (one-to-one, unique): a second worker that loses a race gets
  an ``IntegrityError``, its savepoint rolls its Commerce order back, and it reads the winner's.

Orders that could not be imported (status ``Error``) or that became importable while nothing changed on Amazon
(import switched on, product created) are retried from their stored copy at every pass, without calling Amazon;
orders whose last copy could not be read or imported (``refetch_needed``) are asked for again (getOrder).

This module is the pass (window, pages, watermark, refetch, retries); one order's import is ``order_import.py``,
its mirror ``mirror.py``, the store's lock ``locks.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext

from saleschannel.amazon import rules
from saleschannel.amazon.destinations import override_url_problem
from saleschannel.amazon.events import Message, msg
from saleschannel.amazon.health import store_health_record_failure, store_health_record_success
from saleschannel.amazon.locks import LockHeartbeat, close_interrupted_runs, lock_acquire, lock_owner, lock_release
from saleschannel.amazon.mirror import record_event
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderItem,
    AmazonOrderStatus,
    AmazonStore,
    EventLevel,
    SyncLock,
    SyncRun,
    SyncRunKind,
    SyncRunState,
)
from saleschannel.amazon.notification_health import record_sweep
from saleschannel.amazon.order_import import (
    ImportContext,
    Outcome,
    PageCounts,
    act_on_order,
    import_new_orders,
    import_order,
)
from saleschannel.amazon.privacy import keeps_personal_data
from saleschannel.amazon.spapi.errors import UnreadableOrder
from saleschannel.amazon.spapi.gateway import AmazonError, Gateway
from saleschannel.amazon.spapi.normalise import AmazonOrderData, OrdersQuery
from saleschannel.core import events as domain_events
from saleschannel.core.collector import rarer_garbage_collections
from saleschannel.core.i18n import gettext as _
from saleschannel.sales.services import statuses_cached

logger = logging.getLogger(__name__)

S = AmazonOrderStatus
OVERLAP = timedelta(minutes=5)
# Amazon refuses a window ending less than 2 minutes before now; keep a margin for clock skew.
SAFETY_LAG = timedelta(minutes=2, seconds=15)
INITIAL_LOOKBACK = timedelta(days=1)
RETRY_BATCH = 200


# --- Sync pass -----------------------------------------------------------------------------------------------


def sync_store(
    *, store: AmazonStore, gateway: Gateway | None = None, since: datetime | None = None,
    kind: str = SyncRunKind.SYNC, now: datetime | None = None, use_lock: bool = True,
    progress: Callable[[SyncRun], None] | None = None,
    after_order: Callable[[AmazonOrderData], None] | None = None,
) -> SyncRun:
    """One pass over the orders Amazon changed since the watermark (or ``since`` for a backfill).

    Returns the ``SyncRun`` (state succeeded, failed or skipped when another pass holds the lock). Amazon errors
    end the pass as failed (the watermark stays, the next pass redoes the window); other exceptions propagate
    after being recorded. ``after_order`` is called after each order's transaction (tests use it to crash a pass
    in the middle of a page).
    """
    # Notes, events and Commerce history are stored text: always in the site's language, whatever this thread had.
    with translation.override(settings.LANGUAGE_CODE), rarer_garbage_collections():
        return _sync_store(store=store, gateway=gateway, since=since, kind=kind, now=now, use_lock=use_lock,
                           progress=progress, after_order=after_order)


def _sync_store(*, store, gateway, since, kind, now, use_lock, progress, after_order) -> SyncRun:
    now = now or timezone.now()
    run = SyncRun.objects.create(store=store, kind=kind, started_at=timezone.now())
    owner = lock_owner()
    AmazonStore.objects.filter(pk=store.pk).update(last_sync_attempt_at=now)
    # A lock found and taken over belonged to a worker that stopped: its runs are orphans, whatever their age.
    taken_over = use_lock and SyncLock.objects.filter(store=store).exists()
    if use_lock and not lock_acquire(store=store, owner=owner):
        run.state = SyncRunState.SKIPPED
        run.finished_at = timezone.now()
        run.error = ""
        run.save(update_fields=["state", "finished_at", "error"])
        return run
    if use_lock:
        close_interrupted_runs(store=store, current=run, taken_over=taken_over)
    own_gateway = gateway is None
    gateway = gateway or Gateway.for_store(store)
    heartbeat = LockHeartbeat(store=store, owner=owner, enabled=use_lock, sleep=gateway._sleep)
    waits = gateway._sleep, gateway.pacer.sleep
    gateway._sleep = gateway.pacer.sleep = heartbeat.sleep  # long waits keep the lock alive
    calls_before = gateway.calls
    counts = PageCounts()
    store.refresh_from_db(fields=["last_updated_before"])
    scale = float(store.time_scale or 1)
    before = now - SAFETY_LAG / scale
    if since is not None:
        after = since
    elif store.last_updated_before is not None:
        after = store.last_updated_before - OVERLAP / scale
    else:
        after = now - INITIAL_LOOKBACK
    after = min(after, before - timedelta(seconds=1))
    run.window_start, run.window_end = after, before
    try:
        _refuse_unsafe_destination(store)
        query = OrdersQuery(after=after, before=before, max_results=gateway.page_size)
        page = None  # the page just imported; every next page repeats its query, plus the token
        watermark = None
        restarts = 0
        ahead = None  # the next page, being read while this one is imported
        while True:
            try:
                if ahead is not None:
                    page, ahead = ahead(), None
                elif page is None:
                    page = gateway.orders_page(query)
                else:
                    page = gateway.next_page(page)
            except AmazonError as error:
                # A pagination token lives 24 hours: a very long backfill restarts its window (orders already
                # imported are skipped cheaply) rather than fail.
                if page is not None and error.status == 400 and "token" in error.message.lower() and restarts < 3:
                    restarts += 1
                    page = None
                    continue
                raise
            if page.next_token:
                ahead = gateway.next_page_ahead(page)
            page_counts = import_orders(store=store, orders=page.orders, after_order=after_order)
            page_counts.add(keep_unreadable(store=store, unreadable=page.unreadable))
            counts.add(page_counts)
            run.pages += 1
            _fill_run(run, counts, gateway.calls - calls_before)
            run.save(update_fields=["pages", "orders_seen", "orders_created", "orders_updated", "orders_failed",
                                    "api_calls", "window_start", "window_end"])
            heartbeat.beat(force=True)
            if progress:
                progress(run)
            watermark = page.last_updated_before or watermark
            if not page.next_token:
                break
        # The whole window is committed: only now may the watermark move (never backwards).
        watermark = watermark or before
        current = AmazonStore.objects.filter(pk=store.pk).values_list("last_updated_before", flat=True).get()
        if current is None or watermark > current:
            AmazonStore.objects.filter(pk=store.pk).update(last_updated_before=watermark)
            store.last_updated_before = watermark
        swept = counts.created + counts.updated  # brought in by this pass itself (notifications: missed ones)
        counts.add(refetch_orders(store=store, gateway=gateway, exclude=counts.acted_on))
        counts.add(retry_open_orders(store=store, exclude=counts.acted_on))
        _fill_run(run, counts, gateway.calls - calls_before)
        run.state = SyncRunState.SUCCEEDED
        if counts.skipped:  # the pass went through, but not silently: the run tells what it could not keep
            run.error = ngettext(
                "%(count)d order Amazon sent had no order id and could not be kept; see the worker's log.",
                "%(count)d orders Amazon sent had no order id and could not be kept; see the worker's log.",
                counts.skipped) % {"count": counts.skipped}
        _succeed(store)
        record_sweep(store=store, found=swept)
    except AmazonError as error:
        _fail(run, store, error.message)
    except Exception as error:
        _fail(run, store, _("Unexpected error: %(type)s") % {"type": type(error).__name__})
        raise
    finally:
        _fill_run(run, counts, gateway.calls - calls_before)
        run.finished_at = timezone.now()
        if run.state == SyncRunState.RUNNING:
            run.state = SyncRunState.FAILED
        run.save()
        if use_lock:
            lock_release(store=store, owner=owner)
        gateway._sleep, gateway.pacer.sleep = waits
        if own_gateway:
            gateway.close()
    return run


def _refuse_unsafe_destination(store: AmazonStore) -> None:
    """A store saved before overrides had to be https (or loopback) does not send its secrets there any more."""
    for url in (store.endpoint_override, store.token_url_override):
        problem = override_url_problem(url)
        if problem:
            raise AmazonError(_("The store's endpoint or token URL override is not allowed: %(problem)s Edit the "
                                "store and enter the credentials again.") % {"problem": problem},
                              "UnsafeDestination", None, False)


def _fill_run(run: SyncRun, counts: PageCounts, calls: int) -> None:
    run.orders_seen, run.orders_created = counts.seen, counts.created
    run.orders_updated, run.orders_failed = counts.updated, counts.failed
    run.api_calls = calls


def _fail(run: SyncRun, store: AmazonStore, message: str) -> None:
    run.state = SyncRunState.FAILED
    run.error = message
    # Amazon's message on the store, the streak of failed passes, the alert at the third (health.py).
    store_health_record_failure(store=store, run=run, message=message)
    logger.warning("Amazon sync of store %s failed: %s", store.pk, message)


def _succeed(store: AmazonStore) -> None:
    # The last successful sync, and the end of a streak of failed passes and of its alert (health.py).
    store_health_record_success(store=store)


# --- One page -------------------------------------------------------------------------------------------------


def import_orders(*, store: AmazonStore, orders: list[AmazonOrderData],
                  after_order: Callable[[AmazonOrderData], None] | None = None) -> PageCounts:
    """Mirror a page of Amazon orders and act on them.

    Orders seen for the first time are written together, in one transaction and a few statements per table (see
    ``import_new_orders``); orders already mirrored, and new ones that need more than a plain creation, are handled
    one by one, each in its own transaction.
    """
    counts = PageCounts()
    if not orders:
        return counts
    ids = [o.amazon_order_id for o in orders]
    existing = {o.amazon_order_id: o for o in AmazonOrder.objects.filter(amazon_order_id__in=ids)}
    context = ImportContext(store, (item.seller_sku for o in orders for item in o.items))
    with statuses_cached():  # a page asks the same status questions for every order: once is enough
        seen: set[str] = set()
        new, one_by_one = [], []
        for data in orders:
            if data.amazon_order_id in existing or data.amazon_order_id in seen:
                one_by_one.append(data)
            else:
                new.append(data)
            seen.add(data.amazon_order_id)
        one_by_one = import_new_orders(context, new, counts, after_order) + one_by_one
        _import_one_by_one(context, one_by_one, existing, counts, after_order)
    return counts


def _import_one_by_one(context: ImportContext, orders: list[AmazonOrderData], existing: dict[str, AmazonOrder],
                       counts: PageCounts, after_order: Callable[[AmazonOrderData], None] | None) -> None:
    for data in orders:
        counts.seen += 1
        try:
            outcome = import_order(context=context, data=data, existing=existing.get(data.amazon_order_id))
        except Exception as error:
            # Never let one order stop the page, and never lose it: it is kept in Error, as sent, and fetched again
            # at the next passes (see refetch_orders).
            logger.exception("Amazon order %s could not be processed", data.amazon_order_id)
            counts.failed += 1
            counts.acted_on.add(data.amazon_order_id)
            _keep_in_error(store=context.store, amazon_order_id=data.amazon_order_id, raw=data.raw,
                           reason=msg("import_failed", type=type(error).__name__))
        else:
            if outcome != Outcome.UNCHANGED:
                counts.acted_on.add(data.amazon_order_id)
            if outcome == Outcome.CREATED:
                counts.created += 1
            elif outcome == Outcome.ERROR:
                counts.failed += 1
            elif outcome == Outcome.UPDATED:
                counts.updated += 1
        if after_order:
            after_order(data)


# --- Orders that cannot be read or imported: kept, never lost ---------------------------------------------------


def keep_unreadable(*, store: AmazonStore, unreadable: list[UnreadableOrder]) -> PageCounts:
    """Orders of a page that Amazon sent in a shape we cannot read: each is kept as sent, in Error with a note that
    names the field, and fetched again at the next passes; the rest of the page is imported as usual."""
    counts = PageCounts()
    for error in unreadable:
        counts.seen += 1
        counts.failed += 1
        counts.acted_on.add(error.amazon_order_id)
        if not error.amazon_order_id:
            # Nothing to file it under: the run says so, and the log names the field.
            counts.skipped += 1
            logger.warning("Amazon store %s: an order without an order id was skipped (%s)", store.pk, error.field)
            continue
        _keep_in_error(store=store, amazon_order_id=error.amazon_order_id, raw=error.raw, reason=error.message)
    return counts


def _keep_in_error(*, store: AmazonStore, amazon_order_id: str, raw: dict, reason: Message | str) -> None:
    """File the order in Error with ``reason`` (its own transaction), creating the row if it is new."""
    text = str(reason)
    try:
        with transaction.atomic():
            order = AmazonOrder.objects.select_for_update().filter(amazon_order_id=amazon_order_id).first()
            if order is not None and order.store_id != store.pk:
                logger.warning("Amazon order %s belongs to another Amazon store; skipped", amazon_order_id)
                return
            if order is None:
                order = AmazonOrder(store=store, amazon_order_id=amazon_order_id[:32], amazon_status=S.PENDING,
                                    purchase_date=timezone.now())
            repeated = order.status == S.ERROR and order.import_error == text
            order.status = S.ERROR
            order.import_error = text
            order.refetch_needed = True
            if keeps_personal_data(order):  # once redacted, personal data is never stored again
                order.raw = raw or {}
            events: list[AmazonOrderEvent] = []
            record_event(order, events, "error", reason, level=EventLevel.ERROR, note=not repeated)
            order.save()
            if not repeated:
                AmazonOrderEvent.objects.bulk_create(events)
                domain_events.publish(domain_events.AMAZON_ORDER_ERROR, domain_events.amazon_order_error_payload(order))
    except Exception:
        logger.exception("Amazon order %s could not be kept in Error", amazon_order_id)


def refetch_orders(*, store: AmazonStore, gateway: Gateway, exclude: set[str] = frozenset(),
                   limit: int = RETRY_BATCH) -> PageCounts:
    """Ask Amazon again (getOrder) for the orders kept in Error because their last copy could not be read or
    imported, and import what comes back; an order still unreadable stays in Error with the new reason."""
    counts = PageCounts()
    candidates = list(AmazonOrder.objects.filter(store=store, refetch_needed=True)
                      .exclude(amazon_order_id__in=list(exclude)).order_by("updated_at")[:limit])
    for candidate in candidates:
        try:
            data = gateway.get_order(candidate.amazon_order_id)
        except UnreadableOrder as error:
            counts.seen += 1
            counts.failed += 1
            _keep_in_error(store=store, amazon_order_id=candidate.amazon_order_id, raw=error.raw,
                           reason=error.message)
            continue
        except AmazonError as error:
            logger.info("Fetching Amazon order %s again failed: %s", candidate.amazon_order_id, error.message)
            counts.seen += 1
            counts.failed += 1
            if not error.retryable:
                continue
            break  # Amazon is unwell: the next pass tries again
        counts.add(import_orders(store=store, orders=[data]))
    return counts


# --- Retries from the stored copy ----------------------------------------------------------------------------


def retry_open_orders(*, store: AmazonStore, exclude: set[str] = frozenset(), limit: int = RETRY_BATCH) -> PageCounts:
    """Act again on orders that have no Commerce order but might get one now (Error, import switched on ...)."""
    counts = PageCounts()
    creatable = Q(fulfillment_channel="MFN", amazon_status__in=list(rules.CREATABLE_FBM)) | Q(
        fulfillment_channel="AFN", amazon_status=S.SHIPPED)
    if not store.import_enabled:
        return counts
    candidates = list(
        # Orders waiting to be fetched again are not acted on from a copy Amazon has since replaced.
        AmazonOrder.objects.filter(store=store, commerce_order__isnull=True, refetch_needed=False).filter(creatable)
        .exclude(amazon_order_id__in=list(exclude)).order_by("purchase_date")[:limit]
    )
    if not candidates:
        return counts
    skus = AmazonOrderItem.objects.filter(order__in=candidates).values_list("seller_sku", flat=True)
    context = ImportContext(store, skus)
    for candidate in candidates:
        counts.seen += 1
        try:
            with transaction.atomic():
                order = AmazonOrder.objects.select_for_update().get(pk=candidate.pk)
                if order.commerce_order_id:
                    continue
                events: list[AmazonOrderEvent] = []
                outcome = act_on_order(context, order, events)
                order.save()
                AmazonOrderEvent.objects.bulk_create(events)
        except Exception:
            logger.exception("Retrying Amazon order %s failed", candidate.amazon_order_id)
            counts.failed += 1
            continue
        if outcome == Outcome.CREATED:
            counts.created += 1
        elif outcome == Outcome.ERROR:
            counts.failed += 1
    return counts
