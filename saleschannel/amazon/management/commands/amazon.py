"""``saleschannel amazon ...``: Amazon stores, sync, backfill and read-only mode from the command line.

    saleschannel amazon store add --name "US" --seller-id A1... --marketplace ATVPDKIKX0DER --store us \
        --client-id amzn1.application-oa2-client... --client-secret-env LWA_SECRET --refresh-token-env LWA_REFRESH
    saleschannel amazon store edit "US" --frequency 10 --no-reserve-pending
    saleschannel amazon store list
    saleschannel amazon store test "US"
    saleschannel amazon sync [--store "US"]
    saleschannel amazon backfill --store "US" --since 2026-01-01
    saleschannel amazon readonly on|off|status
    saleschannel amazon outbox list [--state dead] [--store "US"]
    saleschannel amazon outbox retry 12 13 | --all-dead [--store "US"]

Secrets are read from an environment variable (``--client-secret-env VAR``, preferred), a prompt (interactive
terminals), or a flag (visible in the process list: avoid); they are never printed back.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from saleschannel.amazon import services
from saleschannel.amazon.models import (
    AmazonStore,
    ApiVersion,
    ChannelSettings,
    OutboxKind,
    OutboxState,
    Region,
    SyncRunState,
)

BOOL_SETTINGS = {
    "import_enabled": ("import", "Import Amazon Orders"),
    "reserve_pending": ("reserve-pending", "reserve stock for Pending orders"),
    "invoice_on_import": ("invoice-on-import", "invoice on import"),
    "import_fba": ("import-fba", "import FBA orders when Shipped"),
    "pacing_enabled": ("pacing", "pace calls to Amazon's published rates"),
    "is_active": ("active", "sync this store"),
}


class Command(BaseCommand):
    help = "Amazon Sales Channel: stores, sync, backfill, read-only mode."

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

        backfill = sub.add_parser("backfill", help="Import every order updated since a date.")
        backfill.add_argument("--store", dest="store_name", required=True)
        backfill.add_argument("--since", required=True, help="Date (YYYY-MM-DD) or ISO date-time, UTC.")
        backfill.add_argument("--no-progress", action="store_true", help="No progress bar.")

        readonly = sub.add_parser("readonly", help="Global read-only mode: nothing is sent to Amazon while on.")
        readonly.add_argument("mode", choices=["on", "off", "status"])

        outbox = sub.add_parser("outbox", help="Changes waiting to be sent to Amazon: list them, retry failed ones.")
        outbox_sub = outbox.add_subparsers(dest="outbox_action", required=True, metavar="{list,retry}")
        listing = outbox_sub.add_parser("list", help="List outbound messages (newest last).")
        listing.add_argument("--state", action="append", choices=[s.value for s in OutboxState],
                             help="Only this state (repeat for several); default: every state but accepted.")
        listing.add_argument("--store", dest="store_name", help="Name or id of the Amazon store.")
        retry = outbox_sub.add_parser("retry", help="Send failed or dead-lettered messages again now.")
        retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="Message ids (from 'outbox list').")
        retry.add_argument("--all-dead", action="store_true", help="Every dead-lettered message.")
        retry.add_argument("--store", dest="store_name", help="With --all-dead: only this Amazon store.")

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
        parser.add_argument("--endpoint", help="SP-API endpoint override (sandbox, proxy); '' for Amazon's.")
        parser.add_argument("--token-url", help="LWA token URL override; '' for Amazon's.")
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
        try:
            if action == "store":
                return getattr(self, f"store_{options['store_action']}")(**options)
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
        from saleschannel.catalog.models import Store

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
            **{"seller_id": changes.pop("seller_id"), "marketplace_ids": changes.pop("marketplace_ids"),
               "store": changes.pop("store"), **changes},
        )
        self.stdout.write(self.style.SUCCESS(f'Amazon store "{store.name}" added (id {store.pk}).'))

    def store_edit(self, **options):
        store = self._find(options["store_name"])
        changes = self._changes(options)
        if options.get("name"):
            changes["name"] = options["name"]
        services.amazon_store_update(
            amazon_store=store,
            client_id=self._secret(options, "client-id", required=False),
            client_secret=self._secret(options, "client-secret", required=False),
            refresh_token=self._secret(options, "refresh-token", required=False),
            **changes,
        )
        self.stdout.write(self.style.SUCCESS(f'Amazon store "{store.name}" saved.'))

    def store_list(self, **options):
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Amazon stores")
        for column in ("Id", "Name", "Seller", "Region", "Marketplaces", "Commerce store", "Import", "Every",
                       "Credentials", "Endpoint", "Last sync", "Last error"):
            table.add_column(column)
        for store in AmazonStore.objects.select_related("store").order_by("name"):
            creds = store.credentials_set
            table.add_row(
                str(store.pk), store.name, store.seller_id, store.region, ", ".join(store.marketplace_ids),
                store.store.code, "yes" if store.import_enabled else "no", f"{store.sync_frequency_minutes} min",
                "•••• set" if all(creds.values()) else "missing: " + ", ".join(k for k, v in creds.items() if not v),
                store.endpoint_override or "Amazon",
                f"{store.last_successful_sync_at:%Y-%m-%d %H:%M:%S}" if store.last_successful_sync_at else "never",
                (store.last_error or "")[:60],
            )
        Console(file=self.stdout._out, width=160).print(table)
        if ChannelSettings.load().read_only:
            self.stdout.write(self.style.WARNING("Read-only mode is ON: nothing is sent to Amazon."))

    def store_test(self, **options):
        store = self._find(options["store_name"])
        ok, message = services.amazon_store_test_connection(amazon_store=store)
        if not ok:
            raise CommandError(f"Connection failed: {message}")
        self.stdout.write(self.style.SUCCESS(message))

    # sync ----------------------------------------------------------------------------------------------------
    def _report(self, store, run):
        line = (f"{store.name}: {run.state} — {run.orders_seen} order(s) seen, {run.orders_created} imported, "
                f"{run.orders_updated} updated, {run.orders_failed} in error, {run.api_calls} SP-API call(s)")
        if run.state == SyncRunState.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(line))
        else:
            self.stdout.write(self.style.WARNING(line + (f": {run.error}" if run.error else "")))
        return run.state != SyncRunState.FAILED

    def do_sync(self, store_name=None, **options):
        stores = [self._find(store_name)] if store_name else list(AmazonStore.objects.filter(is_active=True))
        if not stores:
            self.stdout.write("No active Amazon store.")
            return
        ok = True
        for store in stores:
            ok &= self._report(store, services.amazon_store_sync(amazon_store=store))
        if not ok:
            raise CommandError("At least one sync failed.")

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
        if no_progress or not sys.stdout.isatty():
            run = services.amazon_store_backfill(amazon_store=store, since=moment)
        else:
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
        if not self._report(store, run):
            raise CommandError("The backfill failed; run it again to resume (already imported orders are kept).")

    # read-only -----------------------------------------------------------------------------------------------
    def do_readonly(self, mode, **options):
        if mode != "status":
            services.channel_read_only_set(read_only=mode == "on")
        state = ChannelSettings.load().read_only
        self.stdout.write(f"Read-only mode is {'ON: nothing is sent to Amazon' if state else 'off'}.")

    # outbox --------------------------------------------------------------------------------------------------
    def outbox_list(self, state=None, store_name=None, **options):
        from saleschannel.amazon.selectors import outbox_messages

        store = self._find(store_name) if store_name else None
        states = state or [s.value for s in OutboxState if s != OutboxState.ACCEPTED]
        messages = list(outbox_messages(states=states, store=store))
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
            self.stdout.write(f"{message.pk:>6}  {message.state:<10} {OutboxKind(message.kind).label:<12} "
                              f"{message.amazon_order.amazon_order_id:<21} {message.attempts:>8}  {detail[:120]}")
        self.stdout.write(f"{len(messages)} message(s). Retry failed or dead ones with: saleschannel amazon outbox "
                          "retry ID …")

    def outbox_retry(self, ids=(), all_dead=False, store_name=None, **options):
        from saleschannel.amazon import outbound
        from saleschannel.amazon.selectors import outbox_messages

        if bool(ids) == bool(all_dead):
            raise CommandError("Give message ids, or --all-dead (not both).")
        if all_dead:
            store = self._find(store_name) if store_name else None
            messages = list(outbox_messages(states=[OutboxState.DEAD], store=store))
        else:
            found = {m.pk: m for m in outbox_messages().filter(pk__in=ids)}
            missing = [str(i) for i in ids if i not in found]
            if missing:
                raise CommandError(f"No outbound message with id {', '.join(missing)}; see 'outbox list'.")
            messages = [found[i] for i in ids]
        if not messages:
            self.stdout.write("No dead-lettered message.")
            return
        refused = []
        for message in messages:
            try:
                outbound.outbox_retry(message=message, actor="command line")
            except services.AmazonChannelError as error:
                refused.append(f"{message.pk}: {error.message}")
            else:
                self.stdout.write(self.style.SUCCESS(
                    f"{message.pk}: {OutboxKind(message.kind).label} for {message.amazon_order.amazon_order_id} "
                    "queued again; the worker sends it now."))
        if refused:
            raise CommandError("Not retried — " + "; ".join(refused))
