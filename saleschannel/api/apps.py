from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "saleschannel.api"
    label = "api"

    def ready(self) -> None:
        """Subscribe the webhooks to the order events; register the Webhooks screen and its notice."""
        # Imported here, not at module level: these modules import models, which need the app registry ready.
        from saleschannel.api.webhook_views import disabled_endpoint_notices
        from saleschannel.api.webhooks import on_events
        from saleschannel.core import events, navigation, notices

        events.subscribe(on_events)
        notices.register(disabled_endpoint_notices)
        navigation.register("settings", _("Webhooks"), "api:webhook_list", permission="api.change_webhookendpoint",
                            order=40)
