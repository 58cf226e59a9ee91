"""One command for the demo: database, admin login, demo data, the SP-API sandbox with an Amazon store connected to
it, the background worker, and the back office.

Processes: this one serves the back office; it starts the sandbox (a steady stream of orders, a short pending
delay) and the Huey worker (the sync schedule and the outbound queue) as child processes, and stops both when it
stops — Ctrl-C, SIGTERM or an error — so nothing is left running.

Real-time notifications are on by default: a local SQS (moto in server mode, loopback) is started beside the
sandbox, which sends its ORDER_CHANGE notifications there; the demo store is configured for "sandbox" notifications
and subscribed (``enable_sandbox_notifications``), and the worker's consumer imports each order seconds after it
becomes Unshipped. When moto cannot start, the demo says so and the store is imported by polling alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

import boto3
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from saleschannel.amazon import notifications
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.notification_health import HEALTHY_SWEEP_MINUTES
from saleschannel.amazon.services import amazon_store_create, amazon_store_update
from saleschannel.amazon.tasks import amazon_sync_store
from saleschannel.catalog.models import Product, Store
from saleschannel.config import persistent_secret, private_file
from saleschannel.sandbox.catalog import DEFAULT_SKUS
from saleschannel.sandbox.sqs import run_moto
from saleschannel.sandbox.testing import run_sandbox

try:
    from saleschannel.sales.demo import load_demo_data
except ImportError:  # the demo orders are optional; the sandbox catalog (ensure_sandbox_catalog) is what it needs
    load_demo_data = None

DEMO_AMAZON_STORE = "Amazon sandbox (demo)"
US_MARKETPLACE = "ATVPDKIKX0DER"
DEMO_QUEUE = "saleschannel-demo-orders"


class Command(BaseCommand):
    help = ("Set up and run the demo: database, admin login, demo catalog and orders, the SP-API sandbox with an "
            "Amazon store connected to it, the background worker, and the back office.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then exit.")
        parser.add_argument("--no-amazon", action="store_true",
                            help="Do not start the SP-API sandbox and the worker.")
        parser.add_argument("--no-notifications", action="store_true",
                            help="Do not start the local SQS (moto): the demo store is imported by polling alone.")
        parser.add_argument("--orders-per-minute", type=float, default=10.0,
                            help="New sandbox orders per minute (default 10; 40%% of them on Amazon.com).")
        parser.add_argument("--time-scale", type=float, default=10.0,
                            help="Sandbox seconds per real second (default 10: Amazon's rate limits and "
                                 "2-minute rule pass ten times faster).")

    def handle(self, *args, host, port, no_serve, no_amazon, orders_per_minute, time_scale,
               no_notifications=False, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        # The demo password is generated once and kept in the data folder, so it is the same on every start.
        password = persistent_secret("demo_admin_password", "SALESCHANNEL_DEMO_PASSWORD", nbytes=9)
        call_command("createadmin", username="admin", password=password, verbosity=0, stdout=_Null())
        if load_demo_data is not None:
            self.stdout.write(load_demo_data())
        added = ensure_sandbox_catalog()
        if added:
            self.stdout.write(f"Added {added} sandbox products (SANDBOX-SKU-…) to the catalog.")
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSales Channel demo: {url}\n  login: admin\n  password: {password}\n"))
        self.stdout.write(f"  data folder: {settings.DATA_DIR}")
        self.stdout.write(f"  customer emails are written as files to {settings.EMAIL_FILE_PATH}")
        if no_serve:
            return
        with ExitStack() as running, _terminate_on_sigterm():
            if not no_amazon:
                sqs_url = None if no_notifications else self._start_moto(running)
                sandbox = running.enter_context(self._sandbox(orders_per_minute, time_scale, sqs_url))
                amazon_store = connect_sandbox_store(sandbox, time_scale=time_scale)
                self.stdout.write(enable_sandbox_notifications(amazon_store, sqs_url))
                # A first batch, so the dashboard has orders within the first minute.
                sandbox.create_orders(count=8, marketplace="US", fulfillment="MFN", status="Pending")
                sandbox.create_orders(count=4, marketplace="US", fulfillment="MFN", status="Unshipped")
                waiting = add_onboarding_listings(sandbox)
                running.enter_context(self._worker())
                # Now, and once the first orders are older than Amazon's 2-minute rule (in sandbox time); the
                # worker's schedule takes over from there.
                amazon_sync_store(amazon_store.pk)
                amazon_sync_store.schedule((amazon_store.pk,), delay=130 / time_scale + 2)
                self.stdout.write(
                    f"  Amazon: the store \"{amazon_store.name}\" is connected to the sandbox at {sandbox.url}; "
                    f"new orders arrive continuously — see {url}amazon/stores/{amazon_store.pk}/\n"
                    f"  logs: {Path(settings.DATA_DIR) / 'sandbox' / 'sandbox.log'}, "
                    f"{Path(settings.DATA_DIR) / 'worker.log'}")
                if waiting:
                    self.stdout.write(
                        f"  Catalog onboarding: {len(ONBOARDING_LISTINGS)} Amazon listings are not in the catalog "
                        f"yet, and an order for {waiting} stops in Error until they are. Import them at "
                        f"{url}amazon/stores/{amazon_store.pk}/listings/ (Read listings from Amazon, Apply), or:\n"
                        f"    saleschannel amazon listings import --store \"{amazon_store.name}\" --create")
            try:
                call_command("serve", host=host, port=port)
            except KeyboardInterrupt:
                pass
            self.stdout.write("Stopping the demo…")
        self.stdout.write("Demo stopped.")

    def _start_moto(self, running: ExitStack) -> str | None:
        """A local SQS for the sandbox's notifications, stopped with the demo: its endpoint, or None when moto
        cannot start (the demo then goes on with polling)."""
        log_path = Path(settings.DATA_DIR) / "moto.log"
        self.stdout.write("Starting a local SQS (moto) for real-time notifications…")
        try:
            private_file(log_path)
            return running.enter_context(run_moto(log_path=log_path))
        except (OSError, RuntimeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.stdout.write(self.style.WARNING(
                f"  The local SQS (moto) could not start ({reason}): real-time notifications are off, the demo "
                "store is imported by polling (every minute). See the log: " + str(log_path)))
            return None

    @contextmanager
    def _sandbox(self, orders_per_minute: float, time_scale: float, sqs_url: str | None = None):
        data = Path(settings.DATA_DIR) / "sandbox"
        self.stdout.write("Starting the SP-API sandbox…")
        stream = max(orders_per_minute, 0.0) / time_scale  # the sandbox counts in its own minutes
        extra = ["--stream", f"{stream:g}", "--feed-seconds", "20"]
        if sqs_url:
            extra += ["--sqs-endpoint", sqs_url]
        with run_sandbox(data, rate_limits=True, time_scale=time_scale, seed=int(time.time()) % 1_000_000,
                         pending_delay_seconds=60, extra_args=extra) as sandbox:
            yield sandbox

    @contextmanager
    def _worker(self):
        log_path = Path(settings.DATA_DIR) / "worker.log"
        self.stdout.write("Starting the background worker…")
        private_file(log_path)  # 0600 (issue 11: data files are private)
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "saleschannel", "worker", "--workers", "2"],
                                      stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
        try:
            yield worker
        finally:
            stop_process(worker)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ask a child to stop (SIGINT: Huey finishes the task at hand), then insist."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def _terminate_on_sigterm():
    """SIGTERM (e.g. from a process manager) unwinds like Ctrl-C, so the children are stopped too."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def ensure_sandbox_catalog() -> int:
    """Every SKU the sandbox sells exists in the catalog with stock, so its orders can be imported."""
    existing = set(Product.objects.filter(sku__in=[s.sku for s in DEFAULT_SKUS]).values_list("sku", flat=True))
    missing = [Product(sku=s.sku, name=s.title, price=s.base_price, qty=1000) for s in DEFAULT_SKUS
               if s.sku not in existing]
    Product.objects.bulk_create(missing)
    return len(missing)


