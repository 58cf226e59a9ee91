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
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext

from saleschannel.amazon import rules
from saleschannel.amazon.health import store_health_record_failure, store_health_record_success
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderItem,
    AmazonOrderStatus,
    AmazonStore,
    CustomerCreation,
    EventDirection,
    EventLevel,
    OrderNumberSource,
    OrderStatusMode,
    SyncLock,
    SyncRun,
    SyncRunKind,
    SyncRunState,
)
from saleschannel.amazon.origin import INBOUND_ACTOR, applying_amazon_change
from saleschannel.amazon.privacy import AMAZON_FIELDS as PERSONAL_FIELDS
from saleschannel.amazon.privacy import keeps_personal_data
from saleschannel.amazon.services import override_url_problem
from saleschannel.amazon.spapi.errors import UnreadableOrder
from saleschannel.amazon.spapi.gateway import AmazonError, AmazonOrderData, AmazonPackageData, Gateway, OrdersQuery
from saleschannel.catalog.models import Product
from saleschannel.catalog.services import StockError, stock_release, stock_reserve_many
from saleschannel.core.bulk import insert_new, link
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import quantum, to_money
from saleschannel.customers.services import CustomerError, customer_get_or_create
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderState, OrderStatus, ShipmentTrack
from saleschannel.sales.services import (
    order_cancel_for_channel,
    order_comment_add,
    order_create,
    order_prepare,
    orders_create_many,
    shipment_create,
    statuses_cached,
    stock_reference,
)

logger = logging.getLogger(__name__)

S = AmazonOrderStatus
OVERLAP = timedelta(minutes=5)
# Amazon refuses a window ending less than 2 minutes before now; keep a margin for clock skew.
SAFETY_LAG = timedelta(minutes=2, seconds=15)
INITIAL_LOOKBACK = timedelta(days=1)
# A pass renews its lock at every page and while it waits (see _Heartbeat), so a lock older than this belongs to
# a worker that stopped: another may take it. A dead worker on this host is seen at once (its process is gone).
LOCK_TTL = timedelta(minutes=2)
HEARTBEAT_SECONDS = 30.0
RETRY_BATCH = 200
GC_FIRST_GENERATION = 50_000  # allocations between two collections of the youngest objects during a pass
ORDER_FIELDS = (
    "marketplace_id", "sales_channel", "fulfillment_channel", "ship_service_level",
    "shipment_service_level_category", "buyer_name", "buyer_email", "buyer_company", "currency", "order_total",
    "is_prime", "is_premium", "is_business", "is_replacement", "items_shipped", "items_unshipped", "purchase_date",
    "latest_ship_date", "latest_delivery_date", "last_update_date",
)
ADDRESS_FIELDS = {
    "ship_name": "name", "ship_company": "company", "ship_address_line1": "line1", "ship_address_line2": "line2",
    "ship_address_line3": "line3", "ship_city": "city", "ship_region": "region", "ship_postal_code": "postal_code",
    "ship_country_code": "country_code", "ship_phone": "phone",
}
ITEM_FIELDS = (
    "asin", "seller_sku", "title", "condition", "qty_ordered", "qty_shipped", "item_price", "item_tax",
    "shipping_price", "shipping_tax", "shipping_discount", "shipping_discount_tax", "promotion_discount",
    "promotion_discount_tax", "buyer_requested_cancel", "buyer_cancel_reason",
)
CARRIERS = {
    "ups": "ups", "usps": "usps", "fedex": "fedex", "dhl": "dhl", "royal mail": "royal_mail", "royalmail": "royal_mail",
    "dpd": "dpd", "gls": "gls", "colissimo": "colissimo", "chronopost": "chronopost",
}


# What acting on an order may change (everything but the mirror and the raw copy written by the insert).
_MUTABLE_FIELDS = ["status", "amazon_status", "notes", "import_error", "import_attempts", "is_reserved",
                   "commerce_order", "buyer_cancel_requested", "buyer_cancel_reason", "refetch_needed", "updated_at"]


class Outcome(StrEnum):
    """What importing one Amazon order did."""

    CREATED = "created"  # its Commerce order was created
    UPDATED = "updated"  # mirrored and acted on (status, reservation, changes from Amazon)
    UNCHANGED = "unchanged"  # an overlap repeat: nothing new
    ERROR = "error"  # kept in Error, with a note saying why


class SyncBusy(Exception):
    """Another sync of the same store holds the lock."""


