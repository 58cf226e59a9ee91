"""The scale-out path (issue 11): two real workers, in two processes, sharing one Redis queue and one PostgreSQL
database, sync 20 Amazon stores at once. Each store is synced by one worker at a time, and every order is imported
once.

Everything is real: four sandbox processes (four seller accounts, HTTP), two ``saleschannel worker`` processes
(RedisHuey), the tasks queued through Redis by the product's own paths (the minute tick and "Sync now").

Stores: the sandbox has one seller account per process, selling in five marketplaces. Four sandboxes × five
marketplaces give 20 stores, one per (seller, marketplace), each linked to the Commerce store of its currency, as a
merchant with several marketplaces sets them up. Their orders are disjoint (a search names the store's marketplace),
so "every order once" is checked store by store, and the five stores of a seller share that seller's rate limits
(the pacer's buckets live in the database, shared by both workers).

"One worker at a time" is proven from the database: the store's lock is a row whose owner is ``host:pid:nonce``.
A trigger (on the test database only) journals every owner the lock row gets and loses, with PostgreSQL's clock,
so the test knows every interval in which a worker held a store. Then:

* the holds of one store never overlap, and no lock was ever taken from a live owner;
* every sync run that did the work (succeeded) lies around exactly one hold: it took the lock between its start and
  its end; runs that did not get the lock were skipped while another hold was live: the lock working;
* the holders are the two worker processes, and both held locks: both did work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from saleschannel.amazon.models import AmazonOrder, AmazonStore, SyncRun, SyncRunState
from saleschannel.amazon.services import amazon_store_sync_now
from saleschannel.amazon.tasks import amazon_schedule_syncs
from saleschannel.catalog.models import Product, Store
from saleschannel.sales.models import Order
from saleschannel.sandbox.catalog import DEFAULT_SKUS
from tests.amazon.conftest import PENDING_DELAY, TIME_SCALE, connect_store, settle

ROOT = Path(__file__).resolve().parents[2]
SELLERS = 4
# Sandbox marketplace code → (marketplace id, region, Commerce store code, currency, order number prefix).
MARKETPLACES = {
    "US": ("ATVPDKIKX0DER", "NA", "us", "USD", "US"),
    "UK": ("A1F83G8C2ARO7P", "EU", "uk", "GBP", "UK"),
    "DE": ("A1PA6795UKMFR9", "EU", "eu", "EUR", "EU"),
    "FR": ("A13V1IB3VIYZZH", "EU", "eu", "EUR", "EU"),
    "JP": ("A1VC38T7YXB528", "FE", "jp", "JPY", "JP"),
}
FIRST_ORDERS, SECOND_ORDERS = 6, 3  # per store, in each round
WORKER_START_TIMEOUT = 60
SYNC_TIMEOUT = 240

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                       reason="two worker processes share the test database: PostgreSQL only (the SQLite test "
                              "database is in memory, private to the test process); CI runs it on PostgreSQL"),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                       reason="the workers share a Redis queue (RedisHuey): set REDIS_URL (CI's third step does)"),
    pytest.mark.django_db(transaction=True),
]

# --- The lock journal (test database only) ------------------------------------------------------------------------

JOURNAL_DDL = """
CREATE TABLE scale_out_lock_journal (
    id bigserial PRIMARY KEY, op text NOT NULL, store_id bigint NOT NULL, owner text NOT NULL,
    previous_owner text, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION scale_out_lock_journal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO scale_out_lock_journal (op, store_id, owner) VALUES ('take', NEW.store_id, NEW.owner);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO scale_out_lock_journal (op, store_id, owner) VALUES ('release', OLD.store_id, OLD.owner);
    ELSIF NEW.owner IS DISTINCT FROM OLD.owner THEN  -- an expired or orphaned lock taken over
        INSERT INTO scale_out_lock_journal (op, store_id, owner, previous_owner)
            VALUES ('takeover', NEW.store_id, NEW.owner, OLD.owner);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER scale_out_lock_journal AFTER INSERT OR UPDATE OR DELETE ON amazon_synclock
    FOR EACH ROW EXECUTE FUNCTION scale_out_lock_journal();
"""
JOURNAL_DROP = """
DROP TRIGGER IF EXISTS scale_out_lock_journal ON amazon_synclock;
DROP FUNCTION IF EXISTS scale_out_lock_journal();
DROP TABLE IF EXISTS scale_out_lock_journal;
"""


@contextmanager
def lock_journal():
    with connection.cursor() as cursor:
        cursor.execute(JOURNAL_DROP)
        cursor.execute(JOURNAL_DDL)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(JOURNAL_DROP)


def lock_holds() -> tuple[dict[int, list[dict]], list[tuple]]:
    """Every interval in which an owner held a store's lock, by store; and the takeovers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT op, store_id, owner, previous_owner, at FROM scale_out_lock_journal ORDER BY at, id")
        rows = cursor.fetchall()
    holds: dict[int, list[dict]] = defaultdict(list)
    takeovers = []
    for op, store_id, owner, previous, at in rows:
        if op == "take":
            holds[store_id].append({"owner": owner, "taken": at, "released": None})
        elif op == "release":
            open_holds = [h for h in holds[store_id] if h["owner"] == owner and h["released"] is None]
            assert len(open_holds) == 1, f"store {store_id}: {owner} released a lock it did not hold"
            open_holds[0]["released"] = at
        else:
            takeovers.append((store_id, previous, owner, at))
    return holds, takeovers


def pid_of(owner: str) -> int:
    return int(owner.split(":")[1])  # host:pid:nonce (locks.lock_owner)


# --- The real queue and the workers -------------------------------------------------------------------------------


@contextmanager
def redis_queue(name: str):
    """Queue tasks from this test process into Redis (tests run tasks at once, in memory, by default), under a
    queue name of this run only, so that nothing else sharing the Redis database sees them. Emptied afterwards."""
    from huey.contrib.djhuey import HUEY

    saved = HUEY.name, HUEY.immediate
    HUEY.name, HUEY.immediate = name, False
    HUEY.storage = HUEY.create_storage()  # RedisExpireStorage(name, url=REDIS_URL), see settings.py
    try:
        yield HUEY
    finally:
        try:
            HUEY.flush()  # the queue, the schedule and the results of this run's queue
        finally:
            HUEY.name, HUEY.immediate = saved
            HUEY.storage = HUEY.create_storage()


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def workers(count: int, *, queue: str, logs: Path):
    """``count`` real ``saleschannel worker`` processes on the test database and the Redis queue ``queue``; stopped
    (Ctrl-C, then killed if need be) whatever happens."""
    env = {k: v for k, v in os.environ.items() if k not in ("HUEY_IMMEDIATE", "DATABASE_URL", "HUEY_NAME")}
    env.update(DATABASE_URL=database_url(), HUEY_NAME=queue, DJANGO_SETTINGS_MODULE="saleschannel.settings",
               SALESCHANNEL_DATA_DIR=str(django_settings.DATA_DIR), LOG_LEVEL="WARNING")
    processes = []
    try:
        for n in range(count):
            with open(logs / f"worker-{n}.log", "wb") as log:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "saleschannel", "worker", "--workers", "2"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # Huey's graceful stop: running tasks finish
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def worker_logs(logs: Path) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
                     for path in sorted(logs.glob("worker-*.log")))