# Listings of the demo seller that the catalog does not have yet: the catalog onboarding path (docs/amazon.md).
ONBOARDING_LISTINGS = [
    {"sku": "DEMO-TEAPOT-CAST", "title": "Cast iron teapot 0.8 l", "price": "34.90", "quantity": 25},
    {"sku": "DEMO-MUG-STONE", "title": "Stoneware mug, set of 4", "price": "27.50", "quantity": 40},
    {"sku": "DEMO-KETTLE-FBA", "title": "Gooseneck kettle (fulfilled by Amazon)", "price": "59.00",
     "fulfillment_channel": "FBA"},
]


def add_onboarding_listings(sandbox) -> str:
    """List the onboarding SKUs on Amazon.com (not in the catalog), with one Unshipped order for the first: it
    stops in Error until the listings are imported. Returns that SKU ("" when the catalog already has it)."""
    sku = ONBOARDING_LISTINGS[0]["sku"]
    if Product.objects.filter(sku=sku).exists():
        return ""
    sandbox.set_listings("US", ONBOARDING_LISTINGS)
    sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", status="Unshipped",
                          items=[{"sku": sku, "qty": 1}])
    return sku


def connect_sandbox_store(sandbox, *, time_scale: float):
    """Create or refresh the demo's Amazon store with the sandbox seller's credentials and address."""
    creds = sandbox.refresh_credentials()
    store = Store.objects.filter(currency="USD").order_by("pk").first() or Store.objects.create(
        code="amazon-us", name="Amazon US", currency="USD", order_number_prefix="AMZ")
    connection = {
        "seller_id": creds["seller_id"], "region": "NA", "marketplace_ids": [US_MARKETPLACE],
        "endpoint_override": sandbox.url, "token_url_override": sandbox.token_url,
        "time_scale": Decimal(str(time_scale)), "pacing_enabled": True, "is_active": True,
    }
    secrets = {"client_id": creds["client_id"], "client_secret": creds["client_secret"],
               "refresh_token": creds["refresh_token"]}
    existing = AmazonStore.objects.filter(name=DEMO_AMAZON_STORE).first()
    if existing is not None:
        return amazon_store_update(amazon_store=existing, **connection, **secrets)
    return amazon_store_create(name=DEMO_AMAZON_STORE, store=store, sync_frequency_minutes=1, **connection,
                               **secrets)


