"""Ship-by alerts (issue 15): before an unshipped Amazon order's Latest Ship Date, warn the store's operators.

* ``ship_by_alerts_send(now=...)``: for every active store, the orders still to ship whose Latest Ship Date is within
  the store's ``ship_by_alert_hours`` (or passed, within the last week) and not alerted yet at that threshold: one
  ``ShipByAlert`` row per order and threshold (unique: a second worker, a second tick, never alert it again), then
  one e-mail per store listing them to the users with the Operator role. The row and the e-mail go together: when
  the e-mail cannot be sent the rows roll back and the next tick tries again.
* ``ship_by_digest_send(now=...)``: once a day per store (``ShipByDigest``, unique per store and day), the orders
  overdue, due today and due within 24 hours.
* ``ship_by_notices``: the back-office notice while orders are overdue or within their store's threshold.

Huey runs both from ``tasks.py``; they are idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from saleschannel.amazon import deadlines
from saleschannel.amazon.deadline_models import ShipByAlert, ShipByDigest
from saleschannel.amazon.health import local_time
from saleschannel.amazon.models import AmazonOrder, AmazonStore
from saleschannel.core.notices import Notice
from saleschannel.core.roles import OPERATOR
from saleschannel.sales.emails import store_language

logger = logging.getLogger(__name__)
OVERDUE_LOOKBACK = timedelta(days=7)  # Amazon cancels orders not confirmed within 7 business days
MAX_THRESHOLD = timedelta(hours=72)  # the largest ship_by_alert_hours a store may set


def operator_emails() -> list[str]:
    """E-mail addresses of the active users with the Operator role."""
    users = get_user_model().objects.filter(groups__name=OPERATOR, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def order_list_path(**params) -> str:
    try:
        path = reverse("amazon:order_list")
    except NoReverseMatch:  # screens not installed (a worker-only deployment)
        path = "/amazon/orders/"
    return path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def orders_to_alert(store: AmazonStore, now: datetime):
    """The store's orders to ship within its threshold (or overdue since less than a week), not alerted yet."""
    hours = store.ship_by_alert_hours
    return (deadlines.awaiting_shipment(AmazonOrder.objects.filter(store=store))
            .filter(latest_ship_date__lte=now + timedelta(hours=hours), latest_ship_date__gte=now - OVERDUE_LOOKBACK)
            .exclude(ship_by_alerts__threshold_hours=hours)
            .select_related("commerce_order").order_by("latest_ship_date", "pk"))


