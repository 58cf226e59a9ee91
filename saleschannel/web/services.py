"""Writes of the settings screens: users and their roles, stores."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from saleschannel.catalog import services as catalog_services
from saleschannel.core.roles import RoleError, assign_role, last_administrator_refusal


@transaction.atomic
def user_save(*, user=None, username: str, email: str = "", first_name: str = "", last_name: str = "",
              role: str, is_active: bool = True, password: str = ""):
    """Create a back-office user (``user`` None) or update one; an empty ``password`` keeps the current one.

    The role sets ``is_superuser``/``is_staff`` (``roles.assign_role``). Raises ``RoleError``, changing nothing, when
    this would demote or deactivate the last active Administrator.
    """
    if user is not None:
        refusal = last_administrator_refusal(user=user, role=role, is_active=is_active)
        if refusal:
            raise RoleError(refusal, code="last_administrator", field="role" if is_active else "is_active")
    user = user or get_user_model()(username=username)
    user.username = username
    user.email = email
    user.first_name = first_name
    user.last_name = last_name
    user.is_active = is_active
    if password:
        user.set_password(password)
    user.save()
    assign_role(user=user, role=role)
    return user


@transaction.atomic
def user_delete(*, user) -> None:
    """Delete a back-office user; refused (``RoleError``) for the last active Administrator."""
    refusal = last_administrator_refusal(user=user, delete=True)
    if refusal:
        raise RoleError(refusal, code="last_administrator")
    user.delete()


def store_save(*, form):
    """Save a validated ``StoreForm`` (new or existing store) through the catalog's store services, which check the
    order-number prefix again (``StoreError`` when it was taken in the meantime)."""
    values = {name: form.cleaned_data[name] for name in form.Meta.fields}
    if form.instance.pk is None:
        return catalog_services.store_create(**values)
    return catalog_services.store_update(store=form.instance, **values)
