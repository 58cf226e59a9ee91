"""Sync health of an Amazon store: a streak of failed passes, said plainly, and an alert after three in a row.

Every sync pass (scheduled, "Sync now", ``amazon sync`` or a backfill) ends in ``sync._sync_store``, which calls
``store_health_record_failure`` when Amazon refused or failed (and on an unexpected error) and
``store_health_record_success`` when the whole window was imported. A pass skipped because another one held the
store's lock counts neither way.

* The store shows "Sync failing since <start of the first failed pass of the streak>: <Amazon's message>" on its
  dashboard, in the Amazon store list and in a banner on the Amazon pages (``sync_health_notices``).
* The next pass retries on its own (the watermark did not move, so it redoes the window).
* After ``ALERT_AFTER_FAILURES`` failed passes in a row the store is marked alerted, once per streak: an admin-wide
  notice appears on every back-office page and an e-mail goes to the users with the Administrator role (a Huey task
  enqueued on commit). Both say what to do.
* The next successful pass ends the streak: the health is OK again and the notice is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from saleschannel.amazon.models import AmazonStore, SyncRun
from saleschannel.core.i18n import long_datetime, short_datetime
from saleschannel.core.notices import Notice
from saleschannel.core.roles import ADMINISTRATOR
from saleschannel.sales.emails import store_language

logger = logging.getLogger(__name__)

ALERT_AFTER_FAILURES = 3
VIEW_STORE = "amazon.view_amazonstore"


# --- Reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncHealth:
    failing_since: datetime | None
    message: str
    failures_in_row: int
    alerted_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.failures_in_row > 0

    @property
    def alerted(self) -> bool:
        return self.alerted_at is not None


def store_health(store: AmazonStore) -> SyncHealth:
    return SyncHealth(failing_since=store.sync_failing_since, message=store.last_error,
                      failures_in_row=store.sync_failures_in_row, alerted_at=store.sync_alerted_at)


def local_time(moment: datetime | None) -> str:
    """A stored time as the screens write it (``core.i18n.short_datetime``): the short date and time, in the
    reader's language and time zone."""
    return short_datetime(moment)


def failing_text(store: AmazonStore, *, since: str | None = None) -> str:
    """ "Sync failing since <time>: <Amazon's message>", or "" while the store syncs fine."""
    if not store.sync_failures_in_row:
        return ""
    return _("Sync failing since %(since)s: %(message)s") % {
        "since": since if since is not None else local_time(store.sync_failing_since or store.last_error_at),
        "message": store.last_error or _("no message"),
    }


# --- Writing (called by sync._sync_store) ---------------------------------------------------------------------


def store_health_record_failure(*, store: AmazonStore, run: SyncRun, message: str) -> bool:
    """A pass failed with ``message`` (Amazon's words): extend the store's streak; alert once at the third.

    Returns True when this failure raised the alert. ``store`` is updated in memory as well.
    """
    now = timezone.now()
    with transaction.atomic():
        current = (AmazonStore.objects.select_for_update()
                   .only("pk", "sync_failing_since", "sync_failures_in_row", "sync_alerted_at").get(pk=store.pk))
        fields = {
            "last_error": message,
            "last_error_at": now,
            "sync_failures_in_row": current.sync_failures_in_row + 1,
            "sync_failing_since": current.sync_failing_since or run.started_at or now,
            "sync_alerted_at": current.sync_alerted_at,
        }
        alert = fields["sync_failures_in_row"] >= ALERT_AFTER_FAILURES and current.sync_alerted_at is None
        if alert:
            fields["sync_alerted_at"] = now
        AmazonStore.objects.filter(pk=store.pk).update(**fields)
        if alert:
            store_id = store.pk
            transaction.on_commit(lambda: _enqueue_alert(store_id))
    for name, value in fields.items():
        setattr(store, name, value)
    if alert:
        logger.warning("Amazon sync of store %s failed %d times in a row; administrators are alerted",
                     store.pk, fields["sync_failures_in_row"])
    return alert


