"""Benchmark: the pages of a 10,000-line order — new invoice / shipment / credit memo pages and their posts, the
order view and the document pages and PDFs.

    .venv/bin/python bench/large_order.py                    # 10,000 lines, SQLite in a temporary folder
    .venv/bin/python bench/large_order.py --lines 2000 --requests 5
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sc_large_pg .venv/bin/python bench/large_order.py

Every request goes through Django's test client (middleware, session, permissions, queries, templates), in a
process set up as ``saleschannel/wsgi.py`` sets up the server's: start-up objects frozen out of the garbage
collector's sight once the order exists. Pages that change nothing are requested ``--requests`` times (the median is
printed), the posts that create a document once. Target (DESIGN.md §6): each page ≤ 1 s; the PDFs only have to
render.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit import finish, fresh_django, rss_mb  # noqa: E402 - bench/ is not a package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3, help="Requests per page that changes nothing.")
    parser.add_argument("--no-pdf", action="store_true", help="Skip the PDFs.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    args = parser.parse_args()

    workdir = fresh_django(prefix="saleschannel-bench-large-")
    from django.db import connection
    from django.test import Client

    from saleschannel.core.roles import OPERATOR
    from saleschannel.sales.models import CreditMemo, Invoice, OrderItem, Shipment
    from tests import factories
    from tests.sales.large_orders import make_large_order

    store = factories.make_store(code="us", currency="USD", locale="en", prefix="US", name="US Store")
    started = time.perf_counter()
    order = make_large_order(store=store, lines=args.lines)
    ids = list(OrderItem.objects.filter(order=order).values_list("pk", flat=True))
    client = Client()
    client.force_login(factories.make_role_user(OPERATOR))
    print(f"{connection.vendor}: an order of {args.lines:,} lines, made in {time.perf_counter() - started:.1f} s",
          flush=True)
    gc.collect()
    gc.freeze()  # as saleschannel/wsgi.py does once the server has started

    figures: dict[str, float] = {}

    def timed(label: str, call, expected: int, *, times: int = 1) -> None:
        seconds = []
        for _ in range(times):
            start = time.perf_counter()
            response = call()
            seconds.append(time.perf_counter() - start)
            if response.status_code != expected:
                raise SystemExit(f"{label}: HTTP {response.status_code}, expected {expected}")
        figures[label] = statistics.median(seconds)
        print(f"  {label:<32} {figures[label]:6.2f} s", flush=True)

    def post(url: str, data: dict):
        return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded")

    base = f"/sales/orders/{order.pk}/"
    n = args.requests
    timed("order view", lambda: client.get(base), 200, times=n)
    timed("invoice page", lambda: client.get(base + "invoice/new/"), 200, times=n)
    invoice_data = {f"qty_{pk}": "2" for pk in ids}
    timed("invoice update (post)", lambda: post(base + "invoice/new/", {**invoice_data, "update": "1"}), 200, times=n)
    timed("invoice post", lambda: post(base + "invoice/new/", invoice_data), 302)
    invoice = Invoice.objects.get(order=order)
    timed("invoice view", lambda: client.get(f"/sales/invoices/{invoice.pk}/"), 200, times=n)
    timed("shipment page", lambda: client.get(base + "shipment/new/"), 200, times=n)
    timed("shipment post", lambda: post(base + "shipment/new/", {
        **{f"qty_{pk}": "2" for pk in ids}, "track-TOTAL_FORMS": "1", "track-INITIAL_FORMS": "0",
        "track-0-carrier_code": "ups", "track-0-number": "1Z999"}), 302)
    shipment = Shipment.objects.get(order=order)
    timed("shipment view", lambda: client.get(f"/sales/shipments/{shipment.pk}/"), 200, times=n)
    timed("credit memo page", lambda: client.get(base + "creditmemo/new/"), 200, times=n)
    memo_data = {"shipping_refund": "0", "adjustment_refund": "0", "adjustment_fee": "0",
                 **{f"qty_{pk}": "1" for pk in ids}, **{f"stock_{pk}": "on" for pk in ids}}
    timed("credit memo update (post)", lambda: post(base + "creditmemo/new/", {**memo_data, "update": "1"}), 200,
          times=n)
    timed("credit memo post", lambda: post(base + "creditmemo/new/", memo_data), 302)
    memo = CreditMemo.objects.get(order=order)
    timed("credit memo view", lambda: client.get(f"/sales/creditmemos/{memo.pk}/"), 200, times=n)
    timed("order view (all documents)", lambda: client.get(base), 200, times=n)
    if not args.no_pdf:
        timed("invoice PDF", lambda: client.get(f"/sales/invoices/{invoice.pk}/pdf/"), 200)
        timed("packing slip PDF", lambda: client.get(f"/sales/shipments/{shipment.pk}/pdf/"), 200)
        timed("credit memo PDF", lambda: client.get(f"/sales/creditmemos/{memo.pk}/pdf/"), 200)
    pages = {label: value for label, value in figures.items() if "PDF" not in label}
    print(f"slowest page: {max(pages, key=pages.get)} {max(pages.values()):.2f} s; peak RSS {rss_mb():.0f} MB")
    finish(workdir, keep=args.keep)


if __name__ == "__main__":
    main()
