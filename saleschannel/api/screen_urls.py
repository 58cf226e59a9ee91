"""Back-office screens of the API app: Settings › Webhooks and the user menu's API tokens."""

from django.urls import path

from saleschannel.api import token_views, webhook_views

app_name = "api"

urlpatterns = [
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", webhook_views.webhook_new, name="webhook_new"),
    path("settings/webhooks/<int:endpoint_id>/", webhook_views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:endpoint_id>/disable/", webhook_views.webhook_disable, name="webhook_disable"),
    path("settings/webhooks/<int:endpoint_id>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path("settings/webhooks/<int:endpoint_id>/deliveries/", webhook_views.webhook_deliveries,
         name="webhook_deliveries"),
    path("settings/webhooks/deliveries/<int:delivery_id>/redeliver/", webhook_views.webhook_redeliver,
         name="webhook_redeliver"),
    path("account/api-tokens/", token_views.token_list, name="token_list"),
    path("account/api-tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
]
