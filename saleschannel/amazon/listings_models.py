"""A read of an Amazon store's listings in the background (``listings_jobs.py``): the back office starts it, the
worker reads Amazon's listings report and saves the listings for the preview, the page follows it. Imported into
``amazon.models``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ListingsReadState(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("listings read", "Queued")
    READING = "reading", pgettext_lazy("listings read", "Reading")
    DONE = "done", pgettext_lazy("listings read", "Done")
    FAILED = "failed", pgettext_lazy("listings read", "Failed")


class ListingsRead(models.Model):
    """One read of the listings of one marketplace of an Amazon store."""

    store = models.ForeignKey("amazon.AmazonStore", on_delete=models.CASCADE, related_name="listings_reads",
                              verbose_name=_("Amazon store"))
    marketplace_id = models.CharField(_("marketplace"), max_length=32)
    state = models.CharField(_("state"), max_length=8, choices=ListingsReadState.choices,
                             default=ListingsReadState.QUEUED)
    error = models.TextField(_("error"), blank=True)
    token = models.CharField(max_length=64, blank=True, help_text="names the saved listings file when done")
    language = models.CharField(max_length=16, blank=True, help_text="the requester's language, for the error")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"))
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("listings read")
        verbose_name_plural = _("listings reads")
        indexes = [models.Index(fields=["store", "marketplace_id", "state"], name="amazon_listings_read_active")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.marketplace_id}: {self.state}"

    @property
    def active(self) -> bool:
        return self.state in (ListingsReadState.QUEUED, ListingsReadState.READING)
