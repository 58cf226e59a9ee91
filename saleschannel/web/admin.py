"""Django's own admin (``/django-admin/``) must not bypass the roles: there, users' flags, groups, permissions and
activity are read-only (they follow the role chosen in Settings › Users), and deleting goes through the service
that protects the last Administrator."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from saleschannel.core.errors import DomainError
from saleschannel.web import services

User = get_user_model()


class RoleManagedUserAdmin(UserAdmin):
    readonly_fields = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions", "last_login",
                       "date_joined")

    def delete_model(self, request, obj):
        try:
            services.user_delete(user=obj)
        except DomainError as error:
            messages.error(request, error.message)

    def delete_queryset(self, request, queryset):
        for user in queryset.order_by("pk"):
            self.delete_model(request, user)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, RoleManagedUserAdmin)
