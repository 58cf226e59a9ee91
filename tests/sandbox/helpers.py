"""Small HTTP helpers for the sandbox tests (plain httpx: the tests check the wire, not a client library)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from saleschannel.sandbox.client import SandboxClient
from saleschannel.sandbox.testing import SandboxHandle


def token(sandbox: SandboxHandle) -> str:
    return sandbox.access_token()


def api(sandbox: SandboxHandle, access_token: str | None = None) -> httpx.Client:
    headers = {"x-amz-access-token": access_token or token(sandbox)}
    return httpx.Client(base_url=sandbox.url, headers=headers, timeout=30)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta) -> str:
    return iso(datetime.now(tz=UTC) - timedelta(**delta))


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; returns its value (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)  # a poll of an event, bounded by the deadline


def processed(client: httpx.Client, setting: str) -> None:
    """Move the sandbox's clock by its ``setting`` (``feed_processing_seconds``, ``report_processing_seconds``):
    what is processed by then is done when this returns. The control API is at the address ``client`` calls."""
    control = SandboxClient(str(client.base_url))
    control.advance_clock(control.config()[setting])
