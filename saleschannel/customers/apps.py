from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "saleschannel.customers"
    label = "customers"
