"""``/api/v1/stores``: the Commerce stores, each with its Amazon stores (marketplaces, import settings and the
store dashboard's sync health). Read-only; credentials are never read, let alone shown.

Reading needs ``catalog.view_store``; the Amazon stores are listed when the user may also view them
(``amazon.view_amazonstore``; every role may), else the list is empty.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from saleschannel.api import selectors
from saleschannel.api.auth import TokenAuth
from saleschannel.api.errors import ApiProblem
from saleschannel.api.orders import READ_ERRORS
from saleschannel.api.schemas import CommerceStoreOut, StoreListOut
from saleschannel.sales.ids import parse_id

VIEW_STORE = "catalog.view_store"
VIEW_AMAZON_STORE = "amazon.view_amazonstore"

router = Router(tags=["stores"])


def _health(amazon_store, now) -> dict:
    """The store dashboard's sync health (``amazon.views.sync_health``), from ``selectors.stores``' figures."""
    watermark = amazon_store.last_updated_before or amazon_store.last_successful_sync_at
    return {
        "last_successful_sync_at": amazon_store.last_successful_sync_at, "synced_up_to": watermark,
        "lag_seconds": max(int((now - watermark).total_seconds()), 0) if watermark else None,
        "failing_since": amazon_store.sync_failing_since if amazon_store.sync_failures_in_row else None,
        "failures_in_row": amazon_store.sync_failures_in_row, "alerted_at": amazon_store.sync_alerted_at,
        "last_error": amazon_store.last_error, "last_error_at": amazon_store.last_error_at,
        "errors_24h": amazon_store.failed_runs_24h + amazon_store.error_events_24h,
        "orders_in_error": amazon_store.orders_in_error, "queued_outbound": amazon_store.queued_outbound,
        "dead_outbound": amazon_store.dead_outbound,
    }


def _amazon_store(amazon_store, now) -> dict:
    return {
        "id": amazon_store.pk, "name": amazon_store.name, "seller_id": amazon_store.seller_id,
        "region": amazon_store.region, "marketplace_ids": [str(m) for m in amazon_store.marketplace_ids or []],
        "is_active": amazon_store.is_active, "import_enabled": amazon_store.import_enabled,
        "import_store_id": amazon_store.import_store_id, "invoice_on_import": amazon_store.invoice_on_import,
        "import_fba": amazon_store.import_fba, "sync_frequency_minutes": amazon_store.sync_frequency_minutes,
        "health": _health(amazon_store, now),
    }


def store_dict(store, *, with_amazon: bool) -> dict:
    now = timezone.now()
    amazon_stores = [_amazon_store(a, now) for a in store.amazon_stores.all()] if with_amazon else []
    return {"id": store.pk, "code": store.code, "name": store.name, "currency": store.currency,
            "locale": store.locale, "order_number_prefix": store.order_number_prefix, "is_active": store.is_active,
            "amazon_stores": amazon_stores}


@router.get("/stores", response={200: StoreListOut, **READ_ERRORS}, auth=TokenAuth(VIEW_STORE))
def list_stores(request):
    """Every Commerce store with its Amazon stores and their sync health."""
    with_amazon = request.user.has_perm(VIEW_AMAZON_STORE)
    return {"items": [store_dict(store, with_amazon=with_amazon)
                      for store in selectors.stores(with_amazon=with_amazon)]}


@router.get("/stores/{store_id}", response={200: CommerceStoreOut, **READ_ERRORS}, auth=TokenAuth(VIEW_STORE))
def get_store(request, store_id: str):
    """One Commerce store with its Amazon stores and their sync health."""
    pk = parse_id(store_id)
    with_amazon = request.user.has_perm(VIEW_AMAZON_STORE)
    store = selectors.stores(store_id=pk, with_amazon=with_amazon).first() if pk is not None else None
    if store is None:
        raise ApiProblem(404, _("This store does not exist."))
    return store_dict(store, with_amazon=with_amazon)
