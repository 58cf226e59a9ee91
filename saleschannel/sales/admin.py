"""Read-mostly admin for the sales models. Orders change only through sales.services."""

from django.contrib import admin

from saleschannel.sales import models


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ItemInline(ReadOnlyInline):
    model = models.OrderItem
    fields = ["sku", "name", "qty_ordered", "qty_invoiced", "qty_shipped", "qty_refunded", "qty_canceled",
              "price", "row_total", "tax_amount", "discount_amount"]


class AddressInline(ReadOnlyInline):
    model = models.OrderAddress


class HistoryInline(ReadOnlyInline):
    model = models.OrderHistory
    fields = ["created_at", "kind", "status", "comment", "author_label", "is_customer_notified"]
    readonly_fields = fields


@admin.register(models.Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "store", "customer_email", "status", "grand_total", "currency",
                    "origin", "external_order_number"]
    list_filter = ["status", "state", "store", "origin"]
    search_fields = ["number", "external_order_number", "customer_email", "customer_last_name", "items__sku"]
    inlines = [ItemInline, AddressInline, HistoryInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.OrderStatus)
class OrderStatusAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "state", "is_default"]


for model in (models.Invoice, models.Shipment, models.CreditMemo):
    admin.site.register(model, list_display=["number", "order", "created_at", "created_by"])
