from django.urls import path

from saleschannel.catalog import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/<int:product_id>/", views.product_view, name="product_view"),
    path("products/<int:product_id>/edit/", views.product_edit, name="product_edit"),
]
