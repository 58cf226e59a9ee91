from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "saleschannel.sales"
    label = "sales"
