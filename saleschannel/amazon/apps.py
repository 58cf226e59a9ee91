from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AmazonConfig(AppConfig):
    name = "saleschannel.amazon"
    label = "amazon"
    verbose_name = _("Amazon Sales Channel")

    def ready(self) -> None:
        from saleschannel.amazon.notices import import_error_notices
        from saleschannel.core import notices

        notices.register(import_error_notices)
        from saleschannel.amazon.health import sync_health_notices  # also registers the alert e-mail task

        notices.register(sync_health_notices)
        from saleschannel.amazon.channel import install  # outbound, screens, alerts

        install()
