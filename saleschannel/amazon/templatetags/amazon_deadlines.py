"""``{% ship_by_panel %}``: the dashboard's "to ship today" and "overdue" Amazon counts, each linking to the filtered
All Amazon Orders grid (issue 15). Counts come from ``deadline_alerts.ship_by_counts``."""

from __future__ import annotations

from django import template

from saleschannel.amazon.deadline_alerts import order_list_path, ship_by_counts

register = template.Library()


@register.inclusion_tag("amazon/ship_by_panel.html", takes_context=True)
def ship_by_panel(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("amazon.view_amazonorder"):
        return {"show": False}
    counts = ship_by_counts()
    return {"show": True, "today": counts["today"], "overdue": counts["overdue"],
            "today_url": order_list_path(ship_by="today"), "overdue_url": order_list_path(ship_by="overdue")}
