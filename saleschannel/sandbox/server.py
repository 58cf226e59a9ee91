"""Serve the sandbox with waitress (multi-threaded) and a background thread that ticks its clock."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from waitress import create_server

from .app import create_app
from .engine import Sandbox

TICK_SECONDS = 0.2


def serve(*, data_dir: str | Path, host: str = "127.0.0.1", port: int = 8100, settings: dict[str, Any] | None = None,
          seed: int | None = None, initial_orders: int = 0, credentials_json: bool = False, threads: int = 16,
          out=None, contract_models: str | Path | None = None, contract_user_agent: str | None = None) -> None:
    """``contract_models``: a folder of Amazon's models; turns on contract mode (``contract.py``, needs jsonschema):
    the gateway's requests and the answers to them are checked, see ``GET /_sandbox/contract``."""

    out = out or sys.stdout
    data_dir = Path(data_dir)
    sandbox = Sandbox(data_dir, settings=settings)
    if seed is not None:
        sandbox.rng = random.Random(seed)
    app = create_app(sandbox)
    sandbox.contract = None
    if contract_models:
        try:
            from .contract import GATEWAY_USER_AGENT, Contract, ContractRecorder
        except ImportError as exc:  # jsonschema is a test dependency: contract mode is for the test suite
            raise SystemExit(f"contract mode needs jsonschema (pip install -e '.[test]'): {exc}")
        sandbox.contract = ContractRecorder(Contract(contract_models),
                                            user_agent=contract_user_agent or GATEWAY_USER_AGENT)
        sandbox.contract.install(app)
    server = create_server(app, host=host, port=port, threads=threads, ident="sandbox", channel_timeout=600)
    sandbox.url = f"http://{host}:{server.effective_port}"
    if initial_orders and sandbox.store.count_orders() == 0:
        sandbox.create_orders({"count": initial_orders, "seed": seed})

    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(TICK_SECONDS):
            try:
                sandbox.tick()
            except Exception as exc:  # keep ticking; the next request shows the problem
                sys.stderr.write(f"sandbox tick failed: {exc!r}\n")

    threading.Thread(target=ticker, name="sandbox-tick", daemon=True).start()
    creds = sandbox.public_credentials()
    if credentials_json:
        out.write(json.dumps(creds) + "\n")
    else:
        out.write(banner(creds, sandbox) + "\n")
        if sandbox.contract is not None:
            out.write(f"Contract mode: requests with User-Agent {sandbox.contract.user_agent}* are checked against "
                      f"{sandbox.contract.contract.models_dir} (GET /_sandbox/contract).\n")
    out.flush()
    # Tests wait for this file (it names the port actually bound when --port 0).
    ready = {"url": sandbox.url, "pid": os.getpid()}
    tmp = data_dir / "server.json.tmp"
    tmp.write_text(json.dumps(ready))
    tmp.replace(data_dir / "server.json")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.close()


def banner(creds: dict[str, Any], sandbox: Sandbox) -> str:
    s = sandbox.settings
    return "\n".join([
        "SP-API sandbox running.",
        "Paste into the product's Amazon store settings:",
        f"  Selling partner id : {creds['seller_id']}",
        f"  LWA client id      : {creds['client_id']}",
        f"  LWA client secret  : {creds['client_secret']}",
        f"  Refresh token      : {creds['refresh_token']}",
        f"  Endpoint           : {creds['endpoint']}",
        f"  Token URL          : {creds['token_url']}",
        f"  Marketplaces       : {', '.join(creds['marketplace_ids'])}",
        f"Settings: rate limits {'on' if s.rate_limits else 'off'}, time scale {s.time_scale:g}, pending delay "
        f"{s.pending_delay_seconds:g} s, stream {s.stream_per_minute:g} orders/min.",
        f"Control API: {creds['endpoint']}/_sandbox/  (data: {sandbox.store.path})",
    ])
