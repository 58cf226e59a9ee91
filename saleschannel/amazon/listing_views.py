"""Catalog onboarding screens of an Amazon store: import its listings (read, preview with a choice per listing,
apply) and its SKU mappings (list, add, delete, CSV import and export). Services in ``listings.py`` and
``mapping_csv.py``.

The listings read from Amazon wait in a file (``DATA_DIR/imports/listings-<token>.json``, named in the session)
between the preview and the apply; the preview is computed again when applying, so a product created meanwhile is
linked, not created twice.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saleschannel.amazon import listings, mapping_csv
from saleschannel.amazon.models import AmazonStore, SkuMapping
from saleschannel.catalog.csvfile import CsvFileError
from saleschannel.core.access import forbidden, require

ADD_PRODUCT = "catalog.add_product"
ADMIN = "amazon.change_amazonstore"
VIEW_STORE = "amazon.view_amazonstore"
SESSION_KEY = "amazon_listings_imports"
PREVIEW_ROWS = 200  # listings shown with a choice; the others take the proposed action
UPLOAD_LIFETIME = 24 * 3600
REPORT_WAIT = 600.0  # Amazon seconds a request waits for the report; then "try again later"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _path(token: str) -> Path:
    return _folder() / f"listings-{token}.json"


def _forget_old(folder: Path) -> None:
    limit = time.time() - UPLOAD_LIFETIME
    for path in folder.glob("listings-*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def _saved(request, amazon_store: AmazonStore, token: str):
    """(marketplace id, listings) saved under ``token`` for this store in this session, or None."""
    waiting = request.session.get(SESSION_KEY, {})
    path = _path(token) if _TOKEN.fullmatch(token or "") else None
    if path is None or waiting.get(token, {}).get("store") != amazon_store.pk or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["marketplace"], [listings.Listing.from_json(row) for row in data["listings"]]


@require(ADD_PRODUCT, VIEW_STORE)
def listings_import(request, store_id: int):
    """Read the store's listings from Amazon (POST), then show the preview (GET with ``token``)."""
    amazon_store = get_object_or_404(AmazonStore.objects.select_related("store"), pk=store_id)
    if request.method == "POST":
        try:
            marketplace, found = listings.listings_fetch(store=amazon_store, timeout=REPORT_WAIT,
                                                         marketplace_id=request.POST.get("marketplace") or None)
        except listings.ListingsError as error:
            messages.error(request, error.message)
            return redirect("amazon:listings_import", amazon_store.pk)
        token = secrets.token_urlsafe(24)
        _forget_old(_folder())
        _path(token).write_text(json.dumps({"marketplace": marketplace,
                                            "listings": [item.as_json() for item in found]}), encoding="utf-8")
        waiting = request.session.get(SESSION_KEY, {})
        waiting[token] = {"store": amazon_store.pk, "at": timezone.now().isoformat()}
        request.session[SESSION_KEY] = waiting
        return redirect(reverse("amazon:listings_import", args=[amazon_store.pk]) + f"?token={token}")
    token = request.GET.get("token", "")
    saved = _saved(request, amazon_store, token) if token else None
    if token and saved is None:
        messages.error(request, _("This preview has expired or was already applied: read the listings again."))
    preview = None
    if saved is not None:
        preview = listings.listings_preview(store=amazon_store, marketplace_id=saved[0], listings=saved[1])
    return render(request, "amazon/listings_import.html", {
        "amazon_store": amazon_store, "preview": preview, "token": token if saved else "",
        "rows": preview.rows[:PREVIEW_ROWS] if preview else [], "shown": PREVIEW_ROWS,
        "counts": preview.counts if preview else {}, "actions": listings.Action,
    })


