"""``saleschannel amazon ...``: Amazon stores, sync, backfill and read-only mode from the command line.

    saleschannel amazon store add --name "US" --seller-id A1... --marketplace ATVPDKIKX0DER --store us \
        --client-id amzn1.application-oa2-client... --client-secret-env LWA_SECRET --refresh-token-env LWA_REFRESH
    saleschannel amazon store edit "US" --frequency 10 --no-reserve-pending
    saleschannel amazon store list
    saleschannel amazon store test "US"
    saleschannel amazon sync [--store "US"] [-v 2]
    saleschannel amazon backfill --store "US" --since 2026-01-01 [-v 2]
    saleschannel amazon readonly on|off|status
    saleschannel amazon outbox list [--state dead] [--store "US"]
    saleschannel amazon outbox retry 12 13 | --all-dead [--store "US"] [--confirm-may-duplicate]
    saleschannel amazon outbox send [--store "US"] [--wait 120]

Secrets are read from an environment variable (``--client-secret-env VAR``, preferred), a prompt (interactive
terminals), or a flag (visible in the process list: avoid); they are never printed back.

Verbosity (Django's ``-v/--verbosity``, the same for every subcommand): 0 prints only what failed, 1 (the default)
one line per store, 2 also every request to Amazon (the HTTP client's log lines and the gateway's retries), 3 the
same with debug details. A marketplace must sell in the currency of the Commerce store it imports into: ``store
add/edit`` refuse it otherwise (``services._check_currencies``, which the back-office form uses too).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from saleschannel.amazon import health_cli, listings_cli, notifications_cli, selectors, sending, services
from saleschannel.amazon.health import ALERT_AFTER_FAILURES, failing_text
from saleschannel.amazon.models import (
    AmazonStore,
    ApiVersion,
    ChannelSettings,
    OutboxKind,
    OutboxState,
    Region,
    SyncRunState,
)
from saleschannel.catalog.models import Store

BOOL_SETTINGS = {
    "import_enabled": ("import", "Import Amazon Orders"),
    "reserve_pending": ("reserve-pending", "reserve stock for Pending orders"),
    "invoice_on_import": ("invoice-on-import", "invoice on import"),
    "import_fba": ("import-fba", "import FBA orders when Shipped"),
    "pacing_enabled": ("pacing", "pace calls to Amazon's published rates"),
    "is_active": ("active", "sync this store"),
}
# Who logs each request to Amazon: the HTTP client under python-amazon-sp-api, the library, our gateway and pacer.
REQUEST_LOGGERS = ("httpx", "httpcore", "sp_api", "saleschannel.amazon.spapi.gateway", "saleschannel.amazon.pacing")
# Who logs the outcome of a pass, which the command prints itself (one line per store).
PASS_LOGGERS = ("saleschannel.amazon.sync", "saleschannel.amazon.health")


@contextmanager
def amazon_logging(verbosity: int):
    """Quiet by default: requests to Amazon are logged from verbosity 2 (debug details at 3); levels come back after.

    The library's own debug lines (headers, parameters) stay off at every verbosity: they would hold tokens.
    """
    changes = {}
    if verbosity >= 2:
        level = logging.DEBUG if verbosity >= 3 else logging.INFO
        changes = {name: level for name in REQUEST_LOGGERS if name != "sp_api"}
    else:
        changes = {name: logging.WARNING for name in REQUEST_LOGGERS}
        changes.update({name: logging.ERROR for name in PASS_LOGGERS})
    previous = {name: logging.getLogger(name).level for name in changes}
    for name, level in changes.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def cli_actor() -> str:
    """Who changed a store from the command line, for its connection changes: "cli:<system user>"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"cli:{user}"


DEFAULT_SEND_WAIT = 120.0  # seconds `outbox send` follows feeds (Amazon usually processes a small feed in minutes)
SHOWN_PROBLEMS = 50  # `outbox send` prints at most this many failed or pending messages


