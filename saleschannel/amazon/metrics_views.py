"""Seller metrics on the Amazon store dashboard (the panel's data) and the orders behind a metric (a small list
page). The figures are ``metrics``'s; Amazon's own are ``seller_performance``'s; the templates only display."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from saleschannel.amazon.marketplaces import marketplace
from saleschannel.amazon.metrics import (
    AT_RISK_SHARE,
    METRICS_BY_KEY,
    STATUS_COLOURS,
    marketplace_metrics,
    store_metrics,
    target_y,
    trend_points,
)
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.seller_performance import compare
from saleschannel.core.access import require
from saleschannel.core.money import format_money

VIEW_STORE = "amazon.view_amazonstore"
VIEW_ORDER = "amazon.view_amazonorder"
COLOURS = STATUS_COLOURS
ORDERS_SHOWN = 500


def _marketplace_name(marketplace_id: str) -> str:
    found = marketplace(marketplace_id)
    return f"{found.country} ({marketplace_id})" if found else marketplace_id


def metrics_panel(store: AmazonStore) -> list[dict]:
    """Per marketplace: its name and one row per metric (ours, Amazon's, the difference, the trend's points)."""
    panel = []
    for metrics in store_metrics(store):
        rows = []
        for comparison in compare(metrics):
            value = comparison.ours
            rows.append({"value": value, "comparison": comparison, "colour": COLOURS.get(value.status, "inherit"),
                         "points": trend_points(value), "target_y": target_y(value),
                         "target": f"{value.metric.target * 100:g}",
                         "at_risk_from": Decimal(f"{value.metric.at_risk_from * 100:.4g}"),
                         "defects": len(value.defect_ids), "defects_differ": value.defect_ids != value.numerator_ids})
        panel.append({"marketplace_id": metrics.marketplace_id, "name": _marketplace_name(metrics.marketplace_id),
                      "rows": rows, "worst": metrics.worst, "at_risk_share": Decimal(f"{AT_RISK_SHARE * 100:.4g}")})
    return panel


@require(VIEW_STORE)
def metric_orders(request, store_id: int, marketplace_id: str, key: str, which: str = "numerator"):
    """The orders behind one metric's numerator (``which="numerator"``) or the ones pulling it the wrong way
    (``"defects"``: late, canceled by us, without valid tracking)."""
    store = get_object_or_404(AmazonStore, pk=store_id)
    metric = METRICS_BY_KEY.get(key)
    if metric is None or marketplace_id not in (store.marketplace_ids or []) or which not in ("numerator",
                                                                                              "defects"):
        raise Http404(_("No such metric."))
    value = marketplace_metrics(store, marketplace_id, trend_days=1).get(key)
    orders = (value.defects() if which == "defects" else value.orders()).select_related("commerce_order")
    return render(request, "amazon/metric_orders.html", {
        "amazon_store": store, "value": value, "which": which, "marketplace_name": _marketplace_name(marketplace_id),
        "rows": [{"order": o, "total": format_money(o.order_total, o.currency or "USD")
                  if o.order_total is not None else "—"}
                 for o in orders.order_by("-purchase_date", "-id")[:ORDERS_SHOWN]],
        "can_view_commerce": request.user.has_perm("sales.view_order"),
        "can_view_orders": request.user.has_perm(VIEW_ORDER),
    })
