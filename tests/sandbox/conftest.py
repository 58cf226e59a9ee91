"""Fixtures of the sandbox tests: see tests/sandbox/fixtures.py (importable from other test packages)."""

from tests.sandbox.fixtures import sandbox, sandbox_server  # noqa: F401