def _send(store: AmazonStore, template: str, context: dict) -> int:
    recipients = operator_emails()
    if not recipients:
        logger.warning("Amazon store %s: ship-by e-mail not sent, no operator has an e-mail address", store.pk)
        return 0
    with translation.override(store_language(store.store)):
        context = {**context, "store": store,
                   "rows": [{"order": o, "deadline": local_time(o.latest_ship_date),
                             "state": deadlines.deadline_state(o.latest_ship_date, context["now"])}
                            for o in context["orders"]]}
        subject = " ".join(render_to_string(f"amazon/email/{template}_subject.txt", context).split())
        body = render_to_string(f"amazon/email/{template}.txt", context)
    messages = [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    return get_connection(fail_silently=False).send_messages(messages) or 0


def store_ship_by_alerts_send(*, store: AmazonStore, now: datetime | None = None) -> int:
    """Alert the store's operators about its orders newly within the threshold; returns how many orders."""
    now = now or timezone.now()
    orders = list(orders_to_alert(store, now))
    if not orders:
        return 0
    try:
        with transaction.atomic():
            alerts = [ShipByAlert(amazon_order=o, threshold_hours=store.ship_by_alert_hours,
                                  latest_ship_date=o.latest_ship_date, sent_at=now) for o in orders]
            ShipByAlert.objects.bulk_create(alerts)
            sent = _send(store, "ship_by_alert", {"orders": orders, "now": now, "hours": store.ship_by_alert_hours,
                                                  "list_path": order_list_path(ship_by=f"{store.ship_by_alert_hours}h"
                                                                               if store.ship_by_alert_hours in
                                                                               deadlines.WITHIN_HOURS else "today")})
            ShipByAlert.objects.filter(pk__in=[a.pk for a in alerts if a.pk]).update(recipients=sent)
    except IntegrityError:  # another worker alerted (some of) them at the same moment: it sends, not us
        return 0
    return len(orders)


def ship_by_alerts_send(*, now: datetime | None = None) -> int:
    """Every active store's ship-by alerts (the worker's tick); returns how many orders were alerted."""
    total = 0
    for store in AmazonStore.objects.filter(is_active=True).select_related("store"):
        try:
            total += store_ship_by_alerts_send(store=store, now=now)
        except Exception:  # one store's mail server trouble must not stop the others; retried at the next tick
            logger.exception("ship-by alerts of Amazon store %s failed", store.pk)
    return total


def store_ship_by_digest_send(*, store: AmazonStore, now: datetime | None = None) -> bool:
    """The store's daily digest (once per local day, only when something is due); True when sent now."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    if ShipByDigest.objects.filter(store=store, day=day).exists():
        return False
    orders = list(deadlines.awaiting_shipment(AmazonOrder.objects.filter(store=store))
                  .filter(latest_ship_date__lte=now + timedelta(hours=24), latest_ship_date__gte=now - OVERDUE_LOOKBACK)
                  .select_related("commerce_order").order_by("latest_ship_date", "pk"))
    if not orders:
        return False
    try:
        with transaction.atomic():
            digest = ShipByDigest.objects.create(store=store, day=day, sent_at=now)
            overdue = sum(1 for o in orders if o.latest_ship_date < now)
            digest.recipients = _send(store, "ship_by_digest", {
                "orders": orders, "now": now, "overdue": overdue, "day": day,
                "list_path": order_list_path(ship_by="24h"), "overdue_path": order_list_path(ship_by="overdue")})
            digest.save(update_fields=["recipients"])
    except IntegrityError:
        return False
    return True


def ship_by_digests_send(*, now: datetime | None = None) -> int:
    sent = 0
    for store in AmazonStore.objects.filter(is_active=True).select_related("store"):
        try:
            sent += store_ship_by_digest_send(store=store, now=now)
        except Exception:
            logger.exception("ship-by digest of Amazon store %s failed", store.pk)
    return sent


def ship_by_counts(now: datetime | None = None) -> dict[str, int]:
    """Orders to ship across stores: ``overdue`` and ``today`` (due before midnight, not overdue yet)."""
    now = now or timezone.now()
    return deadlines.awaiting_shipment(AmazonOrder.objects.all()).aggregate(
        overdue=Count("pk", filter=Q(latest_ship_date__lt=now)),
        today=Count("pk", filter=Q(latest_ship_date__gte=now, latest_ship_date__lt=deadlines.end_of_day(now))),
    )


def ship_by_notices(request) -> list:
    """A notice while Amazon orders are overdue or within their store's alert threshold."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("amazon.view_amazonorder"):
        return []
    now = timezone.now()
    # One query, whatever the page: the deadlines of orders still to ship, overdue (within a week) or within the
    # largest threshold a store may set; each is then compared with its own store's threshold.
    rows = (deadlines.awaiting_shipment(AmazonOrder.objects.filter(store__is_active=True))
            .filter(latest_ship_date__gte=now - OVERDUE_LOOKBACK, latest_ship_date__lte=now + MAX_THRESHOLD)
            .values_list("latest_ship_date", "store__ship_by_alert_hours"))
    overdue = soon = 0
    for latest, hours in rows:
        if latest < now:
            overdue += 1
        elif latest <= now + timedelta(hours=hours):
            soon += 1
    notices = []
    if overdue:
        notices.append(Notice(message=ngettext(
            "%(count)d Amazon order is past its Latest Ship Date and not shipped yet.",
            "%(count)d Amazon orders are past their Latest Ship Date and not shipped yet.", overdue)
            % {"count": overdue}, level="error",
            links=[(_("View overdue orders"), order_list_path(ship_by="overdue"))]))
    if soon:
        notices.append(Notice(message=ngettext(
            "%(count)d Amazon order must ship soon (Latest Ship Date within the store's alert threshold).",
            "%(count)d Amazon orders must ship soon (Latest Ship Date within the store's alert threshold).", soon)
            % {"count": soon}, level="warning", links=[(_("View orders due today"), order_list_path(ship_by="today")),
                                                       (_("Due within 24 hours"), order_list_path(ship_by="24h"))]))
    return notices
