"""SavedGridView moves from the web app to core without touching its table (``web_savedgridview``).

On an existing database the table is already there: only Django's model state moves, and the content type is
renamed so that the permissions (and the groups that hold them) keep their rows. On a new database the table is
created by ``web.0001_initial`` before this migration runs.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="core", model="savedgridview").exists():
        ContentType.objects.filter(app_label="web", model="savedgridview").update(app_label="core")


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="web", model="savedgridview").exists():
        ContentType.objects.filter(app_label="core", model="savedgridview").update(app_label="web")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("web", "0002_role_flags"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SavedGridView",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("grid", models.CharField(max_length=32)),
                        ("name", models.CharField(max_length=64, verbose_name="name")),
                        ("query", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                   related_name="saved_grid_views", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "saved grid view",
                        "ordering": ["name"],
                        "db_table": "web_savedgridview",
                        "constraints": [models.UniqueConstraint(fields=("user", "grid", "name"),
                                                                name="one_saved_view_name_per_user_grid")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