def wait_for(condition, *, timeout: float, processes, logs: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [p.pid for p in processes if p.poll() is not None]
        assert not dead, f"worker(s) {dead} exited while waiting for {what}\n{worker_logs(logs)}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}\n{worker_logs(logs)}"
        time.sleep(0.2)  # polling interval of the condition


# --- The test ---------------------------------------------------------------------------------------------------


def test_two_workers_sync_twenty_stores_each_store_by_one_worker_at_a_time_each_order_once(tmp_path):
    queue = f"saleschannel_test_{uuid.uuid4().hex[:12]}"
    logs = tmp_path / "logs"
    logs.mkdir()
    Product.objects.bulk_create([Product(sku=s.sku, name=s.title, price=s.base_price, qty=100_000)
                                 for s in DEFAULT_SKUS])
    commerce = {}
    for _id, _region, code, currency, prefix in MARKETPLACES.values():
        if code not in commerce:
            commerce[code] = Store.objects.create(code=code, name=f"{code.upper()} Store", currency=currency,
                                                  order_number_prefix=prefix)

    with ExitStack() as stack:
        from saleschannel.sandbox.testing import run_sandbox

        sandboxes = []
        for n in range(SELLERS):
            sandbox = stack.enter_context(run_sandbox(
                tmp_path / f"sandbox-{n}", time_scale=TIME_SCALE, pending_delay_seconds=PENDING_DELAY, seed=101 + n))
            sandbox.configure(token_ttl_seconds=3600 * TIME_SCALE)  # tokens live the whole test
            sandboxes.append(sandbox)
        assert len({s.credentials["seller_id"] for s in sandboxes}) == SELLERS
        stores: list[tuple[AmazonStore, object, str]] = []
        for n, sandbox in enumerate(sandboxes):
            for code, (marketplace_id, region, store_code, _currency, _prefix) in MARKETPLACES.items():
                amazon_store = connect_store(
                    sandbox, commerce[store_code], name=f"Seller {n + 1} {code}", region=region,
                    marketplace_ids=[marketplace_id],
                    sync_frequency_minutes=60)  # the minute tick claims each store once during the test
                stores.append((amazon_store, sandbox, code))
        assert len(stores) == 20

        expected: dict[int, set[str]] = defaultdict(set)

        def new_orders(count: int) -> None:
            for amazon_store, sandbox, code in stores:
                expected[amazon_store.pk] |= set(sandbox.create_orders(
                    count=count, marketplace=code, fulfillment="MFN", status="Unshipped"))
            settle(real_time=True)  # older than the 2-minute rule (scaled) for the workers, other processes

        def runs_finished(count: int):
            return lambda: SyncRun.objects.exclude(state=SyncRunState.RUNNING).count() >= count

        new_orders(FIRST_ORDERS)
        all_ids = set().union(*expected.values())
        assert len(all_ids) == 20 * FIRST_ORDERS  # four sellers, distinct order ids

        with lock_journal(), redis_queue(queue) as huey:
            with workers(2, queue=queue, logs=logs) as processes:
                pids = {p.pid for p in processes}
                wait_for(lambda: all("Huey consumer started" in (logs / f"worker-{n}.log").read_text(errors="replace")
                                     for n in range(2)),
                         timeout=WORKER_START_TIMEOUT, processes=processes, logs=logs, what="both workers to start")

                # Round 1, through Redis: the minute tick (a worker runs it and queues the 20 due stores), and "Sync
                # now" pressed twice on every store (two tasks next to each other in the queue: the two workers take
                # them at the same moment, and one of them must find the store busy).
                amazon_schedule_syncs()
                for amazon_store, _sandbox, _code in stores:
                    amazon_store_sync_now(amazon_store=amazon_store)  # not in a transaction: queued at once
                    amazon_store_sync_now(amazon_store=amazon_store)
                round_1 = 20 + 2 * 20
                wait_for(runs_finished(round_1), timeout=SYNC_TIMEOUT, processes=processes, logs=logs,
                         what=f"{round_1} sync runs")

                # Round 2: more orders, now that every store has a watermark; synced twice again by both workers.
                new_orders(SECOND_ORDERS)
                for amazon_store, _sandbox, _code in stores:
                    amazon_store_sync_now(amazon_store=amazon_store)
                    amazon_store_sync_now(amazon_store=amazon_store)
                total_runs = round_1 + 2 * 20
                wait_for(runs_finished(total_runs), timeout=SYNC_TIMEOUT, processes=processes, logs=logs,
                         what=f"{total_runs} sync runs")
                wait_for(lambda: huey.pending_count() == 0, timeout=30, processes=processes, logs=logs,
                         what="an empty queue")
            # Both workers stopped (gracefully: a task still running finished): every lock is given back.
            holds, takeovers = lock_holds()
    # Workers and sandboxes stopped, the journal read: what they left is checked below.

    all_ids = set().union(*expected.values())
    assert len(all_ids) == 20 * (FIRST_ORDERS + SECOND_ORDERS)
    runs = list(SyncRun.objects.order_by("started_at", "id"))
    states = defaultdict(int)
    for run in runs:
        states[run.state] += 1
    failed = [(r.store_id, r.state, r.error) for r in runs if r.state not in (SyncRunState.SUCCEEDED,
                                                                             SyncRunState.SKIPPED)]
    assert not failed, failed
    assert len(runs) == total_runs, dict(states)  # one run per queued sync task: nothing lost, nothing run twice

    # Every order imported once, by its own store: one Amazon order and one Commerce order per order id.
    for amazon_store, _sandbox, _code in stores:
        mirrored = list(AmazonOrder.objects.filter(store=amazon_store).values_list("amazon_order_id", flat=True))
        assert sorted(mirrored) == sorted(expected[amazon_store.pk]), amazon_store.name
    assert AmazonOrder.objects.count() == len(all_ids)
    assert not AmazonOrder.objects.filter(commerce_order__isnull=True).exists(), list(
        AmazonOrder.objects.filter(commerce_order__isnull=True).values_list("amazon_order_id", "import_error")[:5])
    numbers = list(Order.objects.filter(origin="amazon").values_list("external_order_number", flat=True))
    assert sorted(numbers) == sorted(all_ids)  # none missing, none twice
    assert sum(r.orders_created for r in runs) == len(all_ids)  # each created by exactly one pass

    # One worker at a time per store.
    assert not takeovers, f"a lock was taken from its owner: {takeovers}"
    by_store = defaultdict(list)
    for run in runs:
        by_store[run.store_id].append(run)
    skipped_total = 0
    for amazon_store, _sandbox, _code in stores:
        store_holds = sorted(holds[amazon_store.pk], key=lambda h: h["taken"])
        assert all(h["released"] is not None for h in store_holds), store_holds  # every lock given back
        for earlier, later in zip(store_holds, store_holds[1:], strict=False):
            assert earlier["released"] <= later["taken"], (amazon_store.name, earlier, later)
        worked = [r for r in by_store[amazon_store.pk] if r.state != SyncRunState.SKIPPED]
        skipped = [r for r in by_store[amazon_store.pk] if r.state == SyncRunState.SKIPPED]
        skipped_total += len(skipped)
        # Each pass that worked took the lock between its start and its end, and gave it back after its end.
        assert len(worked) == len(store_holds), (amazon_store.name, len(worked), len(store_holds))
        # (Passes end in the order of their holds: a pass ends before it releases, the next takes after that.)
        for run, hold in zip(sorted(worked, key=lambda r: r.finished_at), store_holds, strict=True):
            assert run.started_at <= hold["taken"] <= run.finished_at <= hold["released"], (
                amazon_store.name, run.pk, run.started_at, run.finished_at, hold)
        # ... so no two of them worked at the same time. A skipped pass found the lock held by another.
        for run in skipped:
            assert any(h["taken"] <= run.finished_at and h["released"] >= run.started_at for h in store_holds), (
                amazon_store.name, run.pk, run.started_at, run.finished_at)
    assert skipped_total > 0, "no two syncs of a store ever met: the lock was not exercised"

    # The holders were the two worker processes, and both did work.
    holders = defaultdict(int)
    for store_holds in holds.values():
        for hold in store_holds:
            holders[pid_of(hold["owner"])] += 1
    assert set(holders) == pids, (dict(holders), pids)
    print(f"\nscale-out: {len(runs)} runs {dict(states)}; lock holds by worker pid {dict(holders)}; "  # noqa: T201
          f"{len(all_ids)} orders")

