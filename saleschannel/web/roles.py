"""Back-office roles: Django groups with permissions.

* **Administrator** — every permission, settings (order statuses, stores, users) included.
* **Operator** — processes orders (invoice, ship, refund, cancel, hold, comment, email, reorder), edits stock and
  customers, reads everything else.
* **Viewer** — reads everything, changes nothing.

``ensure_roles()`` creates or refreshes the groups; it runs after every ``migrate`` (see ``apps.py``) and whenever a
role is assigned, so a fresh database always has them. Other apps may add permissions to a role with
``grant(role, "app_label.codename")`` from their ``AppConfig.ready``.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "Administrator"
OPERATOR = "Operator"
VIEWER = "Viewer"
ROLES = (ADMINISTRATOR, OPERATOR, VIEWER)
ROLE_LABELS = {ADMINISTRATOR: _("Administrator"), OPERATOR: _("Operator"), VIEWER: _("Viewer")}

# Permissions beyond "view everything" that each role gets ("app_label.codename").
_EXTRA_PERMISSIONS: dict[str, set[str]] = {
    OPERATOR: {
        "sales.process_order",
        "catalog.change_product",
        "customers.change_customer",
        "web.add_savedgridview",
        "web.delete_savedgridview",
    },
    VIEWER: {"web.add_savedgridview", "web.delete_savedgridview"},
}


def grant(role: str, permission: str) -> None:
    """Give ``role`` the permission ``"app_label.codename"`` the next time the roles are refreshed."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if role != ADMINISTRATOR:  # the Administrator has every permission anyway
        _EXTRA_PERMISSIONS.setdefault(role, set()).add(permission)


def _permissions_for(role: str):
    every = Permission.objects.select_related("content_type")
    if role == ADMINISTRATOR:
        return list(every)
    wanted = _EXTRA_PERMISSIONS.get(role, set())
    return [
        perm for perm in every
        if perm.codename.startswith("view_") or f"{perm.content_type.app_label}.{perm.codename}" in wanted
    ]


@transaction.atomic
def ensure_roles() -> dict[str, Group]:
    """Create the three role groups if missing and set their permissions to what the roles say."""
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions_for(role))
        groups[role] = group
    return groups


def role_of(user) -> str:
    """The user's role name (the first role group it belongs to), or "" when it has none."""
    names = {group.name for group in user.groups.all()}
    return next((role for role in ROLES if role in names), "")


@transaction.atomic
def assign_role(*, user, role: str) -> None:
    """Make ``role`` the user's only role (other, non-role groups are kept)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    group = Group.objects.filter(name=role).first() or ensure_roles()[role]
    user.groups.remove(*Group.objects.filter(name__in=[r for r in ROLES if r != role]))
    user.groups.add(group)
