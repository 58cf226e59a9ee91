"""``saleschannel amazon listings import|mappings-import|mappings-export``: the command's side of catalog
onboarding (``listings.py``, ``mapping_csv.py``); ``management/commands/amazon.py`` adds the parsers and calls
``run``."""

from __future__ import annotations

import os
import sys

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from saleschannel.amazon import listings, mapping_csv
from saleschannel.catalog.csvfile import CsvFileError

PREVIEW_LINES = 50


def add_parsers(sub) -> None:
    parser = sub.add_parser("listings", help="Catalog onboarding: import the store's Amazon listings, SKU mappings.")
    actions = parser.add_subparsers(dest="listings_action", required=True,
                                    metavar="{import,mappings-import,mappings-export}")
    run_import = actions.add_parser(
        "import", help="Read the store's listings report and show (or, with --create, apply) what to do.",
        description="Read GET_MERCHANT_LISTINGS_ALL_DATA for one marketplace of the store, print which listings "
                    "would create a product, are linked to one (same SKU or a SKU mapping) or are ignored; with "
                    "--create, create the products. Nothing is written without --create, nor with --dry-run.")
    run_import.add_argument("--store", dest="store_name", required=True, help="Amazon store (name or id).")
    run_import.add_argument("--marketplace", help="Marketplace id (default: the store's first).")
    run_import.add_argument("--create", action="store_true", help="Create the new products.")
    run_import.add_argument("--dry-run", action="store_true", help="With --create: show the outcome, write nothing.")
    run_import.add_argument("--no-progress", action="store_true", help="No progress bar.")
    mappings_in = actions.add_parser("mappings-import", help="Create or change SKU mappings from a CSV file "
                                                             "(seller_sku, product_sku, marketplace_id).")
    mappings_in.add_argument("file", help="CSV file (UTF-8).")
    mappings_in.add_argument("--store", dest="store_name", required=True, help="Amazon store (name or id).")
    mappings_in.add_argument("--dry-run", action="store_true", help="Check the file, write nothing.")
    mappings_out = actions.add_parser("mappings-export", help="Write the store's SKU mappings as CSV (stdout).")
    mappings_out.add_argument("--store", dest="store_name", required=True, help="Amazon store (name or id).")


def run(command, *, listings_action: str, store_name: str, actor: str, **options) -> None:
    store = command._find(store_name)
    try:
        if listings_action == "import":
            _import(command, store, actor=actor, **options)
        elif listings_action == "mappings-import":
            _mappings_import(command, store, actor=actor, **options)
        else:
            for line in mapping_csv.mapping_export_lines(store):
                command.stdout.write(line, ending="")
    except (listings.ListingsError, CsvFileError) as error:
        raise CommandError(error.message)


def _import(command, store, *, actor, marketplace=None, create=False, dry_run=False, no_progress=False,
            **options) -> None:
    console = Console(file=command.stdout._out, highlight=False,
                      width=None if command.stdout._out.isatty() else 160)
    with console.status(f"Reading the listings of {store.name} from Amazon…"):
        marketplace_id, found = listings.listings_fetch(store=store, marketplace_id=marketplace)
    preview = listings.listings_preview(store=store, marketplace_id=marketplace_id, listings=found)
    table = Table(title=f"Listings of {store.name} ({marketplace_id})")
    for column in ("Line", "Seller SKU", "Name", "Price", "Qty", "FBA", "Action", "Product", "Note"):
        table.add_column(column)
    order = {listings.Action.CREATE: 0, listings.Action.IGNORE: 1, listings.Action.LINK: 2}
    for row in sorted(preview.rows, key=lambda row: order[row.action])[:PREVIEW_LINES]:  # what changes first
        item = row.listing
        note = row.problem or (", ".join(f"{d} differs" for d in row.differences)) or ("mapping" if row.mapped else "")
        table.add_row(str(item.line), item.seller_sku, item.name[:40], "" if item.price is None else str(item.price),
                      "" if item.quantity is None else str(item.quantity), "yes" if item.fba else "",
                      row.action.value, row.product_sku, note)
    console.print(table)
    if len(preview.rows) > PREVIEW_LINES:
        console.print(f"… the first {PREVIEW_LINES} of {len(preview.rows)} listings are shown.")
    counts = preview.counts
    console.print(f"{len(preview.rows)} listings: {counts['create']} to create, {counts['link']} linked, "
                  f"{counts['ignore']} ignored.")
    if not create:
        console.print("Nothing written: run again with --create to create the products.")
        return
    show = not no_progress and sys.stdout.isatty()
    with Progress(SpinnerColumn(), TextColumn("[bold]Creating products"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, disable=not show) as bar:
        task = bar.add_task("create", total=counts["create"] or 1)

        def progress(_stage, done, total):
            bar.update(task, completed=done, total=total)

        summary = listings.listings_apply(preview=preview, actor=actor, dry_run=dry_run, progress=progress)
    verb = "Would create" if dry_run else "Created"
    console.print(f"{verb} {summary.created} products; {summary.linked} linked, {summary.ignored} ignored."
                  + (" Nothing written (--dry-run)." if dry_run else ""))


def _mappings_import(command, store, *, actor, file, dry_run=False, **options) -> None:
    try:
        stream = open(file, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise CommandError(f"{file}: {error.strerror}")
    with stream:
        result = mapping_csv.mapping_import(store=store, file=stream, size=os.fstat(stream.fileno()).st_size,
                                            actor=actor, dry_run=dry_run)
    for error in result.errors:
        command.stderr.write(f"line {error.line}, {error.column or 'line'}: {error.message}")
    if result.errors:
        raise CommandError(f"{len(result.errors)} bad line(s): nothing was imported.")
    command.stdout.write(f"{result.created} created, {result.updated} changed, {result.unchanged} unchanged"
                         + (" (dry run: nothing written)." if dry_run else "."))
