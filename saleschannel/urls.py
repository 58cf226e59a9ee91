from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from saleschannel.web.views import LoginView

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("sales/", include("saleschannel.sales.urls")),
    path("catalog/", include("saleschannel.catalog.urls")),
    path("customers/", include("saleschannel.sales.customer_urls")),
    path("amazon/", include("saleschannel.amazon.urls")),
    path("api/v1/", include("saleschannel.api.urls")),
    path("", include("saleschannel.api.screen_urls")),
    path("", include("saleschannel.web.urls")),
]
