"""URLs of the REST API; the project mounts them at ``/api/v1/``."""

from django.urls import path

from saleschannel.api.api import api

urlpatterns = [path("", api.urls)]
