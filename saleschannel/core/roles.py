"""Back-office roles: Django groups with permissions.

* **Administrator** — every permission, settings (order statuses, stores, users) included.
* **Operator** — processes orders (invoice, ship, refund, cancel, hold, comment, email, reorder), edits stock and
  customers, reads everything else.
* **Viewer** — reads everything, changes nothing.

``ensure_roles()`` creates or refreshes the groups; it runs after every ``migrate`` (see ``apps.py``) and whenever a
role is assigned, so a fresh database always has them. Other apps may add permissions to a role with
``grant(role, "app_label.codename")`` from their ``AppConfig.ready``.

The role is the single source of a user's Django flags (``role_flags``): ``assign_role`` sets ``is_superuser`` and
``is_staff`` from it every time, so a demoted Administrator loses every permission at once. The last active
Administrator can be neither demoted, deactivated nor deleted (``last_administrator_refusal``), whichever screen,
command or service asks.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saleschannel.core.errors import DomainError

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
        "core.add_savedgridview",
        "core.delete_savedgridview",
    },
    VIEWER: {"core.add_savedgridview", "core.delete_savedgridview"},
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


class RoleError(DomainError):
    """A refused change of a user's role, activity or existence (the last Administrator, an unknown role)."""


def role_flags(role: str) -> dict[str, bool]:
    """The Django flags a role implies: only an Administrator is a superuser (and staff, for the Django admin)."""
    administrator = role == ADMINISTRATOR
    return {"is_superuser": administrator, "is_staff": administrator}


def role_of(user) -> str:
    """The user's role name (the first role group it belongs to); a superuser without a role group is shown as the
    Administrator it effectively is; "" when it has neither."""
    names = {group.name for group in user.groups.all()}
    role = next((role for role in ROLES if role in names), "")
    if not role and user.is_superuser:
        return ADMINISTRATOR
    return role


def _active_administrators():
    return get_user_model().objects.filter(Q(groups__name=ADMINISTRATOR) | Q(is_superuser=True), is_active=True)


def last_administrator_refusal(*, user, role: str | None = None, is_active: bool = True,
                               delete: bool = False) -> str | None:
    """Why ``user`` may not get ``role`` / ``is_active`` (or be deleted): it is the last active Administrator.

    None when the change is allowed. Call it inside the transaction that makes the change: the active
    Administrators are locked, so two administrators demoting each other at the same moment cannot both succeed.
    """
    if user.pk is None:
        return None
    keeps_admin = not delete and is_active and (role is None or role == ADMINISTRATOR)
    if keeps_admin:
        return None
    admins = set(_active_administrators().order_by("pk").select_for_update(of=("self",))
                 .values_list("pk", flat=True))
    if user.pk in admins and len(admins) <= 1:
        if delete:
            return gettext("This is the last active Administrator: it cannot be deleted. Make another user "
                           "Administrator first.")
        if not is_active:
            return gettext("This is the last active Administrator: it cannot be deactivated. Make another user "
                           "Administrator first.")
        return gettext("This is the last active Administrator: it cannot be given another role. Make another user "
                       "Administrator first.")
    return None


@transaction.atomic
def assign_role(*, user, role: str) -> None:
    """Make ``role`` the user's only role (other, non-role groups are kept) and set its flags from the role.

    Raises ``RoleError`` for an unknown role or when it would demote the last active Administrator.
    """
    if role not in ROLES:  # a programming error: forms and commands offer only the three roles
        raise ValueError(f"unknown role {role!r}")
    refusal = last_administrator_refusal(user=user, role=role, is_active=user.is_active)
    if refusal:
        raise RoleError(refusal, code="last_administrator", field="role")
    group = Group.objects.filter(name=role).first() or ensure_roles()[role]
    user.groups.remove(*Group.objects.filter(name__in=[r for r in ROLES if r != role]))
    user.groups.add(group)
    flags = role_flags(role)
    if any(getattr(user, name) != value for name, value in flags.items()):
        for name, value in flags.items():
            setattr(user, name, value)
        user.save(update_fields=list(flags))
    # Django caches a user's permissions on the object: forget them so the new role applies at once.
    for cache_name in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache_name, None)
