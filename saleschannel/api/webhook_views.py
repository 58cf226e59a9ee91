"""Settings › Webhooks (administrators only): endpoints, their delivery log and redelivery; and its notice.

Only Administrators hold ``api.change_webhookendpoint`` (the other roles only read the rest of the back office).
The signing secret is shown once, in the answer to the creation.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from saleschannel.api import webhooks
from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.core import events
from saleschannel.core.access import require
from saleschannel.core.errors import DomainError
from saleschannel.core.notices import Notice

PERMISSION = "api.change_webhookendpoint"
DELIVERIES_PER_PAGE = 50
# When each kind is sent, next to its name in the form (docs/api.md lists the payloads).
EVENT_LABELS = {
    events.ORDER_CREATED: gettext_lazy("an order is created"),
    events.ORDER_UPDATED: gettext_lazy("an order changes: state or status, hold, unhold, cancel, comment"),
    events.INVOICE_CREATED: gettext_lazy("an invoice is created"),
    events.SHIPMENT_CREATED: gettext_lazy("a shipment is created"),
    events.CREDITMEMO_CREATED: gettext_lazy("a credit memo is created"),
    events.AMAZON_ORDER_ERROR: gettext_lazy("an Amazon order is put in Error"),
    events.OUTBOX_DEAD: gettext_lazy("a message to Amazon failed for good (dead-lettered)"),
}


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=500,
                          help_text=gettext_lazy("An https:// address that accepts JSON POSTs."))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(kind, format_lazy("{} — {}", kind, EVENT_LABELS[kind])) for kind in events.KINDS],
        help_text=gettext_lazy("None ticked: every event."),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


def disabled_endpoint_notices(request) -> list[Notice]:
    """"A webhook endpoint was disabled after repeated failures", for the administrators who can fix it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(PERMISSION):
        return []
    disabled = list(WebhookEndpoint.objects.filter(active=False).exclude(disabled_reason="")[:5])
    return [
        Notice(_("The webhook endpoint %(url)s is disabled: %(reason)s") % {"url": endpoint.url,
                                                                          "reason": endpoint.disabled_reason},
               level="error", links=[(_("Review it"), reverse("api:webhook_edit", args=[endpoint.pk]))])
        for endpoint in disabled
    ]


def _apply_error(form: forms.Form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@require(PERMISSION)
def webhook_list(request):
    endpoints = WebhookEndpoint.objects.all()
    return render(request, "api/webhook_list.html", {"endpoints": endpoints})


@require(PERMISSION)
def webhook_new(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = webhooks.webhook_endpoint_create(url=form.cleaned_data["url"], events=form.cleaned_data["events"],
                                                   description=form.cleaned_data["description"], actor=request.user)
        except DomainError as error:
            _apply_error(form, error)
        else:
            if not form.cleaned_data["active"]:
                webhooks.webhook_endpoint_disable(endpoint=new.endpoint)
            # Shown here, once: the page is not cached and the secret is never shown again.
            response = render(request, "api/webhook_created.html", {"endpoint": new.endpoint, "secret": new.secret})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "api/webhook_edit.html", {"form": form, "endpoint": None},
                  status=400 if form.is_bound and form.errors else 200)


@require(PERMISSION)
def webhook_edit(request, endpoint_id: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events,
               "active": endpoint.active}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            webhooks.webhook_endpoint_update(endpoint=endpoint, url=form.cleaned_data["url"],
                                             events=form.cleaned_data["events"],
                                             description=form.cleaned_data["description"],
                                             active=form.cleaned_data["active"])
        except DomainError as error:
            _apply_error(form, error)
        else:
            messages.success(request, _("You saved the webhook endpoint."))
            return redirect("api:webhook_list")
    return render(request, "api/webhook_edit.html", {"form": form, "endpoint": endpoint},
                  status=400 if form.is_bound and form.errors else 200)


@require(PERMISSION)
@require_POST
def webhook_disable(request, endpoint_id: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    webhooks.webhook_endpoint_disable(endpoint=endpoint)
    messages.success(request, _("You disabled the webhook endpoint."))
    return redirect("api:webhook_list")


@require(PERMISSION)
def webhook_delete(request, endpoint_id: int):
    """GET asks for confirmation; POST deletes the endpoint and its delivery log."""
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    if request.method == "POST":
        webhooks.webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, _("You deleted the webhook endpoint."))
        return redirect("api:webhook_list")
    return render(request, "api/webhook_delete_confirm.html",
                  {"endpoint": endpoint, "deliveries": endpoint.deliveries.count()})


@require(PERMISSION)
def webhook_deliveries(request, endpoint_id: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    state = request.GET.get("state", "")
    if state not in WebhookDelivery.State.values:
        state = ""
    deliveries = webhooks.webhook_deliveries(endpoint=endpoint, state=state)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "api/webhook_deliveries.html",
                  {"endpoint": endpoint, "page": page, "state": state, "states": WebhookDelivery.State.choices})


@require(PERMISSION)
@require_POST
def webhook_redeliver(request, delivery_id: int):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_id)
    try:
        again = webhooks.webhook_delivery_redeliver(delivery=delivery, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The event was queued again (delivery %(id)d).") % {"id": again.pk})
    return redirect("api:webhook_deliveries", delivery.endpoint_id)
