"""Back-office state that belongs to users: saved grid views (any grid of any app may keep its views here)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedGridView(models.Model):
    """A user's named grid view: the grid's query string (filters, sort, columns, page size)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_grid_views")
    grid = models.CharField(max_length=32)
    name = models.CharField(_("name"), max_length=64)
    query = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table was created when the model lived in the web app (moved without copying a row).
        db_table = "web_savedgridview"
        ordering = ["name"]
        verbose_name = _("saved grid view")
        constraints = [
            models.UniqueConstraint(fields=["user", "grid", "name"], name="one_saved_view_name_per_user_grid")
        ]

    def __str__(self) -> str:
        return self.name