@require(ADD_PRODUCT, VIEW_STORE)
@require_POST
def listings_apply(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    token = request.POST.get("token", "")
    saved = _saved(request, amazon_store, token)
    if saved is None:
        messages.error(request, _("This preview has expired or was already applied: read the listings again."))
        return redirect("amazon:listings_import", amazon_store.pk)
    preview = listings.listings_preview(store=amazon_store, marketplace_id=saved[0], listings=saved[1])
    choices = {}
    for index, row in enumerate(preview.rows[:PREVIEW_ROWS]):
        action = request.POST.get(f"action-{index}")
        if action in set(listings.Action) and request.POST.get(f"sku-{index}") == row.listing.seller_sku:
            choices[row.listing.seller_sku] = (action, request.POST.get(f"product-{index}", ""))
    try:
        summary = listings.listings_apply(preview=preview, choices=choices, actor=request.user)
    except listings.ListingsError as error:
        messages.error(request, error.message + " " + _("Nothing was written."))
        return redirect(reverse("amazon:listings_import", args=[amazon_store.pk]) + f"?token={token}")
    _path(token).unlink(missing_ok=True)
    waiting = request.session.get(SESSION_KEY, {})
    waiting.pop(token, None)
    request.session[SESSION_KEY] = waiting
    messages.success(request, _("Listings applied: %(created)d products created, %(mapped)d SKU mappings added, "
                                "%(linked)d listings linked, %(ignored)d ignored. Orders in Error that waited for "
                                "these products are being imported.") % {
        "created": summary.created, "mapped": summary.mapped, "linked": summary.linked,
        "ignored": summary.ignored})
    # Onboarding: the dashboard then offers the next step, "Import orders now".
    return redirect(reverse("amazon:store_dashboard", args=[amazon_store.pk]) + "?step=orders")


# --- SKU mappings ---------------------------------------------------------------------------------------------


@require(VIEW_STORE)
def sku_mappings(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    status, result, error = 200, None, None
    if request.method == "POST":
        if not request.user.has_perm(ADMIN):
            return forbidden(request)
        if "file" in request.FILES:
            upload = request.FILES["file"]
            try:
                result = mapping_csv.mapping_import(store=amazon_store, file=upload, size=upload.size,
                                                    actor=request.user)
            except CsvFileError as failure:
                error, status = failure.message, 400
            else:
                if result.ok:
                    messages.success(request, _("SKU mappings imported: %(created)d added, %(updated)d changed, "
                                                "%(unchanged)d unchanged.") % {
                        "created": result.created, "updated": result.updated, "unchanged": result.unchanged})
                    return redirect("amazon:sku_mappings", amazon_store.pk)
                status = 400
        else:
            try:
                listings.sku_mapping_create(store=amazon_store, seller_sku=request.POST.get("seller_sku", ""),
                                            product_sku=request.POST.get("product_sku", ""),
                                            marketplace_id=request.POST.get("marketplace_id", ""),
                                            actor=request.user)
            except listings.ListingsError as failure:
                error, status = failure.message, 400
            else:
                messages.success(request, _("SKU mapping saved."))
                return redirect("amazon:sku_mappings", amazon_store.pk)
    page = Paginator(SkuMapping.objects.filter(store=amazon_store).select_related("product"), 100).get_page(
        request.GET.get("page"))
    return render(request, "amazon/sku_mappings.html", {
        "amazon_store": amazon_store, "page": page, "result": result, "error": error,
        "can_admin": request.user.has_perm(ADMIN), "form": request.POST if status == 400 else {
            "seller_sku": request.GET.get("seller_sku", ""), "product_sku": ""},
    }, status=status)


@require(ADMIN)
@require_POST
def sku_mapping_delete(request, store_id: int, mapping_id: int):
    mapping = get_object_or_404(SkuMapping, pk=mapping_id, store_id=store_id)
    listings.sku_mapping_delete(mapping=mapping)
    messages.success(request, _("SKU mapping of %(sku)s deleted.") % {"sku": mapping.seller_sku})
    return redirect("amazon:sku_mappings", store_id)


@require(VIEW_STORE)
def sku_mappings_export(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    lines = mapping_csv.mapping_export_lines(amazon_store)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sku-mappings-{amazon_store.pk}.csv"'
    return response