def store_health_record_success(*, store: AmazonStore) -> None:
    """The whole window was imported: the streak (and its alert) ends."""
    fields = {"last_successful_sync_at": timezone.now(), "last_error": "", "sync_failing_since": None,
              "sync_failures_in_row": 0, "sync_alerted_at": None}
    with transaction.atomic():
        AmazonStore.objects.filter(pk=store.pk).update(**fields)
    for name, value in fields.items():
        setattr(store, name, value)


# --- The alert e-mail ---------------------------------------------------------------------------------------


def _enqueue_alert(store_id: int) -> None:
    try:
        amazon_sync_alert_send(store_id)
    except Exception:  # the notice is there anyway; the e-mail is best effort
        logger.exception("could not enqueue the sync alert e-mail of Amazon store %s", store_id)


def administrator_emails() -> list[str]:
    """E-mail addresses of the active users with the Administrator role (a superuser without a role group is the
    Administrator it effectively is)."""
    users = get_user_model().objects.filter(Q(groups__name=ADMINISTRATOR) | Q(is_superuser=True), is_active=True)
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def send_sync_alert_email(*, store: AmazonStore) -> int:
    """E-mail every administrator that the store's sync keeps failing; returns how many e-mails were sent."""
    recipients = administrator_emails()
    if not recipients:
        logger.warning("Amazon store %s: sync alert not e-mailed, no administrator has an e-mail address", store.pk)
        return 0
    with translation.override(store_language(store.store)), timezone.override(settings.TIME_ZONE):
        context = {
            "store": store,
            "since": long_datetime(store.sync_failing_since),  # in the store's time zone, named
            "message": store.last_error,
            "failures": store.sync_failures_in_row,
            "dashboard_path": store_dashboard_path(store.pk),
        }
        subject = " ".join(render_to_string("amazon/email/sync_alert_subject.txt", context).split())
        body = render_to_string("amazon/email/sync_alert.txt", context)
    messages = [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    return get_connection().send_messages(messages) or 0


@db_task(retries=3, retry_delay=60)
def amazon_sync_alert_send(store_id: int) -> int:
    """Send the sync alert of a store, unless the streak ended in the meantime."""
    store = AmazonStore.objects.select_related("store").filter(pk=store_id).first()
    if store is None or store.sync_alerted_at is None:
        return 0
    return send_sync_alert_email(store=store)


# --- Banners ------------------------------------------------------------------------------------------------


def store_dashboard_path(store_id: int) -> str:
    try:
        return reverse("amazon:store_dashboard", args=[store_id])
    except NoReverseMatch:  # screens not installed (e.g. a worker-only deployment)
        return f"/amazon/stores/{store_id}/"


def _on_amazon_pages(request) -> bool:
    try:
        return request.path.startswith(reverse("amazon:store_list"))
    except NoReverseMatch:
        return False


def sync_health_notices(request) -> list:
    """Failing stores: an alert on every page once administrators were alerted, a warning on the Amazon pages
    before that."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(VIEW_STORE):
        return []
    failing = list(AmazonStore.objects.filter(is_active=True, sync_failures_in_row__gt=0).order_by("name")
                   .only("pk", "name", "last_error", "last_error_at", "sync_failing_since", "sync_failures_in_row",
                         "sync_alerted_at"))
    if not failing:
        return []
    amazon_pages = _on_amazon_pages(request)
    notices = []
    for store in failing:
        link = [(store.name, store_dashboard_path(store.pk))]
        text = _("Amazon store %(store)s: %(health)s") % {"store": store.name, "health": failing_text(store)}
        if store.sync_alerted_at is not None:
            notices.append(Notice(message=text + " " + _(
                "%(count)d sync passes in a row failed. Check the store's connection (Edit Store, Test connection) "
                "and what Amazon says, then use Sync now: this alert clears at the next successful sync.")
                % {"count": store.sync_failures_in_row}, level="error", links=link))
        elif amazon_pages:
            notices.append(Notice(message=text + " " + _("The next pass retries automatically."), level="warning",
                                  links=link))
    return notices
