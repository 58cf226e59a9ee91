from django.urls import path

from saleschannel.amazon import listing_views, metrics_views, notification_views, views

app_name = "amazon"

urlpatterns = [
    path("", views.store_list, name="store_list"),
    path("read-only/", views.read_only_set, name="read_only_set"),
    path("stores/new/", views.store_edit, name="store_new"),
    path("stores/<int:store_id>/", views.store_dashboard, name="store_dashboard"),
    path("stores/<int:store_id>/edit/", views.store_edit, name="store_edit"),
    path("stores/<int:store_id>/settings/", views.order_settings, name="order_settings"),
    path("stores/<int:store_id>/sync/", views.sync_now, name="sync_now"),
    path("stores/<int:store_id>/notifications/", notification_views.notification_settings,
         name="notification_settings"),
    path("stores/<int:store_id>/metrics/<str:marketplace_id>/<str:key>/", metrics_views.metric_orders,
         name="metric_orders"),
    path("stores/<int:store_id>/metrics/<str:marketplace_id>/<str:key>/<str:which>/", metrics_views.metric_orders,
         name="metric_orders_which"),
    path("stores/<int:store_id>/listings/", listing_views.listings_import, name="listings_import"),
    path("stores/<int:store_id>/listings/apply/", listing_views.listings_apply, name="listings_apply"),
    path("stores/<int:store_id>/sku-mappings/", listing_views.sku_mappings, name="sku_mappings"),
    path("stores/<int:store_id>/sku-mappings/export/", listing_views.sku_mappings_export,
         name="sku_mappings_export"),
    path("stores/<int:store_id>/sku-mappings/<int:mapping_id>/delete/", listing_views.sku_mapping_delete,
         name="sku_mapping_delete"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:order_id>/address/", views.order_address_save, name="order_address_save"),
    path("outbox/", views.outbox_list, name="outbox_list"),
    path("outbox/<int:message_id>/retry/", views.outbox_retry, name="outbox_retry"),
]
