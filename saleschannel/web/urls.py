from django.urls import path

from saleschannel.web import views

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("", views.dashboard, name="home"),
    path("password/", views.password_change, name="password_change"),
    path("settings/statuses/", views.status_list, name="status_list"),
    path("settings/stores/", views.store_list, name="store_list"),
    path("settings/stores/new/", views.store_edit, name="store_new"),
    path("settings/stores/<int:store_id>/", views.store_edit, name="store_edit"),
    path("settings/users/", views.user_list, name="user_list"),
    path("settings/users/new/", views.user_edit, name="user_new"),
    path("settings/users/<int:user_id>/", views.user_edit, name="user_edit"),
]
