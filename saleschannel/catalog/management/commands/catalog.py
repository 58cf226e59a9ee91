"""``saleschannel catalog ...``: import and export products as CSV.

    saleschannel catalog import products.csv [--dry-run] [--skip-bad] [--no-progress]
    saleschannel catalog export [--output products.csv]

The columns and the rules are those of ``saleschannel/catalog/csvfile.py`` (sku, name, price required; qty,
enabled, manage_stock, is_in_stock optional), the same as the back office's Import Products screen. An import is
one transaction: when any line is bad nothing is written and every problem is printed with its line and column
(exit status 1); ``--skip-bad`` writes the good lines and prints the bad ones; ``--dry-run`` writes nothing and
prints what would be created and changed. Re-importing a file changes nothing. ``export`` writes UTF-8 (no BOM) to
standard output or ``--output``.
"""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from saleschannel.catalog import services
from saleschannel.catalog.csvfile import MAX_LISTED_ERRORS, CsvFileError

SHOWN_ERRORS = 200


def cli_actor() -> str:
    """Who changed products from the command line: "cli:<system user>"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"cli:{user}"


class Command(BaseCommand):
    help = "Catalog: import products from a CSV file (upsert by SKU) or export them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        imp = sub.add_parser("import", help="Create or update products from a CSV file (UTF-8, header row).")
        imp.add_argument("file", metavar="FILE.csv")
        imp.add_argument("--dry-run", action="store_true", help="Check the file and show what would change; "
                                                                "write nothing.")
        imp.add_argument("--skip-bad", action="store_true", help="Import the good lines and report the bad ones "
                                                                 "(by default one bad line stops everything).")
        imp.add_argument("--no-progress", action="store_true", help="No progress bar (none when not a terminal).")
        exp = sub.add_parser("export", help="Write every product as CSV (the import's columns).")
        exp.add_argument("--output", "-o", metavar="FILE", help="File to write (default: standard output).")

    def handle(self, *args, action, **options):
        if action == "import":
            return self.do_import(**options)
        return self.do_export(**options)

    def do_import(self, file, dry_run=False, skip_bad=False, no_progress=False, **options):
        try:
            size = os.stat(file).st_size
            stream = open(file, "rb")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}")
        try:
            with stream:
                if no_progress or not self.stdout.isatty():
                    result = self._import(stream, file, size, dry_run, skip_bad, None)
                else:
                    result = self._import_with_progress(stream, file, size, dry_run, skip_bad)
        except CsvFileError as error:
            raise CommandError(f"{file}: {error.message} Nothing was imported.")
        for error in result.errors[:SHOWN_ERRORS]:
            where = f"line {error.line}" + (f", column {error.column}" if error.column else "")
            self.stderr.write(f"{file}: {where}: {error.message}")
        hidden = result.error_count - min(len(result.errors), SHOWN_ERRORS)
        if hidden > 0:
            self.stderr.write(f"… and {hidden} more problem(s)"
                              + (f" (the first {MAX_LISTED_ERRORS} are kept)" if hidden > MAX_LISTED_ERRORS else ""))
        counts = (f"{result.created} to create, {result.updated} to change, {result.unchanged} unchanged"
                  if not result.written else
                  f"{result.created} created, {result.updated} changed, {result.unchanged} unchanged")
        bad = f", {result.bad_lines} bad line(s)" if result.bad_lines else ""
        if not result.ok:
            raise CommandError(f"{file}: {result.bad_lines} bad line(s) out of {result.lines}: nothing was imported. "
                               "Fix them, or use --skip-bad to import the good lines.")
        prefix = "Dry run, nothing written: " if dry_run else ""
        skipped = " (bad lines skipped)" if result.bad_lines else ""
        self.stdout.write(f"{prefix}{file}: {result.lines} line(s): {counts}{bad}{skipped}.")

    def _import(self, stream, file, size, dry_run, skip_bad, progress):
        return services.product_import(file=stream, name=os.path.basename(file), size=size, actor=cli_actor(),
                                       dry_run=dry_run, skip_bad=skip_bad, progress=progress)

    def _import_with_progress(self, stream, file, size, dry_run, skip_bad):
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                      transient=False) as bar:
            reading = bar.add_task("Read", total=size)
            writing = None

            def update(stage, done, total):
                nonlocal writing
                if stage == "read":
                    bar.update(reading, completed=done)
                elif stage == "write":
                    bar.update(reading, completed=size)
                    if writing is None:
                        writing = bar.add_task("Write", total=total)
                    bar.update(writing, completed=done)

            result = self._import(stream, file, size, dry_run, skip_bad, update)
            bar.update(reading, completed=size)
            return result

    def do_export(self, output=None, **options):
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as out:
                    count = services.product_export(out=out)
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}")
            self.stderr.write(f"{count} product(s) written to {output}.")
        else:
            services.product_export(out=self.stdout)
