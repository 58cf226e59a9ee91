from django.contrib import admin

from saleschannel.catalog.models import Product, ProductChange, StockReservation, Store


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "locale", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "price", "enabled", "manage_stock", "qty", "qty_reserved", "is_in_stock"]
    search_fields = ["sku", "name"]
    list_filter = ["enabled", "manage_stock", "is_in_stock"]


@admin.register(StockReservation)
class StockReservationAdmin(admin.ModelAdmin):
    list_display = ["product", "reference", "qty", "created_at"]
    search_fields = ["reference", "product__sku"]


@admin.register(ProductChange)
class ProductChangeAdmin(admin.ModelAdmin):
    list_display = ["product", "at", "actor", "action", "source"]
    search_fields = ["product__sku", "actor"]
    list_filter = ["action"]
    readonly_fields = ["product", "at", "actor", "action", "changes", "source"]
