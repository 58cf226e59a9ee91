from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "saleschannel.web"
    label = "web"
