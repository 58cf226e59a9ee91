from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _refresh_roles(sender, using="default", **kwargs):
    # Permissions are created by post_migrate as well; this app comes after the apps whose permissions the roles
    # use, so they exist by now. Setting up groups is configuration, not business logic.
    # Imported here, not at module level: core.roles imports django.contrib.auth.models, which Django refuses to
    # load while it is still importing the apps' AppConfig modules (AppRegistryNotReady).
    from saleschannel.core.roles import ensure_roles

    if using == "default":
        ensure_roles()


class WebConfig(AppConfig):
    name = "saleschannel.web"
    label = "web"
    verbose_name = "Back office"

    def ready(self):
        post_migrate.connect(_refresh_roles, sender=self, dispatch_uid="saleschannel.core.roles")
