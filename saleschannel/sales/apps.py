from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_default_statuses(sender, using="default", **kwargs):
    # Imported here: this module loads before the app registry is ready, and statuses imports the models.
    from saleschannel.sales.statuses import ensure_default_statuses

    ensure_default_statuses(using=using)


class SalesConfig(AppConfig):
    name = "saleschannel.sales"
    label = "sales"

    def ready(self):
        # Reference data, not business logic: see sales/statuses.py for why this runs after migrate and flush.
        post_migrate.connect(_ensure_default_statuses, sender=self, dispatch_uid="saleschannel.sales.statuses")
