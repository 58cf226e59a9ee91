"""The admin-wide banner: "Your Amazon store(s) has orders that cannot be imported ..." (DESIGN.md §4.4)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from saleschannel.amazon.models import AmazonOrderStatus, AmazonStore


def store_dashboard_url(store_id: int) -> str:
    try:
        return reverse("amazon:store_dashboard", args=[store_id])
    except NoReverseMatch:  # screens not installed (e.g. a worker-only deployment)
        return f"/amazon/stores/{store_id}/"


def stores_with_import_errors() -> list[tuple[int, str]]:
    return list(
        AmazonStore.objects.filter(orders__status=AmazonOrderStatus.ERROR).distinct().order_by("name")
        .values_list("pk", "name")
    )


def import_error_notices(request) -> list:
    from saleschannel.core.notices import Notice

    user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        return []
    stores = stores_with_import_errors()
    if not stores:
        return []
    return [Notice(
        message=_("Your Amazon store(s) has orders that cannot be imported. See Recent Orders in the store "
                  "dashboard(s):"),
        level="error",
        links=[(name, store_dashboard_url(pk)) for pk, name in stores],
    )]
