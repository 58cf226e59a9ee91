"""Back-office fixtures: one user per role and clients logged in as them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from saleschannel.web.roles import ADMINISTRATOR, OPERATOR, VIEWER, assign_role

PASSWORD = "Backoffice-pass-42"


def ensure_default_statuses() -> None:
    """Put back the default order statuses of the data migration.

    Transactional tests (the browser tests, the Amazon channel's) flush every table when they end, so a later test
    in the same process would otherwise find no order status at all.
    """
    import importlib

    from django.apps import apps

    importlib.import_module("saleschannel.sales.migrations.0002_default_statuses").add_statuses(apps, None)


@pytest.fixture(autouse=True)
def _default_statuses(request):
    names = request.fixturenames
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names:
        request.getfixturevalue("db")
    else:
        return
    ensure_default_statuses()


def make_role_user(role: str, username: str | None = None):
    user = get_user_model().objects.create_user(username=username or role.lower(), password=PASSWORD)
    assign_role(user=user, role=role)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def administrator(db):
    return make_role_user(ADMINISTRATOR)


@pytest.fixture
def operator(db):
    return make_role_user(OPERATOR)


@pytest.fixture
def viewer(db):
    return make_role_user(VIEWER)


@pytest.fixture
def administrator_client(administrator):
    return client_for(administrator)


@pytest.fixture
def operator_client(operator):
    return client_for(operator)


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)
