"""SKU mappings: an Amazon seller SKU of one Amazon store (one of its marketplaces, or all of them) sold as a
Commerce product whose SKU differs. The order import looks a mapping up first, then a product with the same SKU
(``order_import.ImportContext``). Imported into ``amazon.models``; written by ``listings.py``'s services."""

from __future__ import annotations

from django.db import models
from django.db.models import F, FilteredRelation, Q
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.models import Product


class SkuMapping(models.Model):
    """Amazon seller SKU (per Amazon store, optionally per marketplace) → Commerce product."""

    store = models.ForeignKey("amazon.AmazonStore", on_delete=models.CASCADE, related_name="sku_mappings",
                              verbose_name=_("Amazon store"))
    marketplace_id = models.CharField(_("marketplace"), max_length=32, blank=True,
                                      help_text=_("Empty: every marketplace of the store."))
    seller_sku = models.CharField(_("Amazon seller SKU"), max_length=64)
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="amazon_sku_mappings",
                                verbose_name=_("product"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["seller_sku", "marketplace_id"]
        verbose_name = _("SKU mapping")
        verbose_name_plural = _("SKU mappings")
        constraints = [
            models.UniqueConstraint(fields=["store", "marketplace_id", "seller_sku"],
                                    name="amazon_sku_mapping_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_sku} → {self.product_id}"


def products_for_skus(store, skus: set[str]) -> tuple[dict, dict]:
    """Products with these SKUs and products these Amazon seller SKUs are mapped to in ``store``, in one query:
    ({Commerce SKU: product}, {(marketplace or "", seller SKU): product})."""
    if not skus:
        return {}, {}
    mapping = FilteredRelation("amazon_sku_mappings", condition=Q(
        amazon_sku_mappings__store=store, amazon_sku_mappings__seller_sku__in=skus))
    rows = (Product.objects.annotate(mapping=mapping).filter(Q(sku__in=skus) | Q(mapping__isnull=False))
            .annotate(mapped_sku=F("mapping__seller_sku"), mapped_marketplace=F("mapping__marketplace_id")))
    products, mapped = {}, {}
    for product in rows:
        product = products.setdefault(product.sku, product)  # one instance per product
        if product.mapped_sku is not None:
            mapped[(product.mapped_marketplace or "", product.mapped_sku)] = product
    return products, mapped
