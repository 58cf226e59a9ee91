from django.shortcuts import redirect
from django.urls import path

app_name = "web"

urlpatterns = [
    # Until the back office lands, the home page is Django's admin with our models registered.
    path("", lambda request: redirect("admin:index"), name="home"),
]
