"""Back-office benchmark: generate many orders fast, then time the order grid, a keyword search and the order view.

    .venv/bin/python bench/backoffice.py --orders 1000000                     # SQLite in ./var/bench-sqlite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sc_bench \\
        .venv/bin/python bench/backoffice.py --orders 1000000                 # PostgreSQL (database is created)

Orders are written with a bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) in chunks, with their
addresses, payment and 1-3 items each. The database is kept between runs: ``--reuse`` skips the generation when the
requested number of orders is already there. Each page is requested ``--requests`` times through Django's test
client (the whole stack: middleware, session, permissions, queries, templates) and p50 / p95 are printed with the
number of SQL queries of one request. Targets (DESIGN.md §6): grid p95 ≤ 200 ms, order view p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karim",
               "Léa", "Manon", "Nathan", "Océane", "Paul", "Quentin", "Rose", "Sofia", "Tom", "Ugo", "Valentin",
               "William", "Xavier", "Yasmine", "Zoé", "Olivia", "Liam", "Noah", "Mia"]
LAST_NAMES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
              "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
              "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure",
              "Andre", "Mercier", "Blanc", "Guerin", "Boyer", "Garnier", "Chevalier", "Francois", "Legrand",
              "Gauthier", "Garcia", "Perrin", "Robin", "Clement", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu",
              "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor"]
STATES = [("processing", "processing", 60), ("complete", "complete", 20), ("new", "pending", 10),
          ("canceled", "canceled", 5), ("closed", "closed", 5)]
CITIES = ["Lyon", "Paris", "Lille", "Nantes", "Seattle", "Austin", "Leeds", "Berlin"]


def setup_django(data_dir: Path) -> None:
    os.environ.setdefault("SALESCHANNEL_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleschannel.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        _create_pg_database(url)
    import django

    django.setup()


def _create_pg_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _columns(model, skip=()):
    return [f for f in model._meta.concrete_fields if f.column not in skip]


class BulkWriter:
    """Appends rows to tables with the fastest path the database offers."""

    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor

    def write(self, model, fields, rows):
        table = model._meta.db_table
        columns = [f.column for f in fields]
        qn = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                raw = cursor.cursor
                sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
                with raw.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) VALUES ({marks})"
                cursor.executemany(sql, rows)


def generate(total: int, *, chunk: int = 20_000, seed: int = 7) -> None:
    from django.db import connection, transaction

    from saleschannel.catalog.models import Product, Store
    from saleschannel.sales.models import Order, OrderAddress, OrderItem, OrderPayment

    rng = random.Random(seed)
    stores = []
    for code, currency in (("us", "USD"), ("eu", "EUR"), ("uk", "GBP")):
        store, _ = Store.objects.get_or_create(code=f"bench-{code}", defaults={
            "name": f"Bench {code.upper()}", "currency": currency, "order_number_prefix": code.upper()})
        stores.append(store)
    products = list(Product.objects.filter(sku__startswith="BENCH-"))
    if not products:
        Product.objects.bulk_create([
            Product(sku=f"BENCH-{i:04d}", name=f"Bench product {i}", price=Decimal(rng.randint(300, 9900)) / 100,
                    qty=1_000_000, manage_stock=False) for i in range(500)
        ])
        products = list(Product.objects.filter(sku__startswith="BENCH-"))

    writer = BulkWriter(connection)
    adapt_dt = connection.ops.adapt_datetimefield_value
    order_fields = _columns(Order)
    address_fields = _columns(OrderAddress)
    payment_fields = _columns(OrderPayment)
    item_fields = _columns(OrderItem)
    next_ids = {model: (model.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
                for model in (Order, OrderAddress, OrderPayment, OrderItem)}
    start_number = Order.objects.count()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    weights = [w for _s, _st, w in STATES]
    done = 0
    started = time.perf_counter()
    while done < total:
        size = min(chunk, total - done)
        orders, addresses, payments, items = [], [], [], []
        for _ in range(size):
            oid = next_ids[Order]
            next_ids[Order] += 1
            n = start_number + done + len(orders) + 1
            store = stores[n % 3]
            state, status, _w = rng.choices(STATES, weights)[0]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            amazon = rng.random() < 0.3
            external = f"{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}" \
                if amazon else ""
            created = now - dt.timedelta(seconds=rng.randint(0, 365 * 86400))
            subtotal, lines = Decimal("0"), []
            for _line in range(rng.randint(1, 3)):
                product = rng.choice(products)
                qty = rng.randint(1, 3)
                row_total = product.price * qty
                subtotal += row_total
                lines.append((product, qty, row_total))
            shipping = Decimal("5.00")
            tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
            grand = subtotal + shipping + tax
            paid = grand if state in ("processing", "complete", "closed") else Decimal("0")
            values = {
                "id": oid, "number": f"{store.order_number_prefix}{n:09d}", "store": store.pk, "state": state,
                "status": status, "origin": "amazon" if amazon else "backoffice", "external_order_number": external,
                "currency": store.currency, "customer": None, "customer_is_guest": True,
                "customer_email": f"{first.lower()}.{last.lower()}{n}@example.com", "customer_first_name": first,
                "customer_last_name": last, "shipping_method_code": "flatrate", "shipping_method_title": "Flat Rate",
                "subtotal": subtotal, "shipping_amount": shipping, "shipping_tax_amount": Decimal("0"),
                "discount_amount": Decimal("0"), "tax_amount": tax, "grand_total": grand, "total_invoiced": paid,
                "total_paid": paid, "total_refunded": Decimal("0"), "shipping_invoiced": shipping if paid else 0,
                "shipping_refunded": Decimal("0"), "total_canceled": grand if state == "canceled" else 0,
                "hold_before_state": "", "hold_before_status": "", "email_sent": True, "reordered_from": None,
                "created_at": adapt_dt(created), "updated_at": adapt_dt(created),
            }
            orders.append(_row(order_fields, values))
            for kind in ("billing", "shipping"):
                aid = next_ids[OrderAddress]
                next_ids[OrderAddress] += 1
                addresses.append(_row(address_fields, {
                    "id": aid, "order": oid, "address_type": kind, "first_name": first, "last_name": last,
                    "company": "", "street1": f"{rng.randint(1, 200)} Main Street", "street2": "", "street3": "",
                    "city": rng.choice(CITIES), "region": "", "postcode": f"{rng.randint(10000, 99999)}",
                    "country_code": "US", "phone": "", "email": "",
                }))
            pid = next_ids[OrderPayment]
            next_ids[OrderPayment] += 1
            info = {"Amazon Order Number": external} if amazon else {}
            payments.append(_row(payment_fields, {
                "id": pid, "order": oid, "method_code": "amazon" if amazon else "checkmo",
                "method_title": "Amazon Channel Payment" if amazon else "Check / Money order",
                "additional_information": json.dumps(info),
            }))
            for product, qty, row_total in lines:
                iid = next_ids[OrderItem]
                next_ids[OrderItem] += 1
                invoiced = qty if paid else 0
                shipped = qty if state in ("complete", "closed") else 0
                items.append(_row(item_fields, {
                    "id": iid, "order": oid, "product": product.pk, "sku": product.sku, "name": product.name,
                    "external_item_id": "", "qty_ordered": qty, "qty_invoiced": invoiced, "qty_shipped": shipped,
                    "qty_refunded": 0, "qty_canceled": qty if state == "canceled" else 0,
                    "original_price": product.price, "price": product.price, "row_total": row_total,
                    "tax_amount": (row_total * Decimal("0.08")).quantize(Decimal("0.01")), "tax_percent": 8,
                    "discount_amount": Decimal("0"),
                }))
        if connection.vendor == "sqlite":
            # executemany gets strings for decimals, as Django's SQLite backend stores them.
            orders, addresses, payments, items = ([tuple(str(v) if isinstance(v, Decimal) else v for v in row)
                                                   for row in rows] for rows in (orders, addresses, payments, items))
        with transaction.atomic():
            writer.write(Order, order_fields, orders)
            writer.write(OrderAddress, address_fields, addresses)
            writer.write(OrderPayment, payment_fields, payments)
            writer.write(OrderItem, item_fields, items)
        done += size
        rate = done / (time.perf_counter() - started)
        print(f"\r  {done:,}/{total:,} orders ({rate:,.0f} orders/s)", end="", flush=True)
    print()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Order, OrderAddress, OrderPayment, OrderItem):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        # What autovacuum would do a little later: statistics and the visibility map (index-only scans).
        connection.ensure_connection()
        autocommit = connection.get_autocommit()
        connection.set_autocommit(True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.set_autocommit(autocommit)
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _row(fields, values):
    return tuple(values[f.name] if f.name in values else values[f.attname] for f in fields)


class _QueryCounter(list):
    """A database execute wrapper that remembers the SQL it saw."""

    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


def measure(requests: int, seed: int = 11) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from saleschannel.catalog.models import Store
    from saleschannel.core.roles import ADMINISTRATOR, assign_role
    from saleschannel.sales.models import Order

    rng = random.Random(seed)
    user, _ = get_user_model().objects.get_or_create(username="bench-admin")
    assign_role(user=user, role=ADMINISTRATOR)
    client = Client()
    client.force_login(user)
    store = Store.objects.get(code="bench-eu")
    max_id = Order.objects.order_by("-id").values_list("id", flat=True).first()
    month_ago = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    sample = list(Order.objects.filter(id__in=[rng.randint(1, max_id) for _ in range(200)])
                  .values_list("id", "customer_email", "number", "customer_last_name"))

    def pick():
        return rng.choice(sample)

    cases = [
        ("grid: status=processing, sorted by purchase date",
         lambda: "/sales/orders/?status=processing&sort=-created_at"),
        ("grid: store + last 30 days, sorted by grand total",
         lambda: f"/sales/orders/?store={store.pk}&created_from={month_ago}&sort=-grand_total"),
        ("grid: Amazon orders, page 5, 50 per page, sorted by number",
         lambda: "/sales/orders/?origin=amazon&sort=number&per_page=50&page=5"),
        ("keyword search: customer email", lambda: f"/sales/orders/?q={pick()[1]}"),
        ("keyword search: order number", lambda: f"/sales/orders/?q={pick()[2]}"),
        ("keyword search: SKU", lambda: f"/sales/orders/?q=BENCH-{rng.randint(0, 499):04d}"),
        ("keyword search: part of a last name (contains)", lambda: f"/sales/orders/?q={pick()[3][:5]}"),
        ("order view", lambda: f"/sales/orders/{pick()[0]}/"),
        ("dashboard (30 days of figures and chart)", lambda: "/"),
    ]
    results = []
    for name, url_for in cases:
        client.get(url_for())  # warm caches (templates, statements)
        executed = _QueryCounter()
        with connection.execute_wrapper(executed):
            client.get(url_for())
        timings = []
        for _ in range(requests):
            url = url_for()
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
        results.append({"case": name, "p50": statistics.median(timings), "p95": p95, "queries": len(executed)})
        print(f"  {name:<58} p50 {results[-1]['p50']:7.1f} ms   p95 {p95:7.1f} ms   {len(executed)} queries")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to have in the database")
    parser.add_argument("--requests", type=int, default=50, help="requests per page measured")
    parser.add_argument("--chunk", type=int, default=20_000, help="orders written per transaction")
    parser.add_argument("--data-dir", default=str(ROOT / "var" / "bench-sqlite"),
                        help="data folder (SQLite database) when DATABASE_URL is not set")
    parser.add_argument("--reuse", action="store_true", help="keep the orders already in the database")
    args = parser.parse_args()

    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    setup_django(Path(args.data_dir))
    total = ensure_orders(args.orders, reuse=args.reuse, chunk=args.chunk)
    print(f"Measuring {args.requests} requests per page over {total:,} orders:")
    measure(args.requests)


def ensure_orders(wanted: int, *, reuse: bool, chunk: int) -> int:
    """Migrate the database, then generate orders until there are ``wanted`` (none with ``reuse`` when there are
    that many already), saying which. Returns the number of orders."""
    from django.core.management import call_command
    from django.db import connection

    from saleschannel.sales.models import Order

    call_command("migrate", interactive=False, verbosity=0)
    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    have = Order.objects.count()
    if reuse and have >= wanted:
        print(f"Reusing {have:,} orders.")
    else:
        print(f"Generating {wanted - have:,} orders (have {have:,})...")
        started = time.perf_counter()
        generate(wanted - have, chunk=chunk)
        print(f"  done in {time.perf_counter() - started:,.0f} s")
    return Order.objects.count()


if __name__ == "__main__":
    main()
