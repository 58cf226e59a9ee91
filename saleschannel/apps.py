from django.apps import AppConfig


class SalesChannelConfig(AppConfig):
    name = "saleschannel"
    label = "saleschannel_project"
    verbose_name = "Sales Channel"
