"""Sandbox fixtures, importable from any test package (a real sandbox subprocess on a free port).

Reuse, e.g. in tests/amazon/conftest.py::

    from tests.sandbox.fixtures import sandbox, sandbox_server  # noqa: F401

``sandbox_server`` starts one sandbox per test module (time scale 60, rate limits on, pending delay 60 sandbox
seconds = 1 real second, seed 7); ``sandbox`` resets it before each test (no orders, feeds, recorded requests or
faults; start-up settings). Both are xdist-safe: every sandbox has its own port and its own folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import saleschannel
from saleschannel.sandbox.testing import SandboxHandle, run_sandbox


def spapi_models_dir() -> Path:
    """Amazon's published models, next to the checkout (``../shared/spapi-models``) or at ``SPAPI_MODELS_DIR``."""
    default = Path(saleschannel.__file__).resolve().parents[2] / "shared" / "spapi-models"
    return Path(os.environ.get("SPAPI_MODELS_DIR") or default)


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory) -> SandboxHandle:
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), time_scale=60, pending_delay_seconds=60, seed=7) as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.reset()
    return sandbox_server
