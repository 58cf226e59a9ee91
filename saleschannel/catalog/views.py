"""Catalog screens: product list with search, product view and stock edit."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from saleschannel.catalog.forms import ProductStockForm
from saleschannel.catalog.models import Product
from saleschannel.web.access import require


@require("catalog.view_product")
def product_list(request):
    products = Product.objects.all().order_by("sku")
    keyword = request.GET.get("q", "").strip()
    if keyword:
        products = products.filter(Q(sku__icontains=keyword) | Q(name__icontains=keyword))
    page = Paginator(products, 50).get_page(request.GET.get("page"))
    return render(request, "catalog/product_list.html", {"page": page, "q": keyword})


@require("catalog.view_product")
def product_view(request, product_id: int):
    product = get_object_or_404(Product, pk=product_id)
    reservations = product.reservations.order_by("-created_at")[:50]
    form = None
    if request.user.has_perm("catalog.change_product"):
        form = ProductStockForm(instance=product)
    return render(request, "catalog/product_view.html", {
        "product": product, "reservations": reservations, "form": form,
    })


@require("catalog.change_product")
def product_edit(request, product_id: int):
    with transaction.atomic():
        product = get_object_or_404(Product.objects.select_for_update(), pk=product_id)
        form = ProductStockForm(request.POST or None, instance=product)
        if request.method == "POST" and form.is_valid():
            form.save()
            messages.success(request, _("You saved the product."))
            return redirect("catalog:product_view", product.pk)
    return render(request, "catalog/product_view.html", {
        "product": product, "reservations": product.reservations.order_by("-created_at")[:50], "form": form,
    }, status=400 if form.is_bound and form.errors else 200)
