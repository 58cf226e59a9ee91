from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "saleschannel.api"
    label = "api"
