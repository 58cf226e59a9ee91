"""``saleschannel amazon health [--store S]``: the seller metrics (``metrics``) of each store and marketplace,
with Amazon's latest figure beside ours (``seller_performance``); exits 2 when any metric is at risk or bad, for
monitoring. ``management/commands/amazon.py`` adds the parser and calls ``run``."""

from __future__ import annotations

from django.core.management.base import CommandError

from saleschannel.amazon.metrics import AT_RISK, BAD, store_metrics
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.seller_performance import compare

EXIT_AT_RISK = 2


def add_parsers(sub) -> None:
    parser = sub.add_parser(
        "health", help="Seller metrics (LSR, PFCR, VTR, OTDR) per store and marketplace; exit 2 when at risk.",
        description="Print our projection of Amazon's seller metrics from our own records (and Amazon's latest "
                    "figure beside it). Exit status 2 when any metric is at risk or bad, 0 otherwise.")
    parser.add_argument("--store", dest="store_name", help="Only this Amazon store (name or id).")


def run(command, *, store_name: str | None = None, **options) -> None:
    stores = [command._find(store_name)] if store_name else list(AmazonStore.objects.filter(is_active=True))
    warned = []
    for store in stores:
        for metrics in store_metrics(store, trend_days=0):
            command.stdout.write(f"{store.name} · {metrics.marketplace_id}")
            for comparison in compare(metrics):
                value = comparison.ours
                rate = f"{value.percent} %" if value.available else "n/a"
                counts = f"{value.numerator}/{value.denominator}" if value.available else "-"
                amazon = f"Amazon {comparison.amazon_percent} %" if comparison.amazon else "Amazon -"
                target = ("<" if value.metric.condition == "LESS_THAN" else ">") + f" {value.metric.target * 100:g} %"
                status = value.status.replace("_", " ") if value.available else "not available"
                command.stdout.write(f"  {value.metric.label:<40} {rate:>9} {counts:>9}  target {target:<8} "
                                     f"{status:<9} {amazon}")
                if value.status in (AT_RISK, BAD):
                    warned.append(f"{store.name} {metrics.marketplace_id} {value.metric.key} {value.status}")
    if warned:
        raise CommandError("At risk: " + ", ".join(warned), returncode=EXIT_AT_RISK)
