"""Start a real sandbox (a subprocess on a free port) from tests, and drive it.

    from saleschannel.sandbox.testing import run_sandbox

    with run_sandbox(tmp_path / "sandbox", time_scale=60) as sandbox:
        ids = sandbox.create_orders(count=5, marketplace="US", status="Unshipped")
        sandbox.url, sandbox.token_url, sandbox.credentials  # what the product needs
        sandbox.requests(operation="confirmShipment")          # what a client sent
        sandbox.advance_clock(120)                             # two sandbox minutes later, at once

The API of this module is stable: other parts of the product's test suite build on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .client import SandboxClient, SandboxControlError, format_contract_violations

__all__ = ["SandboxControlError", "SandboxHandle", "format_contract_violations", "run_sandbox"]


class SandboxHandle(SandboxClient):
    """A running sandbox: ``url``, ``token_url``, ``credentials`` and the control client methods."""

    def __init__(self, url: str, *, data_dir: Path, process: subprocess.Popen | None = None):
        super().__init__(url)
        self.data_dir = data_dir
        self.process = process
        self.credentials: dict[str, Any] = {}

    def refresh_credentials(self) -> dict[str, Any]:
        creds = self.get_credentials()
        self.credentials = {k: creds[k] for k in ("seller_id", "client_id", "client_secret", "refresh_token",
                                                   "marketplace_ids")}
        return self.credentials

    def assert_contract(self) -> dict[str, Any]:
        """Raise AssertionError (readable: operation, parameter, rule) if the gateway broke Amazon's models since the
        last ``clear_contract()``; return the report. Nothing to check when contract mode is off."""
        report = self.contract()
        if report.get("enabled") and report.get("violations"):
            raise AssertionError(format_contract_violations(report))
        return report

    @property
    def log(self) -> str:
        path = self.data_dir / "sandbox.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def run_sandbox(
    data_dir: str | os.PathLike,
    *,
    rate_limits: bool = True,
    time_scale: float = 1.0,
    seed: int = 0,
    pending_delay_seconds: float = 60.0,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 30.0,
    contract_models: str | os.PathLike | None = None,
) -> Iterator[SandboxHandle]:
    """Run ``python -m saleschannel.sandbox serve`` on a free port with its storage in ``data_dir``; stop it on exit.

    The settings given here are applied at start (they also become what ``reset()`` returns to).
    ``contract_models``: a folder of Amazon's models; the sandbox then checks the gateway's requests and its answers
    against them (``handle.contract()``, ``handle.assert_contract()``).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    ready_file = data_dir / "server.json"
    ready_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "saleschannel.sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
               "--data", str(data_dir), "--seed", str(seed), "--time-scale", str(time_scale),
               "--pending-delay", str(pending_delay_seconds),
               "--rate-limits" if rate_limits else "--no-rate-limits", *extra_args]
    if contract_models is not None:
        command += ["--contract-models", str(contract_models)]
    project_root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(project_root),
                                                                     os.environ.get("PYTHONPATH")]))}
    with open(data_dir / "sandbox.log", "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=project_root, env=env)
    try:
        url = _wait_ready(process, ready_file, startup_timeout, data_dir)
        handle = SandboxHandle(url, data_dir=data_dir, process=process)
        handle.refresh_credentials()
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen, ready_file: Path, timeout: float, data_dir: Path) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (data_dir / "sandbox.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the sandbox exited with code {process.returncode}:\n{log}")
        if ready_file.exists():
            try:
                info = json.loads(ready_file.read_text())
            except ValueError:
                info = {}
            if info.get("pid") == process.pid:
                try:
                    SandboxClient(info["url"], timeout=5).health()
                    return info["url"]
                except Exception:  # noqa: S110 - not answering yet
                    pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the sandbox did not start within {timeout} s")
