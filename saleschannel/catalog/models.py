"""Commerce stores, products and stock reservations."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from saleschannel.catalog.rules import validate_order_number_prefix_format
from saleschannel.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class Store(models.Model):
    """A Commerce store (Magento's store view): orders belong to one, in its currency and locale."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=128)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    locale = models.CharField(_("locale"), max_length=8, default="en", help_text=_("Language of customer emails."))
    order_number_prefix = models.CharField(
        _("order number prefix"), max_length=8, validators=[validate_order_number_prefix_format],
        help_text=_("Starts every order, invoice, shipment and credit memo number of this store: 1 to 8 capital "
                    "letters A–Z, digits or hyphens, unique among the stores."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        constraints = [
            # Two stores with one prefix would hand out the same numbers (see catalog/rules.py). An empty prefix
            # (left by code that bypasses the rules) falls back to the store's id in numbering and is not counted.
            models.UniqueConstraint(
                fields=["order_number_prefix"], condition=~Q(order_number_prefix=""),
                name="store_order_number_prefix_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    price = models.DecimalField(_("price"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    enabled = models.BooleanField(_("enabled"), default=True)
    manage_stock = models.BooleanField(_("manage stock"), default=True)
    qty = models.IntegerField(_("quantity"), default=0, help_text=_("Units physically in stock."))
    qty_reserved = models.IntegerField(
        _("reserved quantity"), default=0, help_text=_("Units promised to orders that have not shipped yet.")
    )
    is_in_stock = models.BooleanField(_("in stock"), default=True, help_text=_("Stock status set by staff."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(qty__gte=0), name="product_qty_not_negative"),
            models.CheckConstraint(condition=Q(qty_reserved__gte=0), name="product_reserved_not_negative"),
            # The last line of defence against overselling: reservations never exceed what is on the shelf
            # for products whose stock is managed.
            models.CheckConstraint(
                condition=Q(manage_stock=False) | Q(qty_reserved__lte=F("qty")),
                name="product_reserved_within_qty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"

    @property
    def salable_qty(self) -> int:
        return max(self.qty - self.qty_reserved, 0)


class StockReservation(models.Model):
    """Units of a product held for one order (a Commerce order or an Amazon order not yet imported).

    ``reference`` names the holder (``sales.order:42``, ``amazon.order:111-2222222-3333333``) so that the
    catalog does not depend on the apps that reserve.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reservations")
    reference = models.CharField(max_length=96, db_index=True)
    qty = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "reference"], name="one_reservation_per_product_and_holder"),
            models.CheckConstraint(condition=Q(qty__gt=0), name="reservation_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.qty} × {self.product_id} for {self.reference}"


class ProductChange(models.Model):
    """One change of a product by a person, a command or an import: who, when, what, and the values before/after.

    Written by the product services (``catalog.services``) in the same transaction as the change. ``changes`` is
    ``{field: [before, after]}`` with values as text (``before`` is null for a created product); stock moves made
    by orders (reservations, shipments, returns) are not product changes and are not recorded here.
    """

    class Action(models.TextChoices):
        CREATED = "created", _("Product created")
        UPDATED = "updated", _("Product updated")
        ENABLED = "enabled", _("Enabled")
        DISABLED = "disabled", _("Disabled")
        STOCK = "stock", _("Stock set")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes", verbose_name=_("product"))
    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    changes = models.JSONField(_("changes"), default=dict)
    source = models.CharField(_("source"), max_length=150, blank=True,
                              help_text=_("Where the change came from when not a screen (a CSV file ...)."))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("product change")
        verbose_name_plural = _("product changes")

    def __str__(self) -> str:
        return f"{self.product_id} {self.at:%Y-%m-%d %H:%M:%S} {self.actor}: {self.action}"
