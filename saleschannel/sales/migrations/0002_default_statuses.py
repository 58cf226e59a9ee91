from django.db import migrations

# Magento's default statuses (DESIGN.md §3.2): one default per state, plus "fraud" under processing.
DEFAULT_STATUSES = [
    ("pending", "Pending", "new", True),
    ("pending_payment", "Pending Payment", "pending_payment", True),
    ("processing", "Processing", "processing", True),
    ("fraud", "Suspected Fraud", "processing", False),
    ("complete", "Complete", "complete", True),
    ("closed", "Closed", "closed", True),
    ("canceled", "Canceled", "canceled", True),
    ("holded", "On Hold", "holded", True),
    ("payment_review", "Payment Review", "payment_review", True),
]


def add_statuses(apps, schema_editor):
    OrderStatus = apps.get_model("sales", "OrderStatus")
    for code, label, state, is_default in DEFAULT_STATUSES:
        OrderStatus.objects.update_or_create(
            code=code, defaults={"label": label, "state": state, "is_default": is_default, "is_system": True}
        )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(add_statuses, migrations.RunPython.noop)]
