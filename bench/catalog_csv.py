"""Benchmark: import a 50,000-line product CSV, import it again (all unchanged), then a version with every price
changed (all updates), and export it.

    .venv/bin/python bench/catalog_csv.py                    # 50,000 lines, SQLite in a temporary folder
    .venv/bin/python bench/catalog_csv.py --lines 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/catalog_csv.py

Runs ``saleschannel catalog import`` / ``export`` in this process (the same code as the back office's Import
Products screen) and prints the time of each step and the peak memory (RSS of this process). Target (issue 13):
a 50,000-line CSV imports in at most 60 s on SQLite with a peak of at most 300 MB.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchkit import finish, fresh_django, rss_mb  # noqa: E402 - bench/ is not a package


def write_csv(path: Path, lines: int, *, price_shift: int = 0) -> None:
    rng = random.Random(13)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\ufeffsku,name,price,qty,enabled,manage_stock,is_in_stock\n")
        for i in range(lines):
            cents = rng.randrange(100, 100_000) + price_shift
            name = f"Produit n°{i} « {rng.choice(['rouge', 'bleu', 'vert'])} », taille {rng.randrange(30, 50)}"
            out.write(f'SKU-{i:07d},"{name}",{cents // 100}.{cents % 100:02d},{rng.randrange(0, 500)},1,1,1\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data folder.")
    args = parser.parse_args()

    workdir = fresh_django()
    from django.core.management import call_command
    from django.db import connection

    from saleschannel.catalog.models import Product, ProductChange, Store

    Store.objects.create(code="bench", name="Bench", currency="USD", order_number_prefix="B")
    first, changed = workdir / "products.csv", workdir / "products-changed.csv"
    started = time.perf_counter()
    write_csv(first, args.lines)
    write_csv(changed, args.lines, price_shift=1)
    size = first.stat().st_size / 1024 / 1024
    print(f"{connection.vendor}: {args.lines:,} lines, {size:.1f} MB, generated in "
          f"{time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB", flush=True)

    def step(label: str, *argv: str) -> float:
        out = io.StringIO()
        started = time.perf_counter()
        call_command("catalog", *argv, "--no-progress", stdout=out, stderr=io.StringIO())
        elapsed = time.perf_counter() - started
        print(f"{label:<28} {elapsed:6.1f} s  peak RSS {rss_mb():4.0f} MB  {out.getvalue().strip()}", flush=True)
        return elapsed

    timings = [
        step("import (all new)", "import", str(first)),
        step("re-import (all unchanged)", "import", str(first)),
        step("import (every price changed)", "import", str(changed)),
    ]
    assert Product.objects.count() == args.lines
    assert ProductChange.objects.count() == 2 * args.lines
    started = time.perf_counter()
    with open(workdir / "export.csv", "w", encoding="utf-8", newline="") as out:
        call_command("catalog", "export", stdout=out, stderr=io.StringIO())
    print(f"{'export':<28} {time.perf_counter() - started:6.1f} s  peak RSS {rss_mb():4.0f} MB", flush=True)
    worst, peak = max(timings), rss_mb()
    verdict = "OK" if worst <= 60 and peak <= 300 else "OVER TARGET"
    print(f"slowest import {worst:.1f} s (target ≤ 60 s), peak RSS {peak:.0f} MB (target ≤ 300 MB): {verdict}")
    finish(workdir, keep=args.keep)


if __name__ == "__main__":
    main()
