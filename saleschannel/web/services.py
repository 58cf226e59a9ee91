"""Writes of the settings screens: users and their roles, stores."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from saleschannel.web.roles import assign_role


@transaction.atomic
def user_save(*, user=None, username: str, email: str = "", first_name: str = "", last_name: str = "",
              role: str, is_active: bool = True, password: str = ""):
    """Create a back-office user (``user`` None) or update one; an empty ``password`` keeps the current one."""
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
def store_save(*, form):
    """Save a validated ``StoreForm`` (new or existing store)."""
    return form.save()
