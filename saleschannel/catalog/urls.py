from django.urls import path

from saleschannel.catalog import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_view, name="product_view"),
    path("products/<int:product_id>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:product_id>/stock/", views.product_stock, name="product_stock"),
    path("products/<int:product_id>/disable/", views.product_status, {"action": "disable"}, name="product_disable"),
    path("products/<int:product_id>/enable/", views.product_status, {"action": "enable"}, name="product_enable"),
    path("import/", views.product_import, name="product_import"),
    path("import/confirm/", views.product_import_confirm, name="product_import_confirm"),
    path("export.csv", views.product_export, name="product_export"),
]
