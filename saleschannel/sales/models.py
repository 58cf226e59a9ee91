"""Commerce orders and their documents: invoices, shipments, credit memos, history.

Quantities are whole units (Amazon sells whole units). Money is ``Decimal`` in the order's currency, rounded to
its minor unit (see ``saleschannel.core.money``). What may happen to an order lives in ``sales/rules.py``; how it
happens lives in ``sales/services/``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from saleschannel.core.money import MoneyField


class OrderState(models.TextChoices):
    NEW = "new", _("New")
    PENDING_PAYMENT = "pending_payment", _("Pending Payment")
    PROCESSING = "processing", _("Processing")
    COMPLETE = "complete", _("Complete")
    CLOSED = "closed", _("Closed")
    CANCELED = "canceled", _("Canceled")
    HOLDED = "holded", _("On Hold")
    PAYMENT_REVIEW = "payment_review", _("Payment Review")


class OrderStatus(models.Model):
    """A label for a state. Each state has one default status; merchants may add their own statuses."""

    code = models.SlugField(_("status code"), max_length=32, unique=True)
    label = models.CharField(_("label"), max_length=128)
    state = models.CharField(_("state"), max_length=32, choices=OrderState.choices)
    is_default = models.BooleanField(_("default for its state"), default=False)
    is_system = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["state", "code"]
        verbose_name = _("order status")
        verbose_name_plural = _("order statuses")
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(is_default=True), name="one_default_status_per_state"
            )
        ]

    def __str__(self) -> str:
        return self.label


class DocumentSequence(models.Model):
    """Per-store counters for order, invoice, shipment and credit memo numbers.

    Incremented with a single ``UPDATE ... SET last_value = last_value + 1`` inside the caller's transaction, so
    two transactions never get the same number (a rolled-back one may leave a gap, which is allowed).
    """

    store = models.ForeignKey("catalog.Store", on_delete=models.CASCADE, related_name="sequences")
    kind = models.CharField(max_length=16)  # order, invoice, shipment, creditmemo
    last_value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="one_sequence_per_store_kind")]


class Order(models.Model):
    number = models.CharField(_("order number"), max_length=64, unique=True)
    store = models.ForeignKey("catalog.Store", on_delete=models.PROTECT, related_name="orders")
    state = models.CharField(_("state"), max_length=32, choices=OrderState.choices, default=OrderState.NEW)
    status = models.CharField(_("status"), max_length=32, default="pending")
    origin = models.CharField(
        _("origin"), max_length=16, default="backoffice", help_text=_("Where the order came from, e.g. amazon.")
    )
    external_order_number = models.CharField(
        _("external order number"), max_length=64, blank=True, db_index=True,
        help_text=_("The order's number in the channel it came from (the Amazon order number)."),
    )
    currency = models.CharField(_("currency"), max_length=3)

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    customer_is_guest = models.BooleanField(_("guest"), default=True)
    customer_email = models.EmailField(_("customer email"), max_length=254)
    customer_first_name = models.CharField(_("customer first name"), max_length=128)
    customer_last_name = models.CharField(_("customer last name"), max_length=128)

    shipping_method_code = models.CharField(_("shipping method code"), max_length=64, blank=True)
    shipping_method_title = models.CharField(_("shipping method"), max_length=255, blank=True)

    subtotal = MoneyField(_("subtotal"))
    shipping_amount = MoneyField(_("shipping & handling"))
    shipping_tax_amount = MoneyField(_("shipping tax"))
    discount_amount = MoneyField(_("discount"), help_text=_("Positive amount taken off the order."))
    tax_amount = MoneyField(_("tax"), help_text=_("Item tax plus shipping tax."))
    grand_total = MoneyField(_("grand total"))
    total_invoiced = MoneyField(_("total invoiced"))
    total_paid = MoneyField(_("total paid"))
    total_refunded = MoneyField(_("total refunded"))
    shipping_invoiced = MoneyField(_("shipping invoiced"))
    shipping_refunded = MoneyField(_("shipping refunded"))
    total_canceled = MoneyField(_("total canceled"))

    hold_before_state = models.CharField(max_length=32, blank=True)
    hold_before_status = models.CharField(max_length=32, blank=True)
    email_sent = models.BooleanField(_("order email sent"), default=False)
    reordered_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reorders"
    )

    created_at = models.DateTimeField(_("purchase date"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["store", "-created_at"], name="order_store_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["-grand_total"], name="order_grand_total"),
            models.Index(fields=["customer_email"], name="order_customer_email"),
            models.Index(fields=["customer_last_name"], name="order_customer_last_name"),
            models.Index(fields=["origin", "-created_at"], name="order_origin_created"),
            # The REST API's sync cursor (updated_since, then pages on (updated_at, id)).
            models.Index(fields=["updated_at", "id"], name="order_updated_id"),
        ]
        permissions = [
            ("process_order", "Can invoice, ship, refund, cancel, hold, comment and email orders"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def total_due(self) -> Decimal:
        return self.grand_total - self.total_paid

    @property
    def customer_name(self) -> str:
        return f"{self.customer_first_name} {self.customer_last_name}".strip()


class AddressType(models.TextChoices):
    BILLING = "billing", _("Billing Address")
    SHIPPING = "shipping", _("Shipping Address")


class OrderAddress(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="addresses")
    address_type = models.CharField(max_length=16, choices=AddressType.choices)
    first_name = models.CharField(_("first name"), max_length=128)
    last_name = models.CharField(_("last name"), max_length=128, blank=True)
    company = models.CharField(_("company"), max_length=255, blank=True)
    street1 = models.CharField(_("street address"), max_length=255, blank=True)
    street2 = models.CharField(_("street address line 2"), max_length=255, blank=True)
    street3 = models.CharField(_("street address line 3"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True)
    region = models.CharField(_("state/province"), max_length=128, blank=True)
    postcode = models.CharField(_("postal code"), max_length=32, blank=True)
    country_code = models.CharField(_("country"), max_length=2, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "address_type"], name="one_address_per_type_per_order")
        ]
        indexes = [models.Index(fields=["last_name", "first_name"], name="address_name")]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def street_lines(self) -> list[str]:
        return [line for line in (self.street1, self.street2, self.street3) if line]


class OrderPayment(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    method_code = models.CharField(_("payment method code"), max_length=64)
    method_title = models.CharField(_("payment method"), max_length=255)
    additional_information = models.JSONField(
        _("additional information"), default=dict, blank=True,
        help_text=_('Label → value pairs shown with the payment, e.g. {"Amazon Order Number": "…"}.'),
    )


class ItemStatus(models.TextChoices):
    """Where an order item stands, as the order view shows it (``OrderItem.item_status``)."""

    ORDERED = "ordered", pgettext_lazy("item status", "Ordered")
    INVOICED = "invoiced", pgettext_lazy("item status", "Invoiced")
    SHIPPED = "shipped", pgettext_lazy("item status", "Shipped")
    MIXED = "mixed", pgettext_lazy("item status", "Mixed")
    REFUNDED = "refunded", pgettext_lazy("item status", "Refunded")
    CANCELED = "canceled", pgettext_lazy("item status", "Canceled")


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="order_items"
    )
    sku = models.CharField(_("SKU"), max_length=64, db_index=True)
    name = models.CharField(_("product"), max_length=255)
    external_item_id = models.CharField(
        _("external item id"), max_length=64, blank=True, help_text=_("Amazon's OrderItemId.")
    )
    qty_ordered = models.IntegerField(_("qty ordered"))
    qty_invoiced = models.IntegerField(_("qty invoiced"), default=0)
    qty_shipped = models.IntegerField(_("qty shipped"), default=0)
    qty_refunded = models.IntegerField(_("qty refunded"), default=0)
    qty_canceled = models.IntegerField(_("qty canceled"), default=0)
    original_price = MoneyField(_("original price"))
    price = MoneyField(_("price"))
    row_total = MoneyField(_("subtotal"))
    tax_amount = MoneyField(_("tax amount"))
    tax_percent = models.DecimalField(_("tax percent"), max_digits=7, decimal_places=4, default=Decimal("0"))
    discount_amount = MoneyField(_("discount amount"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty_ordered__gt=0), name="item_qty_ordered_positive"),
            models.CheckConstraint(
                condition=Q(qty_invoiced__gte=0, qty_shipped__gte=0, qty_refunded__gte=0, qty_canceled__gte=0),
                name="item_qtys_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.qty_ordered}"

    # The quantities of DESIGN.md §3.1.
    @property
    def qty_to_invoice(self) -> int:
        return max(self.qty_ordered - self.qty_invoiced - self.qty_canceled, 0)

    @property
    def qty_to_ship(self) -> int:
        return max(self.qty_ordered - self.qty_shipped - self.qty_refunded - self.qty_canceled, 0)

    @property
    def qty_to_refund(self) -> int:
        return max(self.qty_invoiced - self.qty_refunded, 0)

    @property
    def qty_to_cancel(self) -> int:
        return max(min(self.qty_to_invoice, self.qty_to_ship), 0)

    @property
    def row_total_incl_tax(self) -> Decimal:
        return self.row_total + self.tax_amount - self.discount_amount

    @property
    def item_status(self) -> ItemStatus:
        """Refunded or canceled in full first, then shipped or invoiced in full, mixed when partly processed."""
        if self.qty_refunded and self.qty_refunded >= self.qty_ordered:
            return ItemStatus.REFUNDED
        if self.qty_canceled and self.qty_canceled >= self.qty_ordered:
            return ItemStatus.CANCELED
        if self.qty_shipped >= self.qty_ordered:
            return ItemStatus.SHIPPED
        if self.qty_invoiced >= self.qty_ordered:
            return ItemStatus.INVOICED
        if self.qty_shipped or self.qty_invoiced or self.qty_refunded:
            return ItemStatus.MIXED
        return ItemStatus.ORDERED


class Invoice(models.Model):
    number = models.CharField(_("invoice number"), max_length=64, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    subtotal = MoneyField(_("subtotal"))
    shipping_amount = MoneyField(_("shipping & handling"))
    discount_amount = MoneyField(_("discount"))
    tax_amount = MoneyField(_("tax"))
    grand_total = MoneyField(_("grand total"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]


class InvoiceItem(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="invoice_items")
    qty = models.IntegerField()
    price = MoneyField(_("price"))
    row_total = MoneyField(_("subtotal"))
    tax_amount = MoneyField(_("tax"))
    discount_amount = MoneyField(_("discount"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(qty__gt=0), name="invoice_item_qty_positive")]


class Shipment(models.Model):
    number = models.CharField(_("shipment number"), max_length=64, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    total_qty = models.IntegerField(_("total quantity"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="shipment_items")
    qty = models.IntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(qty__gt=0), name="shipment_item_qty_positive")]


class Carrier(models.TextChoices):
    DHL = "dhl", "DHL"
    FEDEX = "fedex", "FedEx"
    UPS = "ups", "UPS"
    USPS = "usps", "USPS"
    ROYAL_MAIL = "royal_mail", "Royal Mail"
    DPD = "dpd", "DPD"
    GLS = "gls", "GLS"
    COLISSIMO = "colissimo", "Colissimo"
    CHRONOPOST = "chronopost", "Chronopost"
    CUSTOM = "custom", _("Custom Value")


class ShipmentTrack(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracks")
    carrier_code = models.CharField(_("carrier"), max_length=32, choices=Carrier.choices)
    title = models.CharField(_("title"), max_length=128)
    number = models.CharField(_("tracking number"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class CreditMemo(models.Model):
    number = models.CharField(_("credit memo number"), max_length=64, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="creditmemos")
    subtotal = MoneyField(_("subtotal"))
    shipping_amount = MoneyField(_("refund shipping"))
    shipping_tax_amount = MoneyField(_("shipping tax refunded"))
    discount_amount = MoneyField(_("discount"))
    tax_amount = MoneyField(_("tax"))
    adjustment_refund = MoneyField(_("adjustment refund"))
    adjustment_fee = MoneyField(_("adjustment fee"))
    grand_total = MoneyField(_("grand total"))
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    created_by = models.CharField(_("created by"), max_length=150)

    class Meta:
        ordering = ["-created_at", "-id"]


class CreditMemoItem(models.Model):
    creditmemo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="creditmemo_items")
    qty = models.IntegerField()
    back_to_stock = models.BooleanField(_("return to stock"), default=False)
    price = MoneyField(_("price"))
    row_total = MoneyField(_("subtotal"))
    tax_amount = MoneyField(_("tax"))
    discount_amount = MoneyField(_("discount"))

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(qty__gte=0), name="creditmemo_item_qty_not_negative")]


class HistoryKind(models.TextChoices):
    COMMENT = "comment", _("Comment")
    EVENT = "event", _("Event")
    EMAIL = "email", _("Email")


class OrderHistory(models.Model):
    """One line of an order's history: a staff comment, an automatic event or an email sent.

    ``author`` is the staff user when a person acted; ``author_label`` always says who or what acted
    ("admin", "Amazon sync", "system") so the line still reads right after the user is deleted.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=16, choices=HistoryKind.choices, default=HistoryKind.EVENT)
    comment = models.TextField(_("comment"), blank=True)
    status = models.CharField(_("status"), max_length=32, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(_("author"), max_length=150)
    is_customer_notified = models.BooleanField(_("customer notified"), null=True)
    is_visible_on_front = models.BooleanField(_("visible on storefront"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("order history")
