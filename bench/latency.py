"""Import latency (issue 14): from "Unshipped in the sandbox" to "Commerce order committed", with real-time
ORDER_CHANGE notifications plus the polling sweep, and with polling alone, in the same run.

    .venv/bin/python bench/latency.py                  # 2 minutes of orders, then the drain: about 5 minutes
    .venv/bin/python bench/latency.py --minutes 5      # more orders
    .venv/bin/python bench/latency.py --loss 0 --duplicate 0   # notifications without faults

Two SP-API sandboxes run side by side at time scale 1 with Amazon's real rate limits (searchOrders 0.0056 requests
per second, burst 20; the 2-minute rule), each with its own seller, both behind one Commerce database (SQLite in a
temporary folder):

* **(a) notifications + sweep**: sandbox A sends ORDER_CHANGE notifications to a real local SQS (moto in server mode,
  loopback), with 5 % of the messages lost and 10 % duplicated (``--loss``, ``--duplicate``). The product's consumer
  (``ConsumerSupervisor``, as in ``saleschannel worker``: long polling of 20 s) imports them; the polling sweep runs
  on the worker's schedule, which is every 15 minutes while notifications are healthy, so within the run the lost
  orders are found by one sweep at the end (as soon as the 2-minute rule lets searchOrders see the last order): the
  number it found is printed.
* **(b) polling only**: sandbox B, no notifications; the store's sweep runs every minute (the worker's minute tick,
  ``claim_due_stores`` then ``sync_store``, the product's code).

The bench creates one Unshipped order in each sandbox at a steady rate (every ``--every`` seconds, 2 to 5 s, drawn
from a seeded generator) through the sandbox's control API; "Unshipped in the sandbox" is the moment that call
starts. A thread reads the database every 0.2 s: "committed" is the moment the Commerce order is first visible to
another connection. It prints p50, p95 and max for each, and the orders still missing at the end (0 is the target for
both). Exit status 1 when an order is missing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

US = "ATVPDKIKX0DER"
OBSERVE_SECONDS = 0.2
TWO_MINUTE_RULE = 125.0  # seconds after its last change before searchOrders can see an order (and a margin)


def setup_django(workdir: Path) -> None:
    os.environ["SALESCHANNEL_DATA_DIR"] = str(workdir / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleschannel.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 40 values is the 38th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


class Observer(threading.Thread):
    """Records when each Amazon order's Commerce order first becomes visible in the database."""

    def __init__(self, store_ids: list[int]):
        super().__init__(name="observer", daemon=True)
        self.store_ids = store_ids
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import close_old_connections, connection

        from saleschannel.amazon.models import AmazonOrder

        try:
            while not self.stop.is_set():
                close_old_connections()
                now = time.time()
                for order_id in AmazonOrder.objects.filter(store_id__in=self.store_ids,
                                                           commerce_order__isnull=False).values_list(
                        "amazon_order_id", flat=True):
                    self.seen.setdefault(order_id, now)
                self.stop.wait(OBSERVE_SECONDS)
        finally:
            connection.close()


class MinuteTick(threading.Thread):
    """The worker's schedule (``amazon_schedule_syncs``, every minute): due stores are claimed, then swept."""

    def __init__(self):
        super().__init__(name="minute-tick", daemon=True)
        self.stop = threading.Event()
        self.sweeps: list[tuple[float, int]] = []

    def run(self) -> None:
        from django.db import close_old_connections, connection

        from saleschannel.amazon.models import AmazonStore
        from saleschannel.amazon.sync import sync_store
        from saleschannel.amazon.tasks import claim_due_stores

        try:
            while not self.stop.is_set():
                close_old_connections()
                for store_id in claim_due_stores():
                    sync_store(store=AmazonStore.objects.get(pk=store_id))
                    self.sweeps.append((time.time(), store_id))
                self.stop.wait(60)
        finally:
            connection.close()


def connect(sandbox, commerce_store, name: str):
    from saleschannel.amazon.services import amazon_store_create

    creds = sandbox.refresh_credentials()
    return amazon_store_create(
        name=name, seller_id=creds["seller_id"], region="NA", marketplace_ids=[US], store=commerce_store,
        client_id=creds["client_id"], client_secret=creds["client_secret"], refresh_token=creds["refresh_token"],
        endpoint_override=sandbox.url, token_url_override=sandbox.token_url, time_scale=Decimal(1),
        pacing_enabled=True, is_active=True, sync_frequency_minutes=1)


