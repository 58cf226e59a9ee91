from django.urls import path

from saleschannel.sales import customer_views as views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("<int:customer_id>/", views.customer_view, name="customer_view"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
]
