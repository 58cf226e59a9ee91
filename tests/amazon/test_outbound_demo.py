"""The demo: `saleschannel demo` starts the sandbox and the worker, fills the Amazon dashboard, and Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _imported(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("select count(*) from amazon_amazonorder where commerce_order_id is not null"
                                ).fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find child processes")
def test_demo_fills_the_dashboard_and_ctrl_c_stops_every_process(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "HUEY_IMMEDIATE", "DJANGO_SETTINGS_MODULE")}
    env.update(SALESCHANNEL_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "demo.out", "wb")  # noqa: SIM115 - closed below
    demo = subprocess.Popen(
        [sys.executable, "-m", "saleschannel", "demo", "--port", str(port), "--time-scale", "60",
         "--orders-per-minute", "30"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)  # its own process group, like a terminal's foreground job
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and _imported(tmp_path / "saleschannel.sqlite3") == 0:
            assert demo.poll() is None, (tmp_path / "demo.out").read_text()
            children |= _children(demo.pid)
            time.sleep(1)  # the demo is other processes on real time: poll its database, bounded above
        children |= _children(demo.pid)
        assert _imported(tmp_path / "saleschannel.sqlite3") > 0, (tmp_path / "demo.out").read_text()
        assert len(children) >= 2  # the sandbox and the worker
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10) as response:  # noqa: S310
            assert response.status == 200
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group gets SIGINT
        try:
            demo.wait(timeout=40)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
            log.close()
    output = (tmp_path / "demo.out").read_text()
    assert demo.returncode == 0, output
    assert "Demo stopped." in output
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)  # waiting for other processes to exit, bounded by the deadline
    assert not [pid for pid in children if _alive(pid)]
