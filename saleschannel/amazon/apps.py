from django.apps import AppConfig


class AmazonConfig(AppConfig):
    name = "saleschannel.amazon"
    label = "amazon"