class Command(BaseCommand):
    help = ("Amazon Sales Channel: stores, sync, backfill, read-only mode, outbox. -v 2 shows every request to "
            "Amazon; -v 0 prints only failures.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{store,sync,backfill,readonly,outbox}")

        store = sub.add_parser("store", help="Add, edit, list or test Amazon stores.")
        store_sub = store.add_subparsers(dest="store_action", required=True, metavar="{add,edit,list,test}")
        add = store_sub.add_parser("add", help="Connect an Amazon seller account.")
        self._store_options(add, creating=True)
        edit = store_sub.add_parser("edit", help="Change an Amazon store (only the options given).")
        edit.add_argument("store_name", metavar="STORE", help="Name or id of the Amazon store.")
        edit.add_argument("--name", help="New name.")
        self._store_options(edit, creating=False)
        store_sub.add_parser("list", help="List Amazon stores (credentials are never shown).")
        test = store_sub.add_parser("test", help="Test the connection to Amazon.")
        test.add_argument("store_name", metavar="STORE")

        sync = sub.add_parser("sync", help="Run one sync pass now (every active store, or one).")
        sync.add_argument("--store", dest="store_name", help="Name or id of the Amazon store.")
        self._verbosity_option(sync)

        backfill = sub.add_parser("backfill", help="Import every order updated since a date.")
        backfill.add_argument("--store", dest="store_name", required=True)
        backfill.add_argument("--since", required=True, help="Date (YYYY-MM-DD) or ISO date-time, UTC.")
        backfill.add_argument("--no-progress", action="store_true", help="No progress bar.")
        self._verbosity_option(backfill)

        readonly = sub.add_parser("readonly", help="Global read-only mode: nothing is sent to Amazon while on.")
        readonly.add_argument("mode", choices=["on", "off", "status"])

        outbox = sub.add_parser("outbox", help="Changes waiting to be sent to Amazon: list them, retry failed ones.")
        outbox_sub = outbox.add_subparsers(dest="outbox_action", required=True, metavar="{list,retry,send}")
        listing = outbox_sub.add_parser("list", help="List outbound messages (newest last).")
        listing.add_argument("--state", action="append", choices=[s.value for s in OutboxState],
                             help="Only this state (repeat for several); default: every state but accepted.")
        listing.add_argument("--store", dest="store_name", help="Name or id of the Amazon store.")
        retry = outbox_sub.add_parser("retry", help="Send failed or dead-lettered messages again now.")
        retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="Message ids (from 'outbox list').")
        retry.add_argument("--all-dead", action="store_true", help="Every dead-lettered message.")
        retry.add_argument("--store", dest="store_name", help="With --all-dead: only this Amazon store.")
        retry.add_argument("--confirm-may-duplicate", action="store_true",
                           help="Also send again refunds Amazon may already have applied (their outcome is unknown "
                                "and Amazon's feeds cannot tell): check the orders in Seller Central first.")
        send = outbox_sub.add_parser(
            "send", help="Deliver what is due now and follow the feeds until Amazon is done (for cron and scripts).",
            description="Deliver every outbound message that is due once, then follow the submitted feeds until "
                        "Amazon has processed them or --wait ends. Exit status 1 when something failed in this run "
                        "or is still pending at the end (each is printed), 0 otherwise.")
        send.add_argument("--store", dest="store_name", help="Only this Amazon store (name or id).")
        send.add_argument("--wait", type=float, default=DEFAULT_SEND_WAIT, metavar="SECONDS",
                          help=f"How long to follow feeds (default {DEFAULT_SEND_WAIT:g}; 0: send and return).")
        send.add_argument("--no-progress", action="store_true", help="No progress bar (none when not a terminal).")
        self._verbosity_option(send)
        listings_cli.add_parsers(sub)
        notifications_cli.add_parsers(sub)
        health_cli.add_parsers(sub)

    @staticmethod
    def _verbosity_option(parser):
        """Django's -v/--verbosity, also after the subcommand; a bare -v means 2 (show the requests to Amazon)."""
        parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], nargs="?", const=2,
                            default=argparse.SUPPRESS,
                            help="0: only failures; 1: one line per store (default); 2 or a bare -v: also every "
                                 "request to Amazon; 3: with debug details.")

    def _store_options(self, parser, *, creating: bool):
        if creating:
            parser.add_argument("--name", required=True)
        parser.add_argument("--seller-id", required=creating)
        parser.add_argument("--region", choices=Region.values, default=Region.NA if creating else None)
        parser.add_argument("--marketplace", action="append", dest="marketplaces", required=creating,
                            help="Marketplace id (repeat for several).")
        parser.add_argument("--store", dest="commerce_store", required=creating,
                            help="Code of the linked Commerce store.")
        for secret in ("client-id", "client-secret", "refresh-token"):
            parser.add_argument(f"--{secret}-env", metavar="VAR", help=f"Read the LWA {secret} from this variable.")
            parser.add_argument(f"--{secret}", help="Value on the command line (visible to other users: prefer -env).")
        parser.add_argument("--endpoint", help="SP-API endpoint override (sandbox, proxy); '' for Amazon's. https:// "
                                               "(http:// only on 127.0.0.1, ::1, localhost). Changing it needs the "
                                               "three credentials again.")
        parser.add_argument("--token-url", help="LWA token URL override; '' for Amazon's "
                                                "(https://api.amazon.com/auth/o2/token). Same rules as --endpoint.")
        parser.add_argument("--api-version", choices=ApiVersion.values)
        parser.add_argument("--time-scale", help="Sandbox time scale (1 for Amazon).")
        parser.add_argument("--frequency", type=int, help="Sync frequency in minutes (1-60).")
        parser.add_argument("--customer-creation", choices=["guest", "account"])
        parser.add_argument("--order-number-source", choices=["commerce", "amazon"])
        parser.add_argument("--import-store", help="Code of the Commerce store to import into.")
        parser.add_argument("--custom-status", help="Processing status for imported orders ('' for default).")
        for field, (flag, label) in BOOL_SETTINGS.items():
            group = parser.add_mutually_exclusive_group()
            group.add_argument(f"--{flag}", dest=field, action="store_true", default=None, help=f"Turn on: {label}.")
            group.add_argument(f"--no-{flag}", dest=field, action="store_false", default=None)

    # -------------------------------------------------------------------------------------------------------
    def handle(self, *args, action, **options):
        self.verbosity = options.get("verbosity", 1)
        try:
            if action == "store":
                return getattr(self, f"store_{options['store_action']}")(**options)
            if action == "listings":
                return listings_cli.run(self, actor=cli_actor(), **options)
            if action == "notifications":
                return notifications_cli.run(self, **options)
            if action == "health":
                return health_cli.run(self, **options)
            if action == "outbox":
                return getattr(self, f"outbox_{options['outbox_action']}")(**options)
            return getattr(self, f"do_{action}")(**options)
        except services.AmazonChannelError as error:
            raise CommandError(error.message)

    # store ---------------------------------------------------------------------------------------------------
    def _find(self, name: str) -> AmazonStore:
        store = AmazonStore.objects.filter(name=name).first()
        if store is None and name.isdigit():
            store = AmazonStore.objects.filter(pk=int(name)).first()
        if store is None:
            raise CommandError(f'No Amazon store named "{name}" (see: saleschannel amazon store list).')
        return store

    def _commerce_store(self, code):
        store = Store.objects.filter(code=code).first()
        if store is None:
            raise CommandError(f'No Commerce store with code "{code}".')
        return store

    def _secret(self, options, name: str, *, required: bool) -> str | None:
        key = name.replace("-", "_")
        env_name = options.get(f"{key}_env")
        if env_name:
            value = os.environ.get(env_name, "")
            if not value:
                raise CommandError(f"Environment variable {env_name} is empty or not set.")
            return value
        if options.get(key):
            return options[key]
        if required:
            if sys.stdin.isatty():
                value = getpass.getpass(f"LWA {name.replace('-', ' ')}: ")
                if value.strip():
                    return value
            raise CommandError(f"Give the LWA {name.replace('-', ' ')} with --{name}-env VAR.")
        return None

    def _changes(self, options) -> dict:
        changes = {}
        simple = {"seller_id": "seller_id", "region": "region", "endpoint": "endpoint_override",
                  "token_url": "token_url_override", "api_version": "api_version", "time_scale": "time_scale",
                  "frequency": "sync_frequency_minutes", "customer_creation": "customer_creation",
                  "order_number_source": "order_number_source"}
        for option, field in simple.items():
            if options.get(option) is not None:
                changes[field] = options[option]
        if options.get("marketplaces"):
            changes["marketplace_ids"] = options["marketplaces"]
        if options.get("commerce_store"):
            changes["store"] = self._commerce_store(options["commerce_store"])
        if options.get("import_store") is not None:
            changes["import_store"] = self._commerce_store(options["import_store"]) if options["import_store"] else None
        if options.get("custom_status") is not None:
            changes["order_status_mode"] = "custom" if options["custom_status"] else "default"
            changes["custom_processing_status"] = options["custom_status"]
        for field in BOOL_SETTINGS:
            if options.get(field) is not None:
                changes[field] = options[field]
        return changes

    def store_add(self, **options):
        changes = self._changes(options)
        store = services.amazon_store_create(
            name=options["name"],
            client_id=self._secret(options, "client-id", required=True),
            client_secret=self._secret(options, "client-secret", required=True),
            refresh_token=self._secret(options, "refresh-token", required=True),
            actor=cli_actor(),
            **{"seller_id": changes.pop("seller_id"), "marketplace_ids": changes.pop("marketplace_ids"),
               "store": changes.pop("store"), **changes},
        )
        self.stdout.write(self.style.SUCCESS(f'Amazon store "{store.name}" added (id {store.pk}).'))

    def store_edit(self, **options):
        store = self._find(options["store_name"])
        changes = self._changes(options)
        if options.get("name"):
            changes["name"] = options["name"]
        # A new endpoint or token URL needs the three credentials again (the service says so otherwise).
        services.amazon_store_update(
            amazon_store=store,
            client_id=self._secret(options, "client-id", required=False),
            client_secret=self._secret(options, "client-secret", required=False),
            refresh_token=self._secret(options, "refresh-token", required=False),
            actor=cli_actor(),
            **changes,
        )
        self.stdout.write(self.style.SUCCESS(f'Amazon store "{store.name}" saved.'))

    def store_list(self, **options):
        # rich is loaded only by the commands that draw (it costs every other command's start-up for nothing).
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Amazon stores")
        for column in ("Id", "Name", "Seller", "Region", "Marketplaces", "Commerce store", "Import", "Every",
                       "Credentials", "Endpoint", "Last sync", "Sync health"):
            table.add_column(column)
        for store in AmazonStore.objects.select_related("store").order_by("name"):
            creds = store.credentials_set
            table.add_row(
                str(store.pk), store.name, store.seller_id, store.region, ", ".join(store.marketplace_ids),
                store.store.code, "yes" if store.import_enabled else "no", f"{store.sync_frequency_minutes} min",
                "•••• set" if all(creds.values()) else "missing: " + ", ".join(k for k, v in creds.items() if not v),
                store.endpoint_override or "Amazon",
                f"{store.last_successful_sync_at:%Y-%m-%d %H:%M:%S}" if store.last_successful_sync_at else "never",
                f"FAILING ×{store.sync_failures_in_row}" if store.sync_failures_in_row else "OK",
            )
        Console(file=self.stdout._out, width=160).print(table)
        for store in AmazonStore.objects.filter(sync_failures_in_row__gt=0).order_by("name"):
            self.stdout.write(self.style.ERROR(f"{store.name}: {self._health(store)}"))
        if ChannelSettings.load().read_only:
            self.stdout.write(self.style.WARNING("Read-only mode is ON: nothing is sent to Amazon."))

    def store_test(self, **options):
        store = self._find(options["store_name"])
        ok, message = services.amazon_store_test_connection(amazon_store=store)
        if not ok:
            raise CommandError(f"Connection failed: {message}")
        self.stdout.write(self.style.SUCCESS(message))

    # sync ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _health(store) -> str:
        """ "Sync failing since 2026-01-05 10:00 UTC: <Amazon's message> (2 failed passes in a row)", or ""."""
        if not store.sync_failures_in_row:
            return ""
        since = store.sync_failing_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") \
            if store.sync_failing_since else "?"
        count = store.sync_failures_in_row
        streak = f"{count} failed pass{'es' if count != 1 else ''} in a row"
        if store.sync_alerted_at:
            streak += ", administrators alerted"
        elif count < ALERT_AFTER_FAILURES:
            streak += f"; administrators are alerted at {ALERT_AFTER_FAILURES}"
        return f"{failing_text(store, since=since)} ({streak})"

    def _report(self, store, run):
        line = (f"{store.name}: {run.state} — {run.orders_seen} order(s) seen, {run.orders_created} imported, "
                f"{run.orders_updated} updated, {run.orders_failed} in error, {run.api_calls} SP-API call(s)")
        if run.state == SyncRunState.SUCCEEDED:
            if self.verbosity >= 1:
                self.stdout.write(self.style.SUCCESS(line))
        elif run.state == SyncRunState.FAILED:
            store.refresh_from_db()
            health = self._health(store) or run.error  # "Sync failing since …: <Amazon's message> (…)"
            self.stdout.write(self.style.ERROR(f"{line}. {health}"))
        elif self.verbosity >= 1:
            self.stdout.write(self.style.WARNING(line + (f": {run.error}" if run.error else "")))
        return run.state != SyncRunState.FAILED

    def do_sync(self, store_name=None, **options):
        stores = [self._find(store_name)] if store_name else list(AmazonStore.objects.filter(is_active=True))
        if not stores:
            if self.verbosity >= 1:
                self.stdout.write("No active Amazon store.")
            return
        ok = True
        with amazon_logging(self.verbosity):
            for store in stores:
                ok &= self._report(store, services.amazon_store_sync(amazon_store=store))
        if not ok:
            raise CommandError("At least one sync failed; the next pass retries.")

    def do_backfill(self, store_name, since, no_progress=False, **options):
        store = self._find(store_name)
        moment = parse_datetime(since)
        if moment is None:
            day = parse_date(since)
            if day is None:
                raise CommandError("--since must be a date (YYYY-MM-DD) or an ISO date-time.")
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        with amazon_logging(self.verbosity):
            run = self._backfill(store, moment, progress=not no_progress and sys.stdout.isatty())
        if not self._report(store, run):
            raise CommandError("The backfill failed; run it again to resume (already imported orders are kept).")

    def _backfill(self, store, moment, *, progress: bool):
        if not progress:
            return services.amazon_store_backfill(amazon_store=store, since=moment)
        else:
            # rich is loaded only by the commands that draw (it costs every other command's start-up for nothing).
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                          TextColumn("{task.fields[orders]} orders · {task.fields[created]} imported · "
                                     "{task.fields[failed]} in error · page {task.fields[pages]}"),
                          TimeElapsedColumn(), transient=False) as progress:
                task = progress.add_task(f"Backfill {store.name}", total=None, orders=0, created=0, failed=0,
                                         pages=0)

                def update(run):
                    progress.update(task, orders=run.orders_seen, created=run.orders_created,
                                    failed=run.orders_failed, pages=run.pages)

                run = services.amazon_store_backfill(amazon_store=store, since=moment, progress=update)
                progress.update(task, total=1, completed=1)
            return run

    # read-only -----------------------------------------------------------------------------------------------
    def do_readonly(self, mode, **options):
        if mode != "status":
            services.channel_read_only_set(read_only=mode == "on")
        state = ChannelSettings.load().read_only
        self.stdout.write(f"Read-only mode is {'ON: nothing is sent to Amazon' if state else 'off'}.")

    # outbox --------------------------------------------------------------------------------------------------
    def outbox_list(self, state=None, store_name=None, **options):
        store = self._find(store_name) if store_name else None
        states = state or [s.value for s in OutboxState if s != OutboxState.ACCEPTED]
        messages = list(selectors.outbox_messages(states=states, store=store))
        if not messages:
            self.stdout.write("No outbound message in that state." if state else "Nothing waiting: every change "
                              "was accepted by Amazon.")
            return
        self.stdout.write(f"{'ID':>6}  {'STATE':<10} {'KIND':<12} {'AMAZON ORDER':<21} {'ATTEMPTS':>8}  "
                          "NEXT / LAST ERROR")
        for message in messages:
            detail = message.last_error if message.state in (OutboxState.FAILED, OutboxState.DEAD) else ""
            if message.state == OutboxState.FAILED and message.next_attempt_at:
                detail = f"next {message.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC — {detail}"
            if message.outcome_unknown:
                detail = f"outcome unknown — {detail}"
            if message.state == OutboxState.QUEUED and message.waiting_for_id:
                ahead = message.waiting_for
                detail = (f"waiting for feed {ahead.feed_id} (message {ahead.pk})" if ahead.feed_id
                          else f"waiting for message {ahead.pk} (its feed is being submitted)")
            self.stdout.write(f"{message.pk:>6}  {message.state:<10} {OutboxKind(message.kind).label:<12} "
                              f"{message.amazon_order.amazon_order_id:<21} {message.attempts:>8}  {detail[:120]}")
        self.stdout.write(f"{len(messages)} message(s). Retry failed or dead ones with: saleschannel amazon outbox "
                          "retry ID …")

    def outbox_retry(self, ids=(), all_dead=False, store_name=None, confirm_may_duplicate=False, **options):
        if bool(ids) == bool(all_dead):
            raise CommandError("Give message ids, or --all-dead (not both).")
        if all_dead:
            store = self._find(store_name) if store_name else None
            messages = list(selectors.outbox_messages(states=[OutboxState.DEAD], store=store))
        else:
            found = {m.pk: m for m in selectors.outbox_messages().filter(pk__in=ids)}
            missing = [str(i) for i in ids if i not in found]
            if missing:
                raise CommandError(f"No outbound message with id {', '.join(missing)}; see 'outbox list'.")
            messages = [found[i] for i in ids]
        if not messages:
            self.stdout.write("No dead-lettered message.")
            return
        refused, risky = [], []
        for message in messages:
            try:
                message = services.outbox_retry(message=message, actor="command line",
                                                confirmed=confirm_may_duplicate)
            except services.RetryNeedsConfirmation as error:
                risky.append(f"{message.pk}: {error.message}")
            except services.AmazonChannelError as error:
                refused.append(f"{message.pk}: {error.message}")
            else:
                label = f"{message.pk}: {OutboxKind(message.kind).label} for {message.amazon_order.amazon_order_id}"
                if message.state == OutboxState.SENT:
                    self.stdout.write(self.style.SUCCESS(
                        f"{label}: Amazon already had it (feed {message.feed_id}); followed, not sent again."))
                else:
                    self.stdout.write(self.style.SUCCESS(f"{label} queued again; the worker sends it now."))
        if risky:
            self.stderr.write("Not retried, Amazon may already have applied them — " + "; ".join(risky))
            refused.append(f"{len(risky)} message(s) need --confirm-may-duplicate after checking Seller Central")
        if refused:
            raise CommandError("Not retried — " + "; ".join(refused))

    def outbox_send(self, store_name=None, wait=DEFAULT_SEND_WAIT, no_progress=False, **options):
        store = self._find(store_name) if store_name else None
        with amazon_logging(self.verbosity):
            if no_progress or not self.stdout.isatty():
                report = sending.outbox_send(store=store, wait=wait)
            else:
                report = self._send_with_progress(store, wait)
        self._send_report(report, wait)
        if not report.ok:
            raise CommandError(f"{len(report.failed)} failed, {len(report.pending)} still pending: see above.")

    def _send_with_progress(self, store, wait):
        # rich is loaded only by the commands that draw (it costs every other command's start-up for nothing).
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=self.stdout._out)
        with Progress(SpinnerColumn(), TextColumn("[bold]Outbox"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[accepted]} accepted · {task.fields[failed]} failed · "
                                 "{task.fields[following]} feed(s) processing on Amazon"),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            task = progress.add_task("send", total=None, accepted=0, failed=0, following=0)

            def update(state):
                progress.update(task, total=state.total, completed=state.done, accepted=state.accepted,
                                failed=state.failed, following=state.following)

            return sending.outbox_send(store=store, wait=wait, progress=update)

    def _send_report(self, report, wait):
        def describe(message) -> str:
            label = f"{message.pk}: {OutboxKind(message.kind).label} for {message.amazon_order.amazon_order_id}"
            if message.state == OutboxState.SENT:
                return f"{label} — feed {message.feed_id} {message.feed_status or 'submitted'}, not processed yet"
            if message.state == OutboxState.FAILED:
                when = (f"; next attempt {message.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
                        if message.next_attempt_at else "")
                return f"{label} — failed: {message.last_error}{when}"
            if message.state == OutboxState.DEAD:
                return f"{label} — dead letter: {message.last_error}"
            return f"{label} — {OutboxState(message.state).label.lower()}"

        if report.held:
            self.stdout.write(self.style.WARNING(
                f"Read-only mode is on: nothing was sent; {len(report.pending)} message(s) wait in the queue."))
        elif report.attempted == 0 and not report.pending:
            if self.verbosity >= 1:
                self.stdout.write("Nothing to send: no outbound message is due.")
        else:
            line = (f"Outbox: {len(report.accepted)} accepted by Amazon, {len(report.failed)} failed, "
                    f"{len(report.pending)} still pending ({report.seconds:.0f} s, --wait {wait:g}).")
            if report.ok:
                if self.verbosity >= 1:
                    self.stdout.write(self.style.SUCCESS(line))
            else:
                self.stdout.write(self.style.ERROR(line))
        for title, messages in (("Failed", report.failed), ("Still pending", report.pending)):
            for message in messages[:SHOWN_PROBLEMS]:
                self.stdout.write(f"  {title}: {describe(message)}"[:300])
            if len(messages) > SHOWN_PROBLEMS:
                self.stdout.write(f"  … and {len(messages) - SHOWN_PROBLEMS} more (see: saleschannel amazon outbox "
                                  "list).")
        if report.older_dead and self.verbosity >= 1:
            self.stdout.write(self.style.WARNING(
                f"{report.older_dead} older dead-lettered message(s) need a retry by hand: saleschannel amazon "
                "outbox list --state dead"))
