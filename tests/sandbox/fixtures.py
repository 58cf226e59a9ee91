"""Sandbox fixtures, importable from any test package (a real sandbox subprocess on a free port).

Reuse, e.g. in tests/amazon/conftest.py::

    from tests.sandbox.fixtures import sandbox, sandbox_server  # noqa: F401

``sandbox_server`` starts one sandbox per test module (time scale 60, rate limits on, pending delay 60 sandbox
seconds = 1 real second, seed 7); ``sandbox`` resets it before each test (no orders, feeds, recorded requests or
faults; start-up settings). Both are xdist-safe: every sandbox has its own port and its own folder.

Request contract: when Amazon's models are there (``spapi_models_dir()``), every sandbox started by these fixtures
runs in contract mode (``saleschannel/sandbox/contract.py``): each request our gateway (python-amazon-sp-api) sends,
and each answer it gets, is checked against the models. ``sandbox`` clears the findings before each test and fails
the test at teardown if the gateway broke the contract (operation, parameter, rule). Without the models nothing is
checked (and the contract tests skip).
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


def contract_models() -> Path | None:
    """The models folder when it has every model the sandbox implements (and jsonschema is installed), else None:
    what the fixtures pass to ``run_sandbox(contract_models=...)``."""
    try:
        from saleschannel.sandbox.contract import MODEL_FILES  # imports jsonschema, which the sandbox then needs
    except ImportError:
        return None
    folder = spapi_models_dir()
    return folder if all((folder / name).is_file() for name in MODEL_FILES) else None


def contract_checked(handle: SandboxHandle, request: pytest.FixtureRequest):
    """Around one test: clear the sandbox's contract findings, run the test, then fail on any violation.

    A test module that drives python-amazon-sp-api bare (not through our gateway, so with the library's own
    defaults) says so with ``SANDBOX_CONTRACT_EXEMPT = "why"``: its requests carry the library's User-Agent but are
    not the gateway's, and are not held to the contract.
    """
    handle.clear_contract()
    yield handle
    if not getattr(request.module, "SANDBOX_CONTRACT_EXEMPT", None):
        handle.assert_contract()


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory) -> SandboxHandle:
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), time_scale=60, pending_delay_seconds=60, seed=7,
                     contract_models=contract_models()) as handle:
        yield handle


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle, request: pytest.FixtureRequest) -> SandboxHandle:
    sandbox_server.reset()
    yield from contract_checked(sandbox_server, request)