# --- Lock ----------------------------------------------------------------------------------------------------


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lock_acquire(*, store: AmazonStore, owner: str, ttl: timedelta = LOCK_TTL) -> bool:
    """Take the store's sync lock unless a live owner holds an unexpired one. Safe between processes.

    An expired lock is taken over; so is one whose owner ran on this host in a process that no longer exists
    (killed, crashed), without waiting for it to expire.
    """
    now = timezone.now()
    with transaction.atomic():
        if SyncLock.objects.filter(store=store, expires_at__lt=now).update(
                owner=owner, acquired_at=now, expires_at=now + ttl):
            return True
        try:
            with transaction.atomic():
                SyncLock.objects.create(store=store, owner=owner, acquired_at=now, expires_at=now + ttl)
            return True
        except IntegrityError:
            pass
        held_by = SyncLock.objects.filter(store=store).values_list("owner", flat=True).first()
        if held_by and owner_is_gone(held_by):
            return bool(SyncLock.objects.filter(store=store, owner=held_by).update(
                owner=owner, acquired_at=now, expires_at=now + ttl))
        return False


def owner_is_gone(owner: str) -> bool:
    """Whether a lock's owner (``host:pid:nonce``) is known to be dead: it ran on this host and its process is gone.
    Owners on other hosts cannot be checked from here: their locks end when they expire."""
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, under another user
        return False
    return False


# A run is created a moment before its worker asks for the lock: one younger than this may be another worker's,
# about to be skipped, not an orphan. An orphan this young is closed by the next pass instead.
ORPHAN_MIN_AGE = timedelta(seconds=30)


def close_interrupted_runs(*, store: AmazonStore, current: SyncRun, taken_over: bool = False) -> int:
    """Runs of ``store`` left "running" by a worker that stopped: whoever holds the lock now closes them — every
    earlier one when the lock was taken over from that worker, else only those older than ``ORPHAN_MIN_AGE``."""
    started_before = current.started_at - (timedelta(0) if taken_over else ORPHAN_MIN_AGE)
    return SyncRun.objects.filter(store=store, state=SyncRunState.RUNNING,
                                  started_at__lt=started_before).exclude(pk=current.pk).update(
        state=SyncRunState.INTERRUPTED, finished_at=timezone.now(),
        error=_("The worker running this sync stopped before it finished; a later sync redid its window."))


