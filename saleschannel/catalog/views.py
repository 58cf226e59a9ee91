"""Catalog screens: product list with search, view, create, edit, enable/disable, set stock; CSV import and export.

Views are thin: the services (``catalog.services``) validate with ``catalog.rules`` and record every change; a
refusal comes back next to its field with status 400 and changes nothing. Viewers read; Operators and
Administrators change (``catalog.add_product`` / ``catalog.change_product``, see ``catalog.apps``).

The CSV import is two steps. The upload is parsed and planned without writing (a dry run) and the preview shows
what would be created, changed or left unchanged and every bad line; the file waits in the data folder under a
random token kept in the user's session (for a day at most). Confirming imports that same file (checked and planned
again, in one transaction), then deletes it.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from saleschannel.catalog import csvfile, services
from saleschannel.catalog.forms import COLUMN_HELP, ProductForm, ProductImportForm, ProductStockForm
from saleschannel.catalog.models import Product
from saleschannel.core.access import require

PREVIEW_LINES = 100
UPLOAD_LIFETIME = 24 * 3600  # seconds an uploaded file waits for its confirmation
IMPORTS_SESSION_KEY = "catalog_csv_imports"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@require("catalog.view_product")
def product_list(request):
    products = Product.objects.all().order_by("sku")
    keyword = request.GET.get("q", "").strip()
    if keyword:
        products = products.filter(Q(sku__icontains=keyword) | Q(name__icontains=keyword))
    page = Paginator(products, 50).get_page(request.GET.get("page"))
    catalog_empty = not keyword and page.paginator.count == 0
    return render(request, "catalog/product_list.html", {"page": page, "q": keyword, "catalog_empty": catalog_empty})


def _view_context(request, product, *, stock_form=None):
    can_change = request.user.has_perm("catalog.change_product")
    if can_change and stock_form is None:
        stock_form = ProductStockForm(initial={"qty": product.qty, "is_in_stock": product.is_in_stock})
    return {
        "product": product, "reservations": product.reservations.order_by("-created_at")[:50],
        "changes": product.changes.order_by("-at", "-id")[:20], "can_change": can_change,
        "stock_form": stock_form if can_change else None,
    }


@require("catalog.view_product")
def product_view(request, product_id: int):
    product = get_object_or_404(Product, pk=product_id)
    return render(request, "catalog/product_view.html", _view_context(request, product))


@require("catalog.add_product")
def product_create(request):
    form = ProductForm(request.POST or None, initial={"qty": "0", "sku": request.GET.get("sku", "")[:64]})
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(**form.cleaned_data, actor=request.user)
        except services.ProductError as error:
            form.add_errors(error.errors)
        else:
            messages.success(request, _("You saved the product."))
            return redirect("catalog:product_view", product.pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": None},
                  status=400 if form.is_bound else 200)


@require("catalog.change_product")
def product_edit(request, product_id: int):
    product = get_object_or_404(Product, pk=product_id)
    initial = {name: getattr(product, name) for name in ProductForm.EDIT_FIELDS}
    form = ProductForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(product=product, **form.cleaned_data, actor=request.user)
        except services.ProductError as error:
            form.add_errors(error.errors)
        else:
            messages.success(request, _("You saved the product."))
            return redirect("catalog:product_view", product.pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": product},
                  status=400 if form.is_bound else 200)


@require("catalog.change_product")
@require_POST
def product_stock(request, product_id: int):
    product = get_object_or_404(Product, pk=product_id)
    form = ProductStockForm(request.POST)
    if form.is_valid():
        try:
            services.product_stock_set(product=product, actor=request.user, **form.cleaned_data)
        except services.ProductError as error:
            form.add_errors(error.errors)
        else:
            messages.success(request, _("You saved the stock."))
            return redirect("catalog:product_view", product.pk)
    return render(request, "catalog/product_view.html", _view_context(request, product, stock_form=form), status=400)


@require("catalog.change_product")
def product_status(request, product_id: int, action: str):
    """GET: the confirmation page; POST: enable or disable the product."""
    product = get_object_or_404(Product, pk=product_id)
    if request.method == "POST":
        if action == "disable":
            services.product_disable(product=product, actor=request.user)
            messages.success(request, _('The product "%(sku)s" is disabled.') % {"sku": product.sku})
        else:
            services.product_enable(product=product, actor=request.user)
            messages.success(request, _('The product "%(sku)s" is enabled.') % {"sku": product.sku})
        return redirect("catalog:product_view", product.pk)
    return render(request, "catalog/product_status.html", {"product": product, "action": action})


# --- CSV import and export -----------------------------------------------------------------------------------


def _imports_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _forget_old_uploads(folder: Path) -> None:
    """Previews never confirmed leave their file behind: remove those older than a day."""
    limit = time.time() - UPLOAD_LIFETIME
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:  # removed by another request meanwhile
            pass


def _import_context(form, *, result=None, token="", name="", error=None):
    return {"form": form, "result": result, "token": token, "name": name, "file_error": error,
            "columns": COLUMN_HELP, "max_mb": csvfile.MAX_BYTES // (1024 * 1024)}


@require("catalog.add_product", "catalog.change_product")
def product_import(request):
    """Upload a CSV file and see what importing it would do."""
    if request.method != "POST":
        return render(request, "catalog/product_import.html", _import_context(ProductImportForm()))
    # Refused before the body is read: Django would otherwise store the whole upload on disk first.
    if int(request.META.get("CONTENT_LENGTH") or 0) > csvfile.MAX_BYTES + 64 * 1024:
        error = csvfile.CsvFileError(_("The file is larger than 50 MB: split it into smaller files."))
        return render(request, "catalog/product_import.html", _import_context(ProductImportForm(), error=error),
                      status=413)
    form = ProductImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "catalog/product_import.html", _import_context(form), status=400)
    upload = form.cleaned_data["file"]
    name = Path(upload.name).name[:100]
    try:
        result = services.product_import(file=upload, name=name, size=upload.size, actor=request.user, dry_run=True,
                                         preview=PREVIEW_LINES)
    except csvfile.CsvFileError as error:
        return render(request, "catalog/product_import.html", _import_context(form, error=error, name=name),
                      status=400)
    token = secrets.token_urlsafe(24)
    upload.seek(0)
    folder = _imports_dir()
    _forget_old_uploads(folder)
    with open(folder / f"{token}.csv", "wb") as saved:
        for chunk in upload.chunks():
            saved.write(chunk)
    waiting = request.session.get(IMPORTS_SESSION_KEY, {})
    waiting[token] = {"name": name, "at": timezone.now().isoformat()}
    request.session[IMPORTS_SESSION_KEY] = waiting
    return render(request, "catalog/product_import.html", _import_context(
        ProductImportForm(), result=result, token=token, name=name))


@require("catalog.add_product", "catalog.change_product")
@require_POST
def product_import_confirm(request):
    token = request.POST.get("token", "")
    waiting = request.session.get(IMPORTS_SESSION_KEY, {})
    path = _imports_dir() / f"{token}.csv"
    if not _TOKEN.fullmatch(token) or token not in waiting or not path.exists():
        messages.error(request, _("This import has expired or was already done: upload the file again."))
        return redirect("catalog:product_import")
    name = waiting[token]["name"]
    skip_bad = request.POST.get("skip_bad") == "1"
    try:
        with open(path, "rb") as stream:
            result = services.product_import(file=stream, name=name, size=path.stat().st_size, actor=request.user,
                                             skip_bad=skip_bad, preview=PREVIEW_LINES)
    except csvfile.CsvFileError as error:
        result, file_error = None, error
    else:
        file_error = None
    if file_error is not None or not result.ok:  # the catalog changed since the preview: show it again
        return render(request, "catalog/product_import.html", _import_context(
            ProductImportForm(), result=result, token=token, name=name, error=file_error),
            status=400)
    path.unlink(missing_ok=True)
    waiting.pop(token, None)
    request.session[IMPORTS_SESSION_KEY] = waiting
    messages.success(request, _("%(name)s imported: %(created)d created, %(updated)d changed, %(unchanged)d "
                                "unchanged, %(skipped)d bad lines skipped.") % {
        "name": name, "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "skipped": result.bad_lines})
    return redirect("catalog:product_list")


@require("catalog.view_product")
def product_export(request):
    """Every product as CSV in the import's columns, streamed; UTF-8 with a BOM so that Excel reads it as such."""
    lines = csvfile.export_lines()
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="products-{stamp}.csv"'
    return response


def _with_bom(lines):
    yield "\ufeff"
    yield from lines
