from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: money, errors, bulk writes, i18n, log filters, access and roles, notices and navigation
    registries, saved grid views. It imports no other app of the product (checked by import-linter)."""

    name = "saleschannel.core"
    label = "core"
    verbose_name = "Core"
