"""Back-office forms of the catalog. They only carry what was typed: every rule is in ``catalog.rules``, applied by
the services, whose refusals the views put next to the fields (so a screen, the CLI and the CSV import agree)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


def _text(label, *, help_text="", strip=True, max_length=None):
    # Not required here: an empty value gets the rule's own message ("Enter a SKU."), not Django's generic one.
    return forms.CharField(label=label, required=False, strip=strip, help_text=help_text, max_length=max_length)


class ProductForm(forms.Form):
    """Create a product (every field) or edit one (``editing``: SKU, name, price, manage stock)."""

    sku = _text(_("SKU"), strip=False, max_length=200,
                help_text=_("Unique, without regard to case. Amazon orders find the product by this SKU."))
    name = _text(_("Name"), max_length=1000)
    price = _text(_("Price"), max_length=100)
    qty = _text(_("Quantity"), help_text=_("Units physically in stock."), max_length=100)
    manage_stock = forms.BooleanField(label=_("Manage Stock"), required=False, initial=True)
    is_in_stock = forms.BooleanField(label=_("In Stock"), required=False, initial=True,
                                     help_text=_("Stock status set by staff."))
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    EDIT_FIELDS = ("sku", "name", "price", "manage_stock")

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in list(self.fields):
                if name not in self.EDIT_FIELDS:
                    del self.fields[name]
            self.fields["sku"].help_text = _("Changing the SKU changes which Amazon orders find this product.")

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)


class ProductStockForm(forms.Form):
    """Set stock: units on the shelf and the stock status."""

    qty = _text(_("Quantity"), help_text=_("Units physically in stock."), max_length=100)
    is_in_stock = forms.BooleanField(label=_("In Stock"), required=False, help_text=_("Stock status set by staff."))

    def add_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)


class ProductImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, with a header row; at most 50 MB."))


# The import's columns as the Import Products screen documents them (same order as ``rules.PRODUCT_FIELDS``).
COLUMN_HELP = [
    ("sku", True, _("The product's SKU: a new SKU creates a product, a known one updates it.")),
    ("name", True, _("Product name.")),
    ("price", True, _("A number, not negative, such as 19.99 (a decimal comma 19,99 works too).")),
    ("qty", False, _("Units in stock, a whole number (never below the units reserved for orders).")),
    ("enabled", False, _("1 or 0: sold or not.")),
    ("manage_stock", False, _("1 or 0: whether stock is counted and reserved.")),
    ("is_in_stock", False, _("1 or 0: stock status set by staff.")),
]
