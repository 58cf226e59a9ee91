from django.db import migrations

from saleschannel.sales.statuses import DEFAULT_STATUSES


def add_statuses(apps, schema_editor):
    OrderStatus = apps.get_model("sales", "OrderStatus")
    for code, label, state, is_default in DEFAULT_STATUSES:
        OrderStatus.objects.update_or_create(
            code=code, defaults={"label": label, "state": state, "is_default": is_default, "is_system": True}
        )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(add_statuses, migrations.RunPython.noop)]