def enable_sandbox_notifications(amazon_store, sqs_url: str | None) -> str:
    """Turn the store's real-time notifications on against the local SQS at ``sqs_url`` (a queue made there, the
    store set to "sandbox", destination and ORDER_CHANGE subscription set up), or off when there is none or the
    setup fails: the polling sweep then imports alone, at the store's frequency. Returns a line for the console."""
    if not sqs_url:
        notifications.configure(amazon_store, mode="off")
        return "  Real-time notifications: off (no local SQS); orders arrive by polling every minute."
    try:
        sqs = boto3.client("sqs", endpoint_url=sqs_url, region_name=notifications.DEFAULT_REGION,
                           aws_access_key_id=notifications.LOCAL_KEY, aws_secret_access_key=notifications.LOCAL_KEY)
        queue_url = sqs.create_queue(QueueName=DEMO_QUEUE)["QueueUrl"]
        notifications.configure(amazon_store, mode="sandbox", queue_url=queue_url)
        report = notifications.setup(amazon_store)
        if not report.ok:  # e.g. a subscription left to an older destination: replace it
            notifications.disable(amazon_store)
            report = notifications.setup(amazon_store)
    except Exception as exc:  # noqa: BLE001 - any failure: the demo goes on with polling
        report = notifications.Report(ok=False, lines=[str(getattr(exc, "message", exc))])
    if not report.ok:
        notifications.configure(amazon_store, mode="off")
        return ("  Real-time notifications could not be set up (" + " ".join(report.lines) + "): they are off, "
                "orders arrive by polling every minute.")
    return (f"  Real-time notifications: on (ORDER_CHANGE to the local SQS queue {queue_url}); the worker imports "
            "each order seconds after it becomes Unshipped; while the consumer is healthy the polling sweep runs "
            f"every {HEALTHY_SWEEP_MINUTES} min as the safety net.")


class _Null:
    def write(self, *_args, **_kwargs):
        pass

    def flush(self):
        pass
