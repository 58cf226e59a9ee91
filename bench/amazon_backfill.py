"""Benchmark: backfill N sandbox orders (3 lines each) into Commerce orders, and compare with raw SQL inserts.

    .venv/bin/python bench/amazon_backfill.py                 # 10,000 orders, SQLite in a temporary folder
    .venv/bin/python bench/amazon_backfill.py --orders 100000 # the memory target
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/amazon_backfill.py

Prints: Commerce orders created per second, SP-API calls per order, peak memory (RSS of this process), and the time
to insert the same rows (Amazon orders and items, Commerce orders, items, addresses, payments, invoices, history,
reservations) with plain ``executemany`` SQL in the same run, and the ratio between the two. Rate limiting is off in
the sandbox and the pacer is off (this measures our work, not Amazon's quotas). Targets (DESIGN.md §6): ≥ 200
orders/s on SQLite, within 5× of raw SQL, ≤ 0.02 calls per order, ≤ 300 MB peak for 100,000 orders.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit import finish, fresh_django, rss_mb  # noqa: E402 - bench/ is not a package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    parser.add_argument("--profile", action="store_true", help="Print the 30 most expensive functions (cProfile).")
    parser.add_argument("--profile-sort", default="cumulative", help="cProfile order: cumulative or tottime.")
    parser.add_argument("--profile-filter", default="saleschannel",
                        help='Only functions whose file matches this ("" for every function).')
    parser.add_argument("--profile-callees", default="", help="Also list what functions matching this call.")
    parser.add_argument("--queries", action="store_true",
                        help="Count the SQL statements of the import and print the most frequent ones.")
    args = parser.parse_args()

    workdir = fresh_django()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.db import connection

    from saleschannel.amazon.models import AmazonStore
    from saleschannel.amazon.services import amazon_store_backfill, amazon_store_create
    from saleschannel.catalog.models import Product, Store
    from saleschannel.sandbox.catalog import DEFAULT_SKUS
    from saleschannel.sandbox.testing import run_sandbox

    store = Store.objects.create(code="bench", name="Bench", currency="USD", order_number_prefix="B")
    Product.objects.bulk_create([Product(sku=s.sku, name=s.title, price=s.base_price, qty=10_000_000)
                                 for s in DEFAULT_SKUS])
    # 60× time: Amazon's 2-minute rule is 2 s, a pagination token lives 24 min (a longer backfill restarts its
    # window, skipping what it already imported).
    with run_sandbox(workdir / "sandbox", rate_limits=False, time_scale=60, seed=1) as sandbox:
        created_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        started = time.perf_counter()
        left = args.orders
        while left:
            batch = min(left, 5000)
            sandbox.create_orders(count=batch, marketplace="US", fulfillment="MFN", status="Unshipped",
                                  lines=args.lines, replacement=False, created_at=created_at)
            left -= batch
        print(f"sandbox: {args.orders:,} orders generated in {time.perf_counter() - started:.1f} s", flush=True)
        time.sleep(3)
        creds = sandbox.credentials
        amazon_store = amazon_store_create(
            name="Bench", seller_id=creds["seller_id"], marketplace_ids=["ATVPDKIKX0DER"], store=store,
            client_id=creds["client_id"], client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"], endpoint_override=sandbox.url, token_url_override=sandbox.token_url,
            time_scale=60, pacing_enabled=False,
        )
        rss_before = rss_mb()
        started = time.perf_counter()
        last = [started]

        def progress(run):
            now = time.perf_counter()
            if now - last[0] > 5:
                last[0] = now
                print(f"  … {run.orders_created:,} imported ({run.orders_created / (now - started):.0f}/s), "
                      f"peak RSS {rss_mb():.0f} MB", flush=True)

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        from contextlib import nullcontext

        from django.test.utils import CaptureQueriesContext

        capture = CaptureQueriesContext(connection) if args.queries else nullcontext()
        if args.queries:
            from collections import deque

            connection.ensure_connection()
            connection.queries_log = deque(maxlen=None)  # keep every statement, not Django's last 9,000
        with capture:
            run = amazon_store_backfill(amazon_store=AmazonStore.objects.get(pk=amazon_store.pk),
                                        since=datetime.now(UTC) - timedelta(days=1), progress=progress)
        elapsed = time.perf_counter() - started
        if args.queries:
            print_queries(capture.captured_queries, args.orders)
        if profiler:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(args.profile_sort)
            stats.print_stats(args.profile_filter, 40)
            if args.profile_callees:
                stats.print_callees(args.profile_callees)
        lwa_calls = sum(1 for r in sandbox.requests(limit=1_000_000) if r["path"].startswith("/auth/"))
    rss_after = rss_mb()
    if run.state != "succeeded" or run.orders_created != args.orders:
        print(f"backfill did not import everything: {run.state} {run.orders_seen} {run.orders_created} {run.error} "
              f"{run.window_start} {run.window_end}")
        sys.exit(1)

    raw_seconds = raw_sql_insert(args.orders)

    calls = run.api_calls
    print()
    print(f"database                    {connection.vendor}")
    print(f"orders imported             {run.orders_created:,} ({args.lines} lines each)")
    print(f"import time                 {elapsed:.1f} s")
    print(f"orders/s                    {run.orders_created / elapsed:.0f}        (target ≥ 200 on SQLite)")
    print(f"SP-API calls                {calls} (+{lwa_calls} LWA token)")
    print(f"SP-API calls per order      {calls / args.orders:.4f}     (target ≤ 0.02)")
    print(f"peak RSS                    {rss_after:.0f} MB (before import {rss_before:.0f} MB)"
          f"   (target ≤ 300 MB for 100,000 orders)")
    print(f"same rows with raw SQL      {raw_seconds:.1f} s ({args.orders / raw_seconds:.0f} orders/s)")
    print(f"ratio import / raw SQL      {elapsed / raw_seconds:.1f}×       (target ≤ 5×)")
    finish(workdir, keep=args.keep)


def print_queries(queries: list[dict], orders: int) -> None:
    """Statements per imported order, and the 40 most frequent statement shapes."""
    import re
    from collections import Counter

    shapes: Counter = Counter()
    seconds: Counter = Counter()
    for query in queries:
        shape = re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", query["sql"])[:140]
        shapes[shape] += 1
        seconds[shape] += float(query["time"])
    print(f"SQL statements              {len(queries):,} ({len(queries) / orders:.1f} per order)")
    for shape, count in shapes.most_common(40):
        print(f"  {count / orders:6.2f}/order {1000 * seconds[shape] / orders:6.3f} ms/order  {shape}")


def raw_sql_insert(orders: int) -> float:
    """Insert a copy of every row the import wrote, with plain executemany, one transaction per 100 orders."""
    from django.db import connection, transaction

    from saleschannel.amazon.models import AmazonOrder, AmazonOrderEvent, AmazonOrderItem
    from saleschannel.catalog.models import Product, StockReservation
    from saleschannel.sales.models import (
        Invoice,
        InvoiceItem,
        Order,
        OrderAddress,
        OrderHistory,
        OrderItem,
        OrderPayment,
    )

    models = [Order, OrderItem, OrderAddress, OrderPayment, OrderHistory, Invoice, InvoiceItem, StockReservation,
              AmazonOrder, AmazonOrderItem, AmazonOrderEvent]
    offsets = {m: (m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) for m in models}
    unique_text = {"number", "amazon_order_id", "reference"}
    plans = []
    for model in models:
        fields = [f for f in model._meta.concrete_fields]
        rows = []
        for values in model.objects.order_by("pk").values_list(*[f.attname for f in fields]):
            row = []
            for f, value in zip(fields, values, strict=True):
                if f.primary_key:
                    value = value + offsets[model]
                elif f.is_relation and f.related_model in offsets and value is not None:
                    value = value + offsets[f.related_model]
                elif f.name in unique_text:
                    value = f"{value}-raw"
                row.append(f.get_db_prep_save(value, connection) if not f.is_relation else value)
            rows.append(row)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        plans.append((f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks})", rows))
    product_ids = list(Product.objects.values_list("pk", flat=True))
    chunks = max(orders // 100, 1)
    started = time.perf_counter()
    for index in range(chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, rows in plans:
                size = -(-len(rows) // chunks)
                part = rows[index * size:(index + 1) * size]
                if part:
                    cursor.executemany(sql, part)
            # The stock reservations: the page's total per product, reserved only where there is enough stock (the
            # import does this with one conditional UPDATE for the page).
            cursor.executemany(
                f"UPDATE {Product._meta.db_table} SET qty_reserved = qty_reserved + %s WHERE id = %s "
                "AND qty >= qty_reserved + %s",
                [(3, product_id, 3) for product_id in product_ids],
            )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
