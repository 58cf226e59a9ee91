"""Catalog onboarding screens of an Amazon store: import its listings (read, preview with a choice per listing,
apply) and its SKU mappings (list, add, delete, CSV import and export). Services in ``listings.py``,
``listings_jobs.py`` and ``mapping_csv.py``.

Amazon takes minutes to prepare the listings report, so the page does not read it itself: it starts a background
read (``listings_jobs.listings_read_start``) and follows it (``?read=<id>``, polled with htmx, or refreshed by
hand without JavaScript). Once the read is done, its token is named in the session of whoever follows it and the
page shows the preview (``?token=<token>``). The listings wait in a file between the preview and the apply; the
preview is computed again when applying, so a product created meanwhile is linked, not created twice.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from saleschannel.amazon import listings, listings_jobs, mapping_csv
from saleschannel.amazon.listings_models import ListingsRead, ListingsReadState
from saleschannel.amazon.models import AmazonStore, SkuMapping
from saleschannel.catalog.csvfile import CsvFileError
from saleschannel.core.access import forbidden, require
from saleschannel.sales.ids import parse_id

ADD_PRODUCT = "catalog.add_product"
ADMIN = "amazon.change_amazonstore"
VIEW_STORE = "amazon.view_amazonstore"
SESSION_KEY = "amazon_listings_imports"
PREVIEW_ROWS = 200  # listings shown with a choice; the others take the proposed action
POLL_SECONDS = 3  # how often the page asks whether the read is done


def _saved(request, amazon_store: AmazonStore, token: str):
    """(marketplace id, listings) saved under ``token`` for this store in this session, or None."""
    waiting = request.session.get(SESSION_KEY, {})
    if waiting.get(token, {}).get("store") != amazon_store.pk:
        return None
    return listings_jobs.listings_load(token)


def _remember(request, amazon_store: AmazonStore, token: str) -> None:
    """Name the listings of a finished read in this session (once: the first time it sees the read done)."""
    waiting = request.session.get(SESSION_KEY, {})
    if token not in waiting:
        waiting[token] = {"store": amazon_store.pk, "at": timezone.now().isoformat()}
        request.session[SESSION_KEY] = waiting


def _preview_url(amazon_store: AmazonStore, token: str) -> str:
    return reverse("amazon:listings_import", args=[amazon_store.pk]) + f"?token={token}"


def _follow(request, amazon_store: AmazonStore, read_id: str):
    """The page (or, for htmx, the fragment) of a read: reading, failed, or done (then the preview)."""
    pk = parse_id(read_id)
    if pk is None:
        raise Http404
    read = get_object_or_404(ListingsRead, pk=pk, store=amazon_store)
    if read.state == ListingsReadState.DONE:
        _remember(request, amazon_store, read.token)
        url = _preview_url(amazon_store, read.token)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    context = {"amazon_store": amazon_store, "read": read, "poll_seconds": POLL_SECONDS}
    if request.htmx:
        return render(request, "amazon/_listings_read.html", context)
    return render(request, "amazon/listings_import.html", context)


@require(ADD_PRODUCT, VIEW_STORE)
def listings_import(request, store_id: int):
    """Start reading the store's listings from Amazon (POST), follow the read (GET with ``read``), then show the
    preview (GET with ``token``)."""
    amazon_store = get_object_or_404(AmazonStore.objects.select_related("store"), pk=store_id)
    if request.method == "POST":
        try:
            read = listings_jobs.listings_read_start(store=amazon_store, actor=request.user,
                                                     marketplace_id=request.POST.get("marketplace") or None)
        except listings.ListingsError as error:
            messages.error(request, error.message)
            return redirect("amazon:listings_import", amazon_store.pk)
        return redirect(reverse("amazon:listings_import", args=[amazon_store.pk]) + f"?read={read.pk}")
    if "read" in request.GET:
        return _follow(request, amazon_store, request.GET["read"])
    token = request.GET.get("token", "")
    saved = _saved(request, amazon_store, token) if token else None
    if token and saved is None:
        messages.error(request, _("This preview has expired or was already applied: read the listings again."))
    preview, read = None, None
    if saved is not None:
        preview = listings.listings_preview(store=amazon_store, marketplace_id=saved[0], listings=saved[1])
    elif not token:  # back on the page: a read still running is followed again
        read = ListingsRead.objects.filter(store=amazon_store, state__in=listings_jobs.ACTIVE_STATES).first()
    return render(request, "amazon/listings_import.html", {
        "amazon_store": amazon_store, "preview": preview, "token": token if saved else "", "read": read,
        "poll_seconds": POLL_SECONDS,
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
        return redirect(_preview_url(amazon_store, token))
    listings_jobs.listings_forget(token)
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