def summary(label: str, created: dict[str, float], seen: dict[str, float], extra: str = "") -> tuple[str, float]:
    latencies = [seen[o] - t for o, t in created.items() if o in seen]
    missing = len(created) - len(latencies)
    if not latencies:
        return f"| {label} | {len(created)} | – | – | – | {missing} | {extra} |", float("inf")
    p95 = percentile(latencies, 0.95)
    return (f"| {label} | {len(created)} | {statistics.median(latencies):.1f} s | {p95:.1f} s | "
            f"{max(latencies):.1f} s | {missing} | {extra} |"), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="how long orders are created (default 2)")
    parser.add_argument("--every", type=float, nargs=2, default=(2.0, 5.0), metavar=("MIN", "MAX"),
                        help="seconds between two orders, drawn uniformly (default 2 5)")
    parser.add_argument("--loss", type=float, default=0.05, help="share of notifications lost (default 0.05)")
    parser.add_argument("--duplicate", type=float, default=0.10,
                        help="share of notifications sent twice (default 0.10)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--drain-minutes", type=float, default=4.0,
                        help="longest wait for the last orders after the creation stops (default 4)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sc-latency-"))
    setup_django(workdir)
    from saleschannel.amazon import notifications
    from saleschannel.amazon.models import AmazonOrder
    from saleschannel.amazon.notification_consumer import ConsumerSupervisor
    from saleschannel.amazon.notification_health import health
    from saleschannel.amazon.sync import sync_store
    from saleschannel.catalog.models import Store
    from saleschannel.management.commands.demo import ensure_sandbox_catalog
    from saleschannel.sandbox.sqs import run_moto
    from saleschannel.sandbox.testing import run_sandbox

    load_before = os.getloadavg()
    print(f"Work folder {workdir}; load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"{os.cpu_count()} cores.", flush=True)
    rng = random.Random(args.seed)
    ensure_sandbox_catalog()
    commerce = Store.objects.create(code="us", name="US Store", currency="USD", order_number_prefix="US")
    with run_moto(log_path=workdir / "moto.log") as sqs_url, \
            run_sandbox(workdir / "sandbox-a", time_scale=1, rate_limits=True, seed=args.seed,
                        extra_args=["--sqs-endpoint", sqs_url]) as sandbox_a, \
            run_sandbox(workdir / "sandbox-b", time_scale=1, rate_limits=True, seed=args.seed + 1) as sandbox_b:
        store_a = connect(sandbox_a, commerce, "A: notifications + sweep")
        store_b = connect(sandbox_b, commerce, "B: polling only")
        import boto3

        sqs = boto3.client("sqs", endpoint_url=sqs_url, region_name="us-east-1", aws_access_key_id="bench",
                           aws_secret_access_key="bench")
        queue_url = sqs.create_queue(QueueName="latency-bench")["QueueUrl"]
        notifications.configure(store_a, mode="sandbox", queue_url=queue_url)
        report = notifications.setup(store_a)
        assert report.ok, report.lines
        sandbox_a.set_notification_faults(loss=args.loss, duplicate=args.duplicate, seed=args.seed)

        observer = Observer([store_a.pk, store_b.pk])
        observer.start()
        supervisor = ConsumerSupervisor(store_ids=[store_a.pk]).start()
        tick = MinuteTick()
        tick.start()
        time.sleep(3)  # the consumer's first long poll is under way; the first sweeps (watermarks) are done

        created_a: dict[str, float] = {}
        created_b: dict[str, float] = {}
        end = time.time() + args.minutes * 60
        print(f"Creating orders for {args.minutes:g} min (one every {args.every[0]:g}–{args.every[1]:g} s in each "
              "sandbox)…", flush=True)
        while time.time() < end:
            for sandbox, created in ((sandbox_a, created_a), (sandbox_b, created_b)):
                started = time.time()
                [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped")
                created[order_id] = started
            time.sleep(rng.uniform(*args.every))
        last_created = time.time()
        print(f"{len(created_a)} + {len(created_b)} orders created; waiting for the last ones (the sweep of A runs "
              f"{TWO_MINUTE_RULE:.0f} s after the last order: the 2-minute rule)…", flush=True)

        # (a): the sweep, once the 2-minute rule lets searchOrders see every order.
        time.sleep(max(0.0, last_created + TWO_MINUTE_RULE - time.time()))
        before_sweep = set(observer.seen)
        sweep_run = sync_store(store=store_a)
        time.sleep(2 * OBSERVE_SECONDS + 0.1)
        found_by_sweep = sorted(o for o in created_a if o in observer.seen and o not in before_sweep)
        # (b): the minute tick goes on until every order is in, or the drain time is over.
        deadline = last_created + args.drain_minutes * 60
        while time.time() < deadline and not all(o in observer.seen for o in created_b):
            time.sleep(1)
        tick.stop.set()
        supervisor.shutdown(timeout=25)
        observer.stop.set()
        observer.join(5)

        state = health(store_a)
        messages = sandbox_a.notifications(limit=100000)
        lost = [m["order_id"] for m in messages["messages"] if m["state"] == "lost"]
        unshipped_lost = sum(1 for m in messages["messages"] if m["state"] == "lost" and m["order_id"] in created_a)
        duplicated = sum(1 for m in messages["messages"] if m.get("copies", 1) > 1)
        errors = AmazonOrder.objects.filter(store_id__in=[store_a.pk, store_b.pk], commerce_order__isnull=True).count()

    load_after = os.getloadavg()
    seen = observer.seen
    notified = {o: t for o, t in created_a.items() if o not in found_by_sweep}
    line_a, p95_a = summary("(a) notifications + sweep, all orders", created_a, seen,
                            f"{len(found_by_sweep)} found by the sweep")
    line_n, p95_n = summary("(a) of which imported from their notification", notified, seen, "")
    line_b, _p95_b = summary("(b) polling only (sweep every minute)", created_b, seen,
                             f"{sum(1 for _t, s in tick.sweeps if s == store_b.pk)} sweeps")
    print()
    print("| Path | Orders | p50 | p95 | max | Missing at the end | |")
    print("|---|---|---|---|---|---|---|")
    print(line_a)
    print(line_n)
    print(line_b)
    print()
    print(f"Notifications of A: {messages['counts']} (lost: {len(lost)}, of orders created here: {unshipped_lost}; "
          f"sent twice: {duplicated}). Consumer: {state['messages_received']} received, {state['orders_imported']} "
          f"imported, {state['messages_skipped']} duplicates or older skipped, {state['dead_letters']} dead letters.")
    print(f"Final sweep of A: {sweep_run.state}; it found {len(found_by_sweep)} orders "
          f"(the store's count of orders only the sweep found: {state['sweep_unannounced_total']}).")
    print(f"Amazon orders without their Commerce order (Error): {errors}.")
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}.")
    missing = sum(1 for o in [*created_a, *created_b] if o not in seen)
    target = "met" if p95_n <= 10 and missing == 0 else "NOT met"
    print(f"Target (notifications p95 ≤ 10 s, no order missing): {target}.")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
