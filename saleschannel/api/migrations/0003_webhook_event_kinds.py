"""Webhook event kinds renamed to the issue's: endpoints subscribed to an old kind keep receiving its successor."""

from django.db import migrations

RENAMED = {
    "order.invoiced": "invoice.created",
    "order.shipped": "shipment.created",
    "order.refunded": "creditmemo.created",
    "order.canceled": "order.updated",
    "order.status_changed": "order.updated",
}


def rename_kinds(apps, schema_editor):
    WebhookEndpoint = apps.get_model("api", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.all():
        kinds = []
        for kind in endpoint.events or []:
            kind = RENAMED.get(kind, kind)
            if kind not in kinds:
                kinds.append(kind)
        if kinds != (endpoint.events or []):
            endpoint.events = kinds
            endpoint.save(update_fields=["events"])


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0002_webhookendpoint_webhookdelivery"),
    ]

    operations = [
        migrations.RunPython(rename_kinds, migrations.RunPython.noop),
    ]
