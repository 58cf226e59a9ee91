from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.models import Product


class ProductStockForm(forms.ModelForm):
    """What staff change on a product in the back office: stock and availability."""

    class Meta:
        model = Product
        fields = ["name", "price", "enabled", "manage_stock", "qty", "is_in_stock"]
        labels = {
            "name": _("Name"), "price": _("Price"), "enabled": _("Enabled"), "manage_stock": _("Manage Stock"),
            "qty": _("Quantity"), "is_in_stock": _("In Stock"),
        }
        help_texts = {"qty": _("Units physically in stock."), "is_in_stock": _("Stock status set by staff.")}

    def clean(self):
        cleaned = super().clean()
        qty, manage_stock = cleaned.get("qty"), cleaned.get("manage_stock")
        if qty is not None and qty < 0:
            self.add_error("qty", _("The quantity cannot be negative."))
        elif manage_stock and qty is not None and qty < self.instance.qty_reserved:
            self.add_error("qty", _(
                "%(reserved)d units are reserved for orders that have not shipped; the quantity cannot be lower."
            ) % {"reserved": self.instance.qty_reserved})
        return cleaned