class _Heartbeat:
    """Renews the store's sync lock while a pass works or waits (pacing, retries), so that a live pass keeps its
    lock with a short time-to-live. Waits are cut into slices of at most ``HEARTBEAT_SECONDS``, on this thread (the
    lock is a database row: one connection)."""

    def __init__(self, *, store: AmazonStore, owner: str, enabled: bool, sleep: Callable[[float], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.owner, self.enabled = store, owner, enabled
        self._sleep, self._clock = sleep, clock
        self._last = clock()

    def beat(self, *, force: bool = False) -> None:
        if self.enabled and (force or self._clock() - self._last >= HEARTBEAT_SECONDS):
            lock_renew(store=self.store, owner=self.owner)
            self._last = self._clock()

    def sleep(self, seconds: float) -> None:
        while seconds > 0:
            step = min(seconds, HEARTBEAT_SECONDS)
            self._sleep(step)
            seconds -= step
            self.beat()


def lock_renew(*, store: AmazonStore, owner: str, ttl: timedelta = LOCK_TTL) -> bool:
    return bool(SyncLock.objects.filter(store=store, owner=owner).update(expires_at=timezone.now() + ttl))


def lock_release(*, store: AmazonStore, owner: str) -> None:
    SyncLock.objects.filter(store=store, owner=owner).delete()


@contextmanager
def rarer_garbage_collections(first_generation: int = GC_FIRST_GENERATION) -> Iterator[None]:
    """Let Python's cycle collector run less often during a sync pass.

    A page builds thousands of short-lived model instances; with the default threshold (700 allocations) the
    collector runs hundreds of times per page, each time walking objects that are about to be freed anyway, which
    cost about a third of the import's time. The pass frees its objects page by page, so the cycles it leaves
    behind stay bounded; the previous thresholds come back afterwards.
    """
    previous = gc.get_threshold()
    gc.set_threshold(max(first_generation, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


# --- Sync pass -----------------------------------------------------------------------------------------------


@dataclass
class PageCounts:
    seen: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0  # orders that could not even be kept (no order id): the run says so
    acted_on: set[str] = field(default_factory=set)  # orders handled in this pass (not retried again in it)

    def add(self, other: PageCounts) -> None:
        self.seen += other.seen
        self.created += other.created
        self.updated += other.updated
        self.failed += other.failed
        self.skipped += other.skipped
        self.acted_on |= other.acted_on


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
    heartbeat = _Heartbeat(store=store, owner=owner, enabled=use_lock, sleep=gateway._sleep)
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


# --- One page ------------------------------------------------------------------------------------------------


class _Context:
    """What a page shares: the store, its products by SKU (one query per page)."""

    def __init__(self, store: AmazonStore, skus: Iterable[str]) -> None:
        self.store = store
        skus = {s for s in skus if s}
        self.products = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
        self._processing_status: str | None = None

    @property
    def processing_status(self) -> str | None:
        """The default status of the processing state (merchants may have changed which one it is)."""
        if self._processing_status is None:
            self._processing_status = OrderStatus.objects.filter(
                state=OrderState.PROCESSING, is_default=True).values_list("code", flat=True).first() or ""
        return self._processing_status or None


def import_orders(*, store: AmazonStore, orders: list[AmazonOrderData],
                  after_order: Callable[[AmazonOrderData], None] | None = None) -> PageCounts:
    """Mirror a page of Amazon orders and act on them.

    Orders seen for the first time are written together, in one transaction and a few statements per table (see
    ``_import_new_orders``); orders already mirrored, and new ones that need more than a plain creation, are handled
    one by one, each in its own transaction.
    """
    counts = PageCounts()
    if not orders:
        return counts
    ids = [o.amazon_order_id for o in orders]
    existing = {o.amazon_order_id: o for o in AmazonOrder.objects.filter(amazon_order_id__in=ids)}
    context = _Context(store, (item.seller_sku for o in orders for item in o.items))
    with statuses_cached():  # a page asks the same status questions for every order: once is enough
        seen: set[str] = set()
        new, one_by_one = [], []
        for data in orders:
            if data.amazon_order_id in existing or data.amazon_order_id in seen:
                one_by_one.append(data)
            else:
                new.append(data)
            seen.add(data.amazon_order_id)
        one_by_one = _import_new_orders(context, new, counts, after_order) + one_by_one
        _import_one_by_one(context, one_by_one, existing, counts, after_order)
    return counts


def _batchable(store: AmazonStore, order: AmazonOrder, decision: rules.ImportDecision) -> bool:
    """Whether a new order's whole import is a plain insert (no stock held yet, no shipment, no customer account)."""
    if decision.outcome == rules.Outcome.CREATE:
        return not decision.as_complete and not (
            store.customer_creation == CustomerCreation.ACCOUNT and order.buyer_email)
    return decision.outcome in (rules.Outcome.WAIT, rules.Outcome.RELEASE)  # mirrored only


def _import_new_orders(context: _Context, datas: list[AmazonOrderData], counts: PageCounts,
                       after_order: Callable[[AmazonOrderData], None] | None) -> list[AmazonOrderData]:
    """Import orders seen for the first time in one transaction: Commerce orders, then the Amazon orders, their
    items and events, one ``INSERT`` per table for the whole page.

    The same rules as one by one: every order is checked first (an order that cannot be created is mirrored as
    ``Error`` with its note, and the others go on); exactly once is still the unique Amazon order id, so a pass
    racing this one makes the whole batch roll back (``IntegrityError``) and the page is redone order by order,
    which sees the other pass's rows. A crash anywhere rolls the whole batch back; the watermark has not moved,
    so the next pass redoes the page.

    Returns the orders left for the one-by-one path.
    """
    store = context.store
    target = store.target_store
    batch, left = [], []
    creating = []
    for data in datas:
        order = AmazonOrder(store=store, amazon_order_id=data.amazon_order_id, amazon_status=data.status,
                            status=data.status, raw=data.raw)
        _copy_order(order, data)
        decision = rules.import_decision(
            fulfillment_channel=order.fulfillment_channel, amazon_status=order.amazon_status,
            import_enabled=store.import_enabled, reserve_pending=store.reserve_pending, import_fba=store.import_fba,
        )
        if not _batchable(store, order, decision):
            left.append(data)
            continue
        items = [_new_item(order, item) for item in data.items]
        events: list[AmazonOrderEvent] = []
        _event(order, events, "mirrored", _("Order received from Amazon with status %(status)s.")
               % {"status": S(data.status).label}, note=False)
        if data.buyer_requested_cancel:
            _flag_buyer_cancel(order, events, data)
        if decision.outcome == rules.Outcome.CREATE:
            order.import_attempts += 1
            try:
                problem = _precheck(context, order, items, target)
                if problem is None:
                    creating.append((order, events, order_prepare(
                        check_number=False, **_commerce_order_arguments(context, order, items, as_complete=False))))
            except OrderActionError as error:
                problem = error.message
            except Exception:  # a fault of ours with this order: let the one-by-one path record it
                logger.exception("Amazon order %s could not be prepared", data.amazon_order_id)
                left.append(data)
                continue
            if problem:
                _mark_error(order, events, problem)
        batch.append((data, order, items, events))
    if not batch:
        return left
    try:
        with transaction.atomic(), applying_amazon_change():
            commerce_orders = orders_create_many(new_orders=[new for _order, _events, new in creating])
            for (order, events, _new), commerce in zip(creating, commerce_orders, strict=True):
                _imported(context, order, events, commerce, as_complete=False)
            insert_new([order for _data, order, _items, _events in batch])
            insert_new([item for _data, _order, items, _events in batch for item in items])
            insert_new(
                [event for _data, _order, _items, events in batch for event in events])
            if after_order:
                for data, *_rest in batch:
                    after_order(data)
    except (IntegrityError, OrderActionError, StockError) as error:
        logger.info("Amazon orders of store %s imported one by one: %s", store.pk, error)
        return [data for data, *_rest in batch] + left
    for data, order, _items, _events in batch:
        counts.seen += 1
        counts.acted_on.add(data.amazon_order_id)
        if order.status == S.ERROR:
            counts.failed += 1
        elif order.commerce_order_id:
            counts.created += 1
        else:
            counts.updated += 1
    return left


def _import_one_by_one(context: _Context, orders: list[AmazonOrderData], existing: dict[str, AmazonOrder],
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
                           reason=_("Importing this order failed unexpectedly (%(type)s); it is tried again at the "
                                    "next sync.") % {"type": type(error).__name__})
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


def import_order(*, context: _Context, data: AmazonOrderData, existing: AmazonOrder | None) -> Outcome:
    """Upsert one Amazon order and act on it; returns created, updated, unchanged or error."""
    store = context.store
    if existing is not None and existing.store_id != store.pk:
        logger.warning("Amazon order %s belongs to another Amazon store; skipped", data.amazon_order_id)
        return Outcome.UNCHANGED
    if (existing is not None and existing.last_update_date == data.last_update_date
            and existing.status != S.ERROR and existing.amazon_status == data.status):
        return Outcome.UNCHANGED  # an overlap repeat: nothing new on Amazon, nothing left to do here
    with transaction.atomic():
        order, events = _upsert(store, data, existing)
        outcome = _act(context, order, events, packages=data.packages)
        if getattr(order, "_inserted_now", False):
            # Just inserted with its raw JSON: write back only what acting on it changed.
            order.save(update_fields=_MUTABLE_FIELDS)
        else:
            order.save()
        AmazonOrderEvent.objects.bulk_create(events)
    return outcome


def _upsert(store: AmazonStore, data: AmazonOrderData, existing: AmazonOrder | None):
    events: list[AmazonOrderEvent] = []
    order = None
    if existing is None:
        order = AmazonOrder(store=store, amazon_order_id=data.amazon_order_id, amazon_status=data.status,
                            status=data.status)
        _copy_order(order, data)
        order.raw = data.raw
        try:
            with transaction.atomic():
                order.save(force_insert=True)
        except IntegrityError:  # another worker inserted it a moment ago: continue with theirs
            existing = AmazonOrder.objects.get(amazon_order_id=data.amazon_order_id)
            order = None
        else:
            order._inserted_now = True
            items = AmazonOrderItem.objects.bulk_create([_new_item(order, item) for item in data.items])
            # Later reads of order.items.all() use these instead of asking the database again.
            order._prefetched_objects_cache = {"items": AmazonOrderItem.objects.none()}
            order._prefetched_objects_cache["items"]._result_cache = items
            _event(order, events, "mirrored", _("Order received from Amazon with status %(status)s.")
                   % {"status": S(data.status).label}, note=False)
            if data.buyer_requested_cancel:
                _flag_buyer_cancel(order, events, data)
            return order, events
    # Existing row: lock it, so a concurrent pass waits here and then sees what this one did.
    order = AmazonOrder.objects.select_for_update().get(pk=existing.pk)
    previous_status = order.amazon_status
    had_cancel_request = order.buyer_cancel_requested
    if order.refetch_needed:
        # Kept in Error because Amazon's last copy could not be read or imported: this one can, so the order
        # takes Amazon's status again and is acted on below like any other.
        order.refetch_needed = False
        order.import_error = ""
        order.status = data.status
    _copy_order(order, data)
    order.raw = data.raw if keeps_personal_data(order) else {}
    order.amazon_status = data.status
    items = {i.order_item_id: i for i in order.items.all()}
    new_items, changed = [], []
    for item_data in data.items:
        item = items.get(item_data.order_item_id)
        if item is None:
            new_items.append(_new_item(order, item_data))
            continue
        if any(getattr(item, f) != getattr(item_data, f) for f in ITEM_FIELDS):
            for f in ITEM_FIELDS:
                setattr(item, f, getattr(item_data, f))
            changed.append(item)
    if new_items:
        AmazonOrderItem.objects.bulk_create(new_items)
    if changed:
        AmazonOrderItem.objects.bulk_update(changed, list(ITEM_FIELDS))
    if previous_status != data.status:
        _event(order, events, "status", _("Status updated to %(status)s.") % {"status": S(data.status).label})
        if order.status not in (S.ERROR,):
            order.status = data.status
    if data.buyer_requested_cancel and not had_cancel_request:
        _flag_buyer_cancel(order, events, data)
    return order, events


def _copy_order(order: AmazonOrder, data: AmazonOrderData) -> None:
    personal = keeps_personal_data(order)
    for name in ORDER_FIELDS:
        if not personal and name in PERSONAL_FIELDS:
            continue  # redacted for good: a later change on Amazon does not bring it back
        value = getattr(data, name)
        if value is None and name not in ("order_total", "latest_ship_date", "latest_delivery_date",
                                          "last_update_date"):
            continue
        if name == "order_total" and value is None and order.order_total is not None:
            continue  # keep the total once known
        setattr(order, name, value)
    if data.address is not None and order.address_edited_at is None:
        for model_field, data_field in ADDRESS_FIELDS.items():
            if personal or model_field not in PERSONAL_FIELDS:
                setattr(order, model_field, getattr(data.address, data_field)[:255])
    if data.payment_method:
        order.payment_method = data.payment_method
    order.buyer_cancel_requested = order.buyer_cancel_requested or data.buyer_requested_cancel


def _new_item(order: AmazonOrder, item) -> AmazonOrderItem:
    row = AmazonOrderItem(order_item_id=item.order_item_id, **{f: getattr(item, f) for f in ITEM_FIELDS})
    link(row, "order", order)
    return row


def _flag_buyer_cancel(order: AmazonOrder, events: list, data: AmazonOrderData) -> None:
    reason = next((i.buyer_cancel_reason for i in data.items if i.buyer_requested_cancel), "")
    order.buyer_cancel_requested = True
    order.buyer_cancel_reason = reason[:255]
    _event(order, events, "buyer_cancel",
           _("The buyer requested cancellation: %(reason)s") % {"reason": reason or _("no reason given")},
           level=EventLevel.WARNING)


def _event(order: AmazonOrder, events: list, kind: str, message: str, *, level: str = EventLevel.INFO,
           direction: str = EventDirection.INBOUND, note: bool = True) -> None:
    event = AmazonOrderEvent(kind=kind, message=message, level=level, direction=direction, actor=INBOUND_ACTOR)
    link(event, "order", order)
    events.append(event)
    if note:
        order.notes = message[:512]


# --- What to do with an order --------------------------------------------------------------------------------


def _act(context: _Context, order: AmazonOrder, events: list, *, packages: list[AmazonPackageData] = ()) -> Outcome:
    store = context.store
    if order.commerce_order_id:
        _apply_amazon_changes(order, events, packages)
        return Outcome.UPDATED
    decision = rules.import_decision(
        fulfillment_channel=order.fulfillment_channel, amazon_status=order.amazon_status,
        import_enabled=store.import_enabled, reserve_pending=store.reserve_pending, import_fba=store.import_fba,
    )
    if decision.outcome == rules.Outcome.CREATE:
        created = _create_commerce_order(context, order, events, as_complete=decision.as_complete, packages=packages)
        if created:
            _apply_amazon_changes(order, events, packages)
            return Outcome.CREATED
        return Outcome.ERROR
    if order.status == S.ERROR:  # no longer importable (e.g. canceled): the error is moot
        order.import_error = ""
        order.status = order.amazon_status
    if decision.outcome == rules.Outcome.RESERVE and not order.is_reserved:
        _reserve_pending(context, order, events)
    elif decision.outcome == rules.Outcome.RELEASE and order.is_reserved:
        released = stock_release(reference=order.reservation_reference)
        order.is_reserved = False
        _event(order, events, "released", _("Reserved inventory released (%(qty)d unit(s)).") % {"qty": released})
    return Outcome.UPDATED


def _reserve_pending(context: _Context, order: AmazonOrder, events: list) -> None:
    items = list(order.items.all())
    quantities: dict[Product, int] = {}
    for item in items:
        product = context.products.get(item.seller_sku)
        if product is None:
            product = Product.objects.filter(sku=item.seller_sku).first()
        if product is None or not product.enabled:
            _event(order, events, "reserve_failed", _("Unable to reserve inventory as the quantity is not available."),
                   level=EventLevel.WARNING)
            return
        quantities[product] = quantities.get(product, 0) + item.qty_ordered
    try:
        with transaction.atomic():
            stock_reserve_many(quantities=quantities, reference=order.reservation_reference)
    except StockError:
        _event(order, events, "reserve_failed", _("Unable to reserve inventory as the quantity is not available."),
               level=EventLevel.WARNING)
        return
    order.is_reserved = True
    _event(order, events, "reserved", _("Inventory reserved"))


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = (name or "").strip().partition(" ")
    return first.strip(), last.strip()


def _commerce_address(order: AmazonOrder) -> dict:
    first, last = _split_name(order.ship_name or order.buyer_name)
    return {
        "first_name": first or _("Amazon"),
        "last_name": last or _("Customer"),
        "company": order.ship_company or order.buyer_company,
        "street1": order.ship_address_line1,
        "street2": order.ship_address_line2,
        "street3": order.ship_address_line3,
        "city": order.ship_city,
        "region": order.ship_region,
        "postcode": order.ship_postal_code,
        "country_code": order.ship_country_code,
        "phone": order.ship_phone,
    }


def placeholder_email(amazon_order_id: str) -> str:
    return f"{amazon_order_id}@marketplace.amazon.invalid"


def _precheck(context: _Context, order: AmazonOrder, items: list[AmazonOrderItem], target_store) -> str | None:
    """Reasons known before trying (cheap, from the page's products); the order services check stock again."""
    if order.order_total is None:
        return _("Amazon has not given the order total yet.")
    if order.currency and order.currency != target_store.currency:
        return _("The order is in %(currency)s but Commerce store %(store)s uses %(store_currency)s.") % {
            "currency": order.currency, "store": target_store.name, "store_currency": target_store.currency}
    if not items:
        return _("Amazon gave no items for this order.")
    wanted: dict[str, int] = {}
    for item in items:
        wanted[item.seller_sku] = wanted.get(item.seller_sku, 0) + item.qty_ordered
    for sku, qty in wanted.items():
        product = context.products.get(sku)
        if product is None:
            product = Product.objects.filter(sku=sku).first()
            if product is not None:
                context.products[sku] = product
        if product is None or not product.enabled or not product.is_in_stock:
            return rules.product_problem(product, sku=sku, qty=qty, fba=order.is_fba)
    return None


def _commerce_order_arguments(context: _Context, order: AmazonOrder, items: list[AmazonOrderItem], *,
                               as_complete: bool) -> dict:
    """``order_prepare``/``order_create`` arguments for the Commerce order of ``order`` (without the customer)."""
    store = context.store
    target = store.target_store
    currency = order.currency or target.currency
    lines = []
    for item in items:
        row = to_money(item.item_price, currency)
        unit = (row / item.qty_ordered).quantize(quantum(currency)) if item.qty_ordered else row
        lines.append({
            "sku": item.seller_sku, "qty": item.qty_ordered, "price": unit, "original_price": unit, "row_total": row,
            "tax_amount": to_money(item.item_tax, currency),
            "discount_amount": to_money(item.promotion_discount, currency),
            "name": (item.title or item.seller_sku)[:255], "external_item_id": item.order_item_id,
        })
    first, last = _split_name(order.buyer_name or order.ship_name)
    first, last = first or _("Amazon"), last or _("Customer")
    email = order.buyer_email or placeholder_email(order.amazon_order_id)
    address = _commerce_address(order)
    address["email"] = email
    shipping = sum((i.shipping_price for i in items), Decimal("0"))
    shipping_tax = sum((i.shipping_tax for i in items), Decimal("0"))
    shipping_discount = sum((i.shipping_discount for i in items), Decimal("0"))
    status = None
    if store.order_status_mode == OrderStatusMode.CUSTOM and store.custom_processing_status:
        status = store.custom_processing_status
    elif not as_complete:
        status = context.processing_status
    level = order.ship_service_level or order.shipment_service_level_category
    return dict(
        store=target, items=lines, customer_email=email, customer_first_name=first,
        customer_last_name=last, billing_address=address, shipping_address=address,
        payment_method_code="amazon", payment_method_title=_("Amazon Channel Payment"),
        payment_additional_information={_("Amazon Order Number"): order.amazon_order_id},
        shipping_method_code="amazon",
        shipping_method_title=(_("Amazon Channel Shipping") + (f" - {level}" if level else ""))[:255],
        shipping_amount=to_money(shipping, currency), shipping_tax_amount=to_money(shipping_tax, currency),
        discount_amount=to_money(shipping_discount, currency), origin="amazon",
        external_order_number=order.amazon_order_id,
        number=order.amazon_order_id if store.order_number_source == OrderNumberSource.AMAZON else None,
        created_at=order.purchase_date, status=status, reserve_stock=not as_complete,
        check_stock=not as_complete, send_email=False, expected_grand_total=order.order_total,
        # Invoiced in the same statements as the order (as invoice_create would, without re-reading it).
        invoice=store.invoice_on_import or as_complete, products=context.products, actor=INBOUND_ACTOR,
    )


def _create_commerce_order(context: _Context, order: AmazonOrder, events: list, *, as_complete: bool,
                           packages: list[AmazonPackageData]) -> bool:
    store = context.store
    items = list(order.items.all())
    order.import_attempts += 1
    problem = _precheck(context, order, items, store.target_store)
    if problem:
        _mark_error(order, events, problem)
        return False
    arguments = _commerce_order_arguments(context, order, items, as_complete=as_complete)
    try:
        with transaction.atomic(), applying_amazon_change():
            if order.is_reserved:
                # The Pending reservation moves to the Commerce order, which reserves under its own name below.
                stock_release(reference=order.reservation_reference)
            customer = None
            if store.customer_creation == CustomerCreation.ACCOUNT and order.buyer_email:
                customer = customer_get_or_create(
                    email=arguments["customer_email"], first_name=arguments["customer_first_name"],
                    last_name=arguments["customer_last_name"], store=store.target_store)
            commerce = order_create(customer=customer, **arguments)
            if as_complete:
                shipment_create(order=commerce, tracks=_tracks(packages, set()), actor=INBOUND_ACTOR)
            order.commerce_order = commerce
            # The unique one-to-one decides between two workers racing on the same order.
            AmazonOrder.objects.filter(pk=order.pk).update(commerce_order=commerce)
    except (OrderActionError, StockError, CustomerError) as error:
        _mark_error(order, events, error.message)
        return False
    except IntegrityError:
        order.commerce_order_id = AmazonOrder.objects.filter(pk=order.pk).values_list(
            "commerce_order_id", flat=True).get()
        if order.commerce_order_id is None:
            raise
        _event(order, events, "duplicate", _("Already imported by another sync."), note=False)
        return False
    _imported(context, order, events, commerce, as_complete=as_complete)
    return True


def _imported(context: _Context, order: AmazonOrder, events: list, commerce, *, as_complete: bool) -> None:
    order.commerce_order = commerce
    order.is_reserved = not as_complete
    order.import_error = ""
    order.status = order.amazon_status
    message = _("Imported as Commerce order #%(number)s.") % {"number": commerce.number}
    if context.store.invoice_on_import or as_complete:
        message += " " + _("Invoice created (payment captured by Amazon).")
    _event(order, events, "imported", message)


def _mark_error(order: AmazonOrder, events: list, reason: str) -> None:
    message = _("Cannot create sales order: %(reason)s") % {"reason": reason}
    repeated = order.status == S.ERROR and order.import_error == reason
    order.status = S.ERROR
    order.import_error = reason
    if not repeated:
        _event(order, events, "error", message, level=EventLevel.ERROR)


def _tracks(packages: Iterable[AmazonPackageData], known_numbers: set[str]) -> list[dict]:
    tracks = []
    for package in packages or ():
        if not package.tracking_number or package.tracking_number in known_numbers:
            continue
        name = (package.carrier or "").strip()
        code = CARRIERS.get(name.lower(), "custom")
        tracks.append({"carrier_code": code, "title": name or "Amazon", "number": package.tracking_number[:128]})
    return tracks


def _apply_amazon_changes(order: AmazonOrder, events: list, packages: list[AmazonPackageData]) -> None:
    """The Commerce order exists: reflect what Amazon changed (§4.4)."""
    status = order.amazon_status
    needs_commerce = (
        (status == S.SHIPPED and order.status != S.COMPLETED)
        or status == S.CANCELED
        or any(e.kind == "buyer_cancel" for e in events)
    )
    if not needs_commerce:
        if order.status not in (S.COMPLETED, S.ERROR):
            order.status = status
        return
    commerce = Order.objects.prefetch_related("items").get(pk=order.commerce_order_id)
    with applying_amazon_change():
        if any(e.kind == "buyer_cancel" for e in events):
            order_comment_add(order=commerce, comment=_("Amazon: the buyer requested cancellation (%(reason)s). "
                                                        "Decide whether to cancel the order on Amazon.")
                              % {"reason": order.buyer_cancel_reason or _("no reason given")}, actor=INBOUND_ACTOR)
        if status == S.SHIPPED and order.status != S.COMPLETED:
            remaining = {i.pk: i.qty_to_ship for i in commerce.items.all() if i.qty_to_ship}
            if remaining and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
                known = set(ShipmentTrack.objects.filter(shipment__order=commerce).values_list("number", flat=True))
                shipment_create(order=commerce, quantities=remaining, tracks=_tracks(packages, known),
                                comment=_("Shipped in Amazon Seller Central."), actor=INBOUND_ACTOR)
                _event(order, events, "shipped", _("Shipped on Amazon: the remaining items were shipped in Commerce."))
            order.status = S.COMPLETED
            order.is_reserved = False
            _event(order, events, "completed", _("Status updated to Shipped."))
        elif status == S.CANCELED and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
            try:
                message = _cancel_commerce_order(commerce)
            except OrderActionError as error:
                # Commerce refuses for now (e.g. the order is on hold): visible in Error, and tried again at every
                # pass (refetch_orders) until it applies.
                _keep_for_another_look(order, events, _(
                    "Canceled on Amazon, but the Commerce order could not be canceled: %(reason)s It is tried again "
                    "at every sync.") % {"reason": error.message})
                return
            stock_release(reference=stock_reference(commerce))
            stock_release(reference=order.reservation_reference)
            order.is_reserved = False
            order.status = S.CANCELED
            _event(order, events, "canceled", message)
        elif order.status not in (S.COMPLETED, S.ERROR):
            order.status = status


def _cancel_commerce_order(commerce) -> str:
    """Amazon canceled the order: refund what was paid, cancel the rest (``order_cancel_for_channel``)."""
    done = order_cancel_for_channel(order=commerce, reason=_("Canceled on Amazon."), actor=INBOUND_ACTOR)
    return _("Canceled on Amazon: %(done)s") % {"done": done}


def _keep_for_another_look(order: AmazonOrder, events: list, message: str) -> None:
    """A change from Amazon that Commerce cannot apply yet: the order shows it, in Error, and is asked for again
    at every pass until the change applies."""
    repeated = order.status == S.ERROR and order.import_error == message
    order.status = S.ERROR
    order.import_error = message
    order.refetch_needed = True
    if not repeated:
        _event(order, events, "error", message, level=EventLevel.ERROR)


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


def _keep_in_error(*, store: AmazonStore, amazon_order_id: str, raw: dict, reason: str) -> None:
    """File the order in Error with ``reason`` (its own transaction), creating the row if it is new."""
    try:
        with transaction.atomic():
            order = AmazonOrder.objects.select_for_update().filter(amazon_order_id=amazon_order_id).first()
            if order is not None and order.store_id != store.pk:
                logger.warning("Amazon order %s belongs to another Amazon store; skipped", amazon_order_id)
                return
            if order is None:
                order = AmazonOrder(store=store, amazon_order_id=amazon_order_id[:32], amazon_status=S.PENDING,
                                    purchase_date=timezone.now())
            repeated = order.status == S.ERROR and order.import_error == reason
            order.status = S.ERROR
            order.import_error = reason
            order.refetch_needed = True
            if keeps_personal_data(order):  # once redacted, personal data is never stored again
                order.raw = raw or {}
            events: list[AmazonOrderEvent] = []
            _event(order, events, "error", reason, level=EventLevel.ERROR, note=not repeated)
            order.save()
            if not repeated:
                AmazonOrderEvent.objects.bulk_create(events)
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
    context = _Context(store, skus)
    for candidate in candidates:
        counts.seen += 1
        try:
            with transaction.atomic():
                order = AmazonOrder.objects.select_for_update().get(pk=candidate.pk)
                if order.commerce_order_id:
                    continue
                events: list[AmazonOrderEvent] = []
                outcome = _act(context, order, events)
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
