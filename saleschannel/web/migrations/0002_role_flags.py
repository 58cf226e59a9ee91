"""Make every user's ``is_superuser``/``is_staff`` follow its role (issue 11, finding 7).

Before, demoting an Administrator left both flags set: the list said "Viewer" while the user kept every
permission. For each user:

* with a role group: the flags become what the role says (Administrator: both True; Operator, Viewer: both False);
* without a role group but ``is_superuser``: it is given the Administrator role (what it effectively was), so the
  list shows it and the last-Administrator rule counts it;
* with neither: left as it is.

Mirrors ``saleschannel.core.roles.role_flags`` (a migration must not import code that may change later).
"""

from django.conf import settings
from django.db import migrations

ROLES = ("Administrator", "Operator", "Viewer")


def derive_flags(apps, schema_editor):
    app_label, model_name = settings.AUTH_USER_MODEL.split(".")
    User = apps.get_model(app_label, model_name)
    Group = apps.get_model("auth", "Group")
    for user in User.objects.order_by("pk").prefetch_related("groups"):
        names = {group.name for group in user.groups.all()}
        role = next((role for role in ROLES if role in names), "")
        if not role:
            if not user.is_superuser:
                continue
            role = "Administrator"
            group, _created = Group.objects.get_or_create(name=role)  # permissions: set after migrate
            user.groups.add(group)
        administrator = role == "Administrator"
        if (user.is_superuser, user.is_staff) != (administrator, administrator):
            user.is_superuser = user.is_staff = administrator
            user.save(update_fields=["is_superuser", "is_staff"])


class Migration(migrations.Migration):

    dependencies = [
        ("web", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(derive_flags, migrations.RunPython.noop)]
