"""SavedGridView now lives in ``core`` (see ``core.0001_initial``): only the model state leaves this app, the
table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("web", "0002_role_flags"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SavedGridView")],
            database_operations=[],
        ),
    ]
