from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "saleschannel.catalog"
    label = "catalog"
