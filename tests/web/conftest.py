"""Back-office fixtures: one user per role and clients logged in as them."""

from __future__ import annotations

import pytest

from tests.factories import client_for


@pytest.fixture
def administrator_client(administrator):
    return client_for(administrator)


@pytest.fixture
def operator_client(operator):
    return client_for(operator)


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)
