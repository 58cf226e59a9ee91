"""The CLI (``saleschannel sandbox ...``) against a running sandbox, and the management command's delegation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from saleschannel.sandbox.cli import main


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_orders_create_status_show_and_requests(sandbox, capsys):
    url = ["--url", sandbox.url]
    out = run(capsys, "orders", "create", "--count", "3", "--seed", "4", "--marketplace", "DE", "--status",
              "Unshipped", "--spec", '{"fulfillment": "MFN", "lines": 2}', *url)
    ids = out.split()
    assert len(ids) == 3 and all(i.startswith("302-") for i in ids)
    assert run(capsys, "orders", "status", ids[0], "Shipped", *url).strip() == "Shipped"
    shown = json.loads(run(capsys, "orders", "show", ids[0], *url))
    assert shown["status"] == "Shipped" and len(shown["items"]) == 2
    run(capsys, "orders", "buyer-cancel", ids[1], "--reason", "Too late", *url)
    assert sandbox.order(ids[1])["items"][0]["buyerCancel"] == {"reason": "Too late"}
    assert run(capsys, "orders", "cancel", ids[1], *url).strip() == "Canceled"
    assert run(capsys, "orders", "ship", ids[2], "--tracking", "TRK1", *url).strip() == "Shipped"

    sandbox.access_token()
    listing = run(capsys, "requests", "--operation", "lwaToken", *url)
    assert "POST   /auth/o2/token" in listing


def test_faults_config_credentials_and_reset(sandbox, capsys):
    url = ["--url", sandbox.url]
    faults = json.loads(run(capsys, "faults", "--operation", "getOrder", "--500", "0.25", "--seed", "3", *url))
    assert faults["getOrder"] == {"500": 0.25} and faults["seed"] == 3
    assert json.loads(run(capsys, "faults", *url)) == {"timeout_seconds": 30.0, "seed": None}
    config = json.loads(run(capsys, "config", "--rate-limits", "off", "--pending-delay", "5", *url))
    assert config["rate_limits"] is False and config["pending_delay_seconds"] == 5
    creds = json.loads(run(capsys, "credentials", "--json", *url))
    assert creds["seller_id"] == sandbox.credentials["seller_id"] and creds["token_url"] == sandbox.token_url
    sandbox.create_orders(count=2)
    run(capsys, "reset", *url)
    assert sandbox.call("GET", "/_sandbox/orders")["count"] == 0
    assert sandbox.config()["rate_limits"] is True  # back to the start-up settings


def test_errors_are_reported_not_raised(sandbox, capsys):
    assert main(["orders", "status", "111-0000000-0000000", "Shipped", "--url", sandbox.url]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["reset", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_management_command_delegates_to_the_sandbox_cli(sandbox):
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "saleschannel", "sandbox", "credentials", "--json", "--url",
                             sandbox.url], capture_output=True, text=True, cwd=root, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["client_id"] == sandbox.credentials["client_id"]


def test_serve_prints_credentials_ready_to_paste(tmp_path):
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-m", "saleschannel.sandbox", "--port", "0", "--data",
                                str(tmp_path), "--print-credentials-json"], stdout=subprocess.PIPE, text=True,
                               cwd=root)
    try:
        line = process.stdout.readline()
        creds = json.loads(line)
        assert creds["seller_id"].startswith("A1SANDBOX")
        assert creds["client_id"].startswith("amzn1.application-oa2-client.")
        assert creds["refresh_token"].startswith("Atzr|")
        assert creds["token_url"] == creds["endpoint"] + "/auth/o2/token"
        assert creds["endpoint"].startswith("http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=10)
