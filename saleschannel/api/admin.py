"""API tokens in Django's admin (``/django-admin/``): listed and revoked, never created or edited there (a token is
created with ``saleschannel api token create``, which shows its secret once)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from saleschannel.api.models import ApiToken
from saleschannel.api.tokens import token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token)
        messages.success(request, ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", len(queryset))
                         % {"count": len(queryset)})
