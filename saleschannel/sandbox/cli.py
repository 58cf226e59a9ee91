"""``saleschannel sandbox ...``: run the sandbox, or drive a running one through its control API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .client import SandboxClient, SandboxControlError, format_contract_violations
from .server import serve

DEFAULT_PORT = 8100
DEFAULT_DATA = os.path.join("var", "sandbox")


def _url_default() -> str:
    return os.environ.get("SALESCHANNEL_SANDBOX_URL", f"http://127.0.0.1:{DEFAULT_PORT}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saleschannel sandbox", description="The local SP-API sandbox.")
    sub = parser.add_subparsers(dest="command")

    def serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
        p.add_argument("--data", default=DEFAULT_DATA, help="storage folder (default ./var/sandbox)")
        p.add_argument("--seed", type=int, default=None, help="makes generated values reproducible")
        p.add_argument("--time-scale", type=float, default=None, help="sandbox seconds per real second")
        p.add_argument("--rate-limits", dest="rate_limits", action="store_true", default=None)
        p.add_argument("--no-rate-limits", dest="rate_limits", action="store_false")
        p.add_argument("--stream", type=float, default=None, metavar="N", help="new orders per (sandbox) minute")
        p.add_argument("--pending-delay", type=float, default=None, metavar="SECONDS",
                       help="Pending → Unshipped after this many (sandbox) seconds")
        p.add_argument("--feed-seconds", type=float, default=None, help="feed processing time (sandbox seconds)")
        p.add_argument("--orders", type=int, default=0, help="create this many orders at start if there are none")
        p.add_argument("--print-credentials-json", action="store_true", help="print the credentials as JSON")
        p.add_argument("--contract-models", metavar="DIR", default=None,
                       help="contract mode (tests): check the gateway's requests and the answers against Amazon's "
                            "models in DIR; see GET /_sandbox/contract (needs jsonschema)")
        p.add_argument("--contract-user-agent", metavar="PREFIX", default=None,
                       help="in contract mode, check requests whose User-Agent starts with PREFIX "
                            "(default python-sp-api, the gateway's library)")
        p.add_argument("--sqs-endpoint", metavar="URL", default=None,
                       help="SQS endpoint that ORDER_CHANGE notifications are sent to (e.g. moto in server mode: "
                            "http://127.0.0.1:5000); queues are named by the destinations' ARNs")

    serve_options(parser)
    serve_options(sub.add_parser("serve", help="run the sandbox (the default)"))

    def url_option(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--url", default=_url_default(), help="a running sandbox (env SALESCHANNEL_SANDBOX_URL)")
        return p

    creds = url_option(sub.add_parser("credentials", help="print the seller credentials of a running sandbox"))
    creds.add_argument("--json", action="store_true")

    orders = sub.add_parser("orders", help="create and change orders").add_subparsers(dest="orders_command")
    create = url_option(orders.add_parser("create", help="create orders from a spec or at random"))
    create.add_argument("--count", type=int, default=1)
    create.add_argument("--seed", type=int)
    create.add_argument("--marketplace", help="US, UK, DE, FR, JP or a marketplace id (default: a mix)")
    create.add_argument("--fulfillment", choices=["MFN", "AFN"])
    create.add_argument("--status", help="initial status (default Pending)")
    create.add_argument("--lines", type=int)
    create.add_argument("--spec", help="a JSON object with more spec keys (items, prime, business, ...)")
    show = url_option(orders.add_parser("show", help="print an order as the sandbox keeps it"))
    show.add_argument("order_id")
    status = url_option(orders.add_parser("status", help="set an order's status"))
    status.add_argument("order_id")
    status.add_argument("status")
    buyer_cancel = url_option(orders.add_parser("buyer-cancel", help="the buyer requests a cancellation"))
    buyer_cancel.add_argument("order_id")
    buyer_cancel.add_argument("--reason")
    cancel = url_option(orders.add_parser("cancel", help="Amazon cancels the order"))
    cancel.add_argument("order_id")
    cancel.add_argument("--reason")
    ship = url_option(orders.add_parser("ship", help="shipped from Seller Central"))
    ship.add_argument("order_id")
    ship.add_argument("--tracking")
    ship.add_argument("--carrier")
    ship.add_argument("--method")

    faults = url_option(sub.add_parser("faults", help="set fault rates (no option: clear them)"))
    faults.add_argument("--operation", default="*", help="an operationId or * (default)")
    for kind in ("429", "500", "503", "timeout", "malformed"):
        faults.add_argument(f"--{kind}", type=float, dest=f"rate_{kind}", metavar="RATE")
    faults.add_argument("--timeout-seconds", type=float)
    faults.add_argument("--seed", type=int)
    faults.add_argument("--json", dest="faults_json", help="the whole fault spec as JSON")

    config = url_option(sub.add_parser("config", help="show or change settings"))
    config.add_argument("--time-scale", type=float)
    config.add_argument("--rate-limits", choices=["on", "off"])
    config.add_argument("--pending-delay", type=float)
    config.add_argument("--stream", type=float)
    config.add_argument("--feed-seconds", type=float)

    requests = url_option(sub.add_parser("requests", help="list recorded requests"))
    requests.add_argument("--since", type=int, default=0)
    requests.add_argument("--operation")
    requests.add_argument("--limit", type=int, default=100)
    requests.add_argument("--json", action="store_true")

    url_option(sub.add_parser("feeds", help="list feeds with their processing reports"))
    contract = url_option(sub.add_parser("contract", help="contract mode: the gateway's requests that broke Amazon's "
                                                          "models, and the operations seen"))
    contract.add_argument("--clear", action="store_true", help="then forget them")
    contract.add_argument("--json", action="store_true")
    notes = url_option(sub.add_parser("notifications", help="ORDER_CHANGE notifications made, with their fate "
                                                            "(pending, held, sent, lost, failed)"))
    notes.add_argument("--order", help="only this order's")
    notes.add_argument("--state", choices=["pending", "held", "sent", "lost", "failed"])
    notes.add_argument("--limit", type=int, default=100)
    notes.add_argument("--json", action="store_true")
    note_faults = url_option(sub.add_parser("notifications-faults", help="notification delivery faults (no option: "
                                                                         "clear them)"))
    for kind, text in (("loss", "never sent"), ("duplicate", "sent twice"), ("reorder", "held, then sent after a "
                                                                                         "later one"),
                       ("delay", "sent --delay-seconds late")):
        note_faults.add_argument(f"--{kind}", type=float, metavar="RATE", help=f"share of messages {text}")
    note_faults.add_argument("--delay-seconds", type=float, help="how late a delayed message is (sandbox seconds)")
    note_faults.add_argument("--reorder-hold-seconds", type=float,
                             help="longest wait of a reordered message for a later one (sandbox seconds)")
    note_faults.add_argument("--seed", type=int)
    url_option(sub.add_parser("reset", help="forget orders, feeds and requests"))
    return parser


def echo(text: str = "", *, err: bool = False) -> None:
    (sys.stderr if err else sys.stdout).write(f"{text}\n")


def _print(data: Any) -> None:
    echo(json.dumps(data, indent=2, ensure_ascii=False))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    try:
        return _run(command, args)
    except SandboxControlError as exc:
        echo(f"error: {exc.message}", err=True)
        return 1
    except OSError as exc:
        echo(f"error: cannot reach the sandbox at {getattr(args, 'url', '?')}: {exc}", err=True)
        return 1


def _run(command: str, args: argparse.Namespace) -> int:
    if command == "serve":

        settings = {"time_scale": args.time_scale, "rate_limits": args.rate_limits,
                    "stream_per_minute": args.stream, "pending_delay_seconds": args.pending_delay,
                    "feed_processing_seconds": args.feed_seconds, "sqs_endpoint": args.sqs_endpoint}
        serve(data_dir=args.data, host=args.host, port=args.port, seed=args.seed, initial_orders=args.orders,
              settings={k: v for k, v in settings.items() if v is not None},
              credentials_json=args.print_credentials_json, contract_models=args.contract_models,
              contract_user_agent=args.contract_user_agent)
        return 0
    client = SandboxClient(args.url)
    if command == "credentials":
        creds = client.get_credentials()
        if args.json:
            echo(json.dumps(creds))
        else:
            for key, value in creds.items():
                echo(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    elif command == "orders":
        sub = args.orders_command
        if sub == "create":
            spec: dict[str, Any] = json.loads(args.spec) if args.spec else {}
            for key in ("count", "seed", "marketplace", "fulfillment", "status", "lines"):
                if getattr(args, key) is not None:
                    spec[key] = getattr(args, key)
            for order_id in client.create_orders(**spec):
                echo(order_id)
        elif sub == "show":
            _print(client.order(args.order_id))
        elif sub == "status":
            echo(client.set_status(args.order_id, args.status)["status"])
        elif sub == "buyer-cancel":
            client.buyer_cancel(args.order_id, args.reason)
            echo("buyer cancellation requested")
        elif sub == "cancel":
            echo(client.amazon_cancel(args.order_id, args.reason)["status"])
        elif sub == "ship":
            shipped = client.ship(args.order_id, tracking=args.tracking, carrier=args.carrier, method=args.method)
            echo(shipped["status"])
        else:
            build_parser().parse_args(["orders", "--help"])
    elif command == "faults":
        if args.faults_json:
            _print(client.call("PUT", "/_sandbox/faults", json.loads(args.faults_json)))
        else:
            rates = {k: getattr(args, f"rate_{k}") for k in ("429", "500", "503", "timeout", "malformed")
                     if getattr(args, f"rate_{k}") is not None}
            _print(client.set_faults({args.operation: rates} if rates else {}, timeout_seconds=args.timeout_seconds,
                                     seed=args.seed))
    elif command == "config":
        changes = {"time_scale": args.time_scale, "pending_delay_seconds": args.pending_delay,
                   "stream_per_minute": args.stream, "feed_processing_seconds": args.feed_seconds,
                   "rate_limits": None if args.rate_limits is None else args.rate_limits == "on"}
        changes = {k: v for k, v in changes.items() if v is not None}
        _print(client.configure(**changes) if changes else client.config())
    elif command == "requests":
        rows = client.requests(since=args.since, operation=args.operation, limit=args.limit)
        if args.json:
            _print(rows)
        for row in [] if args.json else rows:
            query = f"?{row['query']}" if row["query"] else ""
            echo(f"{row['id']:>6} {row['status']} {row['method']:6} {row['path']}{query}  [{row['operation']}]"
                  + (f" fault={row['fault']}" if row["fault"] else ""))
    elif command == "feeds":
        _print(client.feeds())
    elif command == "contract":
        report = client.contract()
        if args.clear:
            client.clear_contract()
        if args.json:
            _print(report)
        elif not report.get("enabled"):
            echo("contract mode is off (serve --contract-models DIR)")
        else:
            for operation, count in report["operations"].items():
                echo(f"{count:>6}  {operation}")
            echo(format_contract_violations(report) if report["violations"] else
                 f"no violation in {report['checked']} request(s) checked")
    elif command == "notifications":
        report = client.notifications(order_id=args.order, state=args.state, limit=args.limit)
        if args.json:
            _print(report)
        else:
            echo(f"SQS endpoint: {report['sqs_endpoint'] or '(none)'}; counts: {report['counts'] or '{}'}")
            for row in report["messages"]:
                echo(f"{row['seq']:>6} {row['state']:7} {row['order_id']} {row['change_type']:20} "
                     f"{row['order_status']:16} x{row['copies']}" + (f" faults={row['fault']}" if row["fault"] else "")
                     + (f" error={row['error']}" if row["error"] else ""))
    elif command == "notifications-faults":
        spec = {"loss": args.loss, "duplicate": args.duplicate, "reorder": args.reorder, "delay": args.delay,
                "delay_seconds": args.delay_seconds, "reorder_hold_seconds": args.reorder_hold_seconds,
                "seed": args.seed}
        _print(client.set_notification_faults(**{k: v for k, v in spec.items() if v is not None}))
    elif command == "reset":
        client.reset()
        echo("sandbox reset")
    return 0
