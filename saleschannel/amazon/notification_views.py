"""The "Real-time notifications" page of an Amazon store: off / sandbox / AWS, the SQS queue and its AWS keys
(write-only, encrypted at rest), a Set up button (destination and subscription, notifications.setup), the health
and the dead letters. Services in notifications.py; the dashboard's panel is templatetags/amazon_notifications.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.amazon import notifications
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.notification_health import health
from saleschannel.amazon.notification_models import NotificationDeadLetter, NotificationMode
from saleschannel.core.access import require

ADMIN = "amazon.change_amazonstore"
DEAD_LETTERS_SHOWN = 20


class NotificationSettingsForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Real-time notifications"), choices=NotificationMode.choices)
    queue_url = forms.URLField(label=gettext_lazy("SQS queue URL"), required=False, max_length=512,
                               assume_scheme="https",
                               help_text=gettext_lazy("e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/"
                                                      "amazon-orders; sandbox: the local SQS queue's URL."))
    aws_region = forms.CharField(label=gettext_lazy("AWS region"), required=False, max_length=32)
    access_key_id = forms.CharField(label=gettext_lazy("AWS access key id"), required=False, max_length=128,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    secret_access_key = forms.CharField(label=gettext_lazy("AWS secret access key"), required=False, max_length=256,
                                        widget=forms.PasswordInput(render_value=False,
                                                                   attrs={"autocomplete": "off"}))

    def __init__(self, *args, settings, **kwargs):
        kwargs.setdefault("initial", {"mode": settings.mode, "queue_url": settings.queue_url,
                                      "aws_region": settings.aws_region})
        super().__init__(*args, **kwargs)
        for name, stored in (("access_key_id", settings.access_key_id_encrypted),
                             ("secret_access_key", settings.secret_access_key_encrypted)):
            if stored:
                self.fields[name].help_text = _("•••• set — leave empty to keep it.")


@require(ADMIN)
def notification_settings(request, store_id: int):
    amazon_store = get_object_or_404(AmazonStore, pk=store_id)
    settings = notifications.settings_of(amazon_store)
    form = NotificationSettingsForm(request.POST or None, settings=settings)
    if request.method == "POST" and request.POST.get("action") in ("setup", "disable"):
        try:
            report = getattr(notifications, request.POST["action"])(amazon_store)
        except notifications.NotificationSetupError as error:
            messages.error(request, error.message)
        else:
            for line in report.lines:
                (messages.success if report.ok else messages.warning)(request, line)
        return redirect("amazon:notification_settings", amazon_store.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            notifications.configure(amazon_store, mode=data["mode"], queue_url=data["queue_url"],
                                    region=data["aws_region"], access_key_id=data["access_key_id"] or None,
                                    secret_access_key=data["secret_access_key"] or None)
        except notifications.NotificationSetupError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("You saved the real-time notification settings."))
            return redirect("amazon:notification_settings", amazon_store.pk)
    return render(request, "amazon/notifications.html", {
        "amazon_store": amazon_store, "form": form, "health": health(amazon_store),
        "dead_letters": NotificationDeadLetter.objects.filter(store=amazon_store)[:DEAD_LETTERS_SHOWN],
    }, status=400 if form.is_bound and form.errors else 200)
