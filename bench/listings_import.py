"""Benchmark: a 50,000-line Amazon listings report (GET_MERCHANT_LISTINGS_ALL_DATA) through the listings import:
parse, preview (create / link / ignore), apply (create the products and mappings), then preview again.

    .venv/bin/python bench/listings_import.py                    # 50,000 lines, SQLite in a temporary folder
    .venv/bin/python bench/listings_import.py --lines 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/listings_import.py

The report's text is generated in the sandbox's columns (``sandbox.reports.LISTING_COLUMNS``; one line in ten
fulfilled by Amazon, one in ten already a product, one in fifty mapped to a product with another SKU) and goes
through ``amazon.listings`` (the same code as the command and the back office's Import your listings screen; the
report's download through the gateway is measured by the sandbox tests, not here). Prints the time of each step
and the peak memory (RSS of this process). Target (issue 13): at most 60 s on SQLite, peak at most 300 MB.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit import finish, fresh_django, rss_mb  # noqa: E402 - bench/ is not a package


def report_text(lines: int, columns: tuple[str, ...]) -> str:
    rng = random.Random(13)
    out = ["\t".join(columns)]
    for i in range(lines):
        cents = rng.randrange(100, 100_000)
        fba = i % 10 == 3
        row = dict.fromkeys(columns, "")
        row.update({"item-name": f"Tasse n°{i} « {rng.choice(['rouge', 'bleu', 'vert'])} », café crème",
                    "seller-sku": f"AMZ-{i:07d}", "price": f"{cents // 100}.{cents % 100:02d}",
                    "quantity": "" if fba else str(rng.randrange(0, 500)), "status": "Active",
                    "fulfillment-channel": "AMAZON_NA" if fba else "DEFAULT"})
        out.append("\t".join(row[column] for column in columns))
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    args = parser.parse_args()

    workdir = fresh_django()
    from django.db import connection

    from saleschannel.amazon import listings
    from saleschannel.amazon.models import AmazonStore, SkuMapping
    from saleschannel.catalog.models import Product, Store
    from saleschannel.sandbox.reports import LISTING_COLUMNS

    store = Store.objects.create(code="bench", name="Bench", currency="USD", order_number_prefix="B")
    amazon_store = AmazonStore.objects.create(name="Bench US", seller_id="BENCH", store=store,
                                              marketplace_ids=["ATVPDKIKX0DER"])
    Product.objects.bulk_create([Product(sku=f"AMZ-{i:07d}", name=f"Existing {i}", price=Decimal("9.99"), qty=5)
                                 for i in range(0, args.lines, 10)], batch_size=5000)
    targets = Product.objects.bulk_create([Product(sku=f"LOCAL-{i:07d}", name=f"Local {i}", price=Decimal("1"))
                                           for i in range(1, args.lines, 50)], batch_size=5000)
    SkuMapping.objects.bulk_create([SkuMapping(store=amazon_store, seller_sku=f"AMZ-{i:07d}", product=product)
                                    for i, product in zip(range(1, args.lines, 50), targets, strict=True)],
                                   batch_size=5000)
    started = time.perf_counter()
    text = report_text(args.lines, LISTING_COLUMNS)
    print(f"{connection.vendor}: {args.lines:,} listing lines, {len(text.encode()) / 1024 / 1024:.1f} MB, "
          f"generated in {time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB", flush=True)

    total = 0.0

    def step(label: str, fn):
        nonlocal total
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        total += elapsed
        print(f"{label:<24} {elapsed:6.1f} s  peak RSS {rss_mb():4.0f} MB", flush=True)
        return result

    found = step("parse", lambda: listings.parse_listings(text))
    preview = step("preview", lambda: listings.listings_preview(
        store=amazon_store, marketplace_id="ATVPDKIKX0DER", listings=found))
    print(f"  {preview.counts}")
    summary = step("apply (create)", lambda: listings.listings_apply(preview=preview, actor="bench"))
    print(f"  created {summary.created}, linked {summary.linked}, ignored {summary.ignored}")
    again = step("preview again", lambda: listings.listings_preview(
        store=amazon_store, marketplace_id="ATVPDKIKX0DER", listings=found))
    assert again.counts["create"] == 0, again.counts
    assert Product.objects.count() == args.lines  # the mapped listings created none
    peak = rss_mb()
    verdict = "OK" if total <= 60 and peak <= 300 else "OVER TARGET"
    print(f"parse + preview + apply + preview {total:.1f} s (target ≤ 60 s), peak RSS {peak:.0f} MB "
          f"(target ≤ 300 MB): {verdict}")
    finish(workdir, keep=args.keep)


if __name__ == "__main__":
    main()
