"""Back-office fixtures: one user per role and clients logged in as them."""

from __future__ import annotations

import pytest

from saleschannel.web.roles import ADMINISTRATOR, OPERATOR, VIEWER
from tests.factories import client_for, make_role_user


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
