from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AmazonConfig(AppConfig):
    name = "saleschannel.amazon"
    label = "amazon"
    verbose_name = _("Amazon Sales Channel")

    def ready(self) -> None:
        """Register the channel, its notices and its tasks."""
        # Imported here, not at module level: these modules import models, which need the app registry ready.
        from saleschannel.amazon.channel import install
        from saleschannel.amazon.health import sync_health_notices  # also registers the alert e-mail task
        from saleschannel.amazon.notices import import_error_notices
        from saleschannel.amazon.waiting import on_events
        from saleschannel.core import events, notices

        notices.register(import_error_notices)
        notices.register(sync_health_notices)
        install()  # outbound, screens, alerts
        # A product or SKU mapping appearing retries the orders in Error that waited for it (waiting.py).
        events.subscribe(on_events)
