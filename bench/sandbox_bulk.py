"""Sandbox throughput: bulk order creation through the control API, then a 2026-01-01 backfill in pages of 100.

    .venv/bin/python bench/sandbox_bulk.py [--orders 10000] [--lines 3]

Prints its figures; not part of the test suite.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import httpx

from saleschannel.sandbox.testing import run_sandbox


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, run_sandbox(data, rate_limits=False) as sandbox:
        started = time.perf_counter()
        sandbox.create_orders(count=args.orders, seed=1, lines=args.lines, status="Unshipped",
                              created_at="2026-01-01T00:00:00Z")
        created = time.perf_counter() - started
        print(f"created {args.orders} orders ({args.lines} lines) in {created:.2f} s "
              f"({args.orders / created:,.0f} orders/s)")

        client = httpx.Client(base_url=sandbox.url, headers={"x-amz-access-token": sandbox.access_token()},
                              timeout=60)
        params = {"createdAfter": "2025-12-31T00:00:00Z", "maxResultsPerPage": 100,
                  "includedData": "BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PROMOTION,CANCELLATION,PACKAGES"}
        started, pages, orders = time.perf_counter(), 0, 0
        while True:
            body = client.get("/orders/2026-01-01/orders", params=params).json()
            pages += 1
            orders += len(body["orders"])
            token = body.get("pagination", {}).get("nextToken")
            if not token:
                break
            params = {"paginationToken": token}
        fetched = time.perf_counter() - started
        print(f"searchOrders: {orders} orders in {pages} pages in {fetched:.2f} s "
              f"({fetched / pages * 1000:.0f} ms per page of 100)")


if __name__ == "__main__":
    main()
