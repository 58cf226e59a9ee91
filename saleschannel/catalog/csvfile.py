"""CSV files of products: the columns, the parser (one for the command and the screen), the plan and the writes.

The file
    UTF-8 text, with or without a byte-order mark (what "CSV UTF-8" in Excel or LibreOffice saves). Other encodings
    are not guessed: a byte that is not UTF-8 refuses the whole file, naming its line and column (resave the file as
    UTF-8). At most 50 MB (``MAX_BYTES``), refused before it is read when its size is known, and as soon as reading
    passes the limit otherwise. Columns are separated by commas, semicolons or tabs (told from the header row).

The header row (required) names the columns, in any order and any case:

    ============  ========  =================================================================================
    column        required  value
    ============  ========  =================================================================================
    sku           yes       the product's SKU: the key of the upsert (exact; see ``catalog.rules``)
    name          yes       product name
    price         yes       a number ≥ 0 with no more decimals than the stores' currency (``19.99``; a decimal
                            comma ``19,99`` is read too)
    qty           no        units in stock, a whole number ≥ 0 (never below the units reserved for orders)
    enabled       no        1/0 (true/false, yes/no): sold or not
    manage_stock  no        1/0: whether stock is counted and reserved
    is_in_stock   no        1/0: stock status set by staff
    ============  ========  =================================================================================

An empty cell in an optional column (or a missing optional column) keeps the product's value, or takes the default
for a new product (qty 0, enabled 1, manage_stock 1, is_in_stock 1). Unknown columns are refused (a typo such as
``quantity`` would otherwise be ignored silently). Blank lines are skipped. A cell that ``export`` prefixed with an
apostrophe (so that spreadsheets do not run ``=…`` as a formula) is read back without it.

Lines are upserts by SKU: a new SKU creates a product, a known SKU changes what differs, and a line equal to the
product changes nothing, so importing a file twice is harmless. Every problem is reported with its line and column:
a bad value (``catalog.rules``), a SKU given twice in the file (both lines), a SKU differing from an existing one
only by case, a line with more values than the header. ``catalog.services.product_import`` runs it in one
transaction.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.catalog import rules
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.core import events
from saleschannel.core.bulk import insert_new
from saleschannel.core.errors import DomainError

COLUMNS = rules.PRODUCT_FIELDS
REQUIRED = rules.PRODUCT_REQUIRED
MAX_BYTES = 50 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_LISTED_ERRORS = 1000  # errors kept to show; all of them are counted
BATCH = 2000
_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16", b"\x00\x00\xfe\xff": "UTF-32"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[str, int, int], None]


class CsvFileError(DomainError):
    """A file that cannot be imported at all (too large, not UTF-8, no usable header row); nothing is written."""

    def __init__(self, message: str, *, line: int | None = None, column: str = "") -> None:
        super().__init__(message, code="csv_file")
        self.line = line
        self.column = column


@dataclass(slots=True)
class LineError:
    line: int
    column: str  # "" for the whole line
    message: str
    sku: str = ""


@dataclass(slots=True)
class Row:
    line: int
    values: dict


@dataclass
class Parsed:
    columns: list[str]
    rows: list[Row]
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    bad_lines: set[int] = field(default_factory=set)
    lines: int = 0

    def add_error(self, line: int, column: str, message: str, sku: str = "") -> None:
        self.error_count += 1
        self.bad_lines.add(line)
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(LineError(line, column, message, sku))


@dataclass
class ImportResult:
    lines: int
    created: int
    updated: int
    unchanged: int
    bad_lines: int
    errors: list[LineError]
    error_count: int
    dry_run: bool
    skip_bad: bool
    changes: list = field(default_factory=list)  # (line, sku, {field: (before, after)}) for previews; first lines
    new: list = field(default_factory=list)  # (line, Product) for previews; first lines

    @property
    def ok(self) -> bool:
        """Whether the good lines are (or would be) written: no bad line, or ``skip_bad``."""
        return not self.error_count or self.skip_bad

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


# --- Reading --------------------------------------------------------------------------------------------------


def _lines(stream, *, size: int | None, progress: Progress | None) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 (a first BOM dropped), with the line and column of any bad byte."""
    total = 0
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        total += len(raw)
        if total > MAX_BYTES:
            raise CsvFileError(_("The file is larger than 50 MB: split it into smaller files."))
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise CsvFileError(_("Line %(line)d is longer than 1 MB: this is not a product CSV file.") % {
                "line": number}, line=number)
        if number == 1:
            for bom, name in _OTHER_BOMS.items():
                if raw.startswith(bom):
                    raise CsvFileError(_("The file is %(encoding)s text: save it as CSV UTF-8 and import it "
                                         "again.") % {"encoding": name}, line=1)
            if raw.startswith(_BOM):
                raw = raw[len(_BOM):]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            column = len(raw[:error.start].decode("utf-8", errors="replace")) + 1
            raise CsvFileError(
                _("Line %(line)d, character %(column)d: the file is not UTF-8 text (byte 0x%(byte)02X). Save it "
                  "as CSV UTF-8 (not Latin-1, Windows-1252 or UTF-16) and import it again.") % {
                    "line": number, "column": column, "byte": raw[error.start]},
                line=number)
        if "\x00" in text:
            raise CsvFileError(_("Line %(line)d contains a NUL character: this is not a text CSV file.") % {
                "line": number}, line=number)
        if progress is not None and number % BATCH == 0:
            progress("read", total, size or 0)
        yield text


def _delimiter(header: str) -> str:
    best, score = ",", -1
    for delimiter in (",", ";", "\t"):
        names = {name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter), [])}
        found = len(names & set(COLUMNS))
        if found > score:
            best, score = delimiter, found
    return best


def _unescape(cell: str) -> str:
    if cell.startswith("'") and cell[1:2] and cell[1:2] in _FORMULA_STARTS:
        return cell[1:]
    return cell


def parse(stream, *, size: int | None = None, decimals: int, progress: Progress | None = None) -> Parsed:
    """Read a CSV file of products from the binary ``stream``: each good line cleaned, each bad one reported."""
    if size is not None and size > MAX_BYTES:
        raise CsvFileError(_("The file is larger than 50 MB (%(size)s MB): split it into smaller files.") % {
            "size": f"{size / 1024 / 1024:.1f}"})
    lines = _lines(stream, size=size, progress=progress)
    first = next(lines, None)
    if first is not None and not first.strip():
        raise CsvFileError(_("The first line is empty: the file needs a header row naming its columns (%(columns)s)."
                             ) % {"columns": ", ".join(COLUMNS)}, line=1)
    if first is None:
        raise CsvFileError(_("The file is empty: it needs a header row naming its columns (%(columns)s).") % {
            "columns": ", ".join(COLUMNS)}, line=1)
    delimiter = _delimiter(first)
    reader = csv.reader(_chain(first, lines), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
        return _read_rows(reader, header, decimals=decimals, progress=progress)
    except csv.Error as error:
        line = reader.line_num
        raise CsvFileError(_("Line %(line)d: the CSV is malformed (%(error)s); check the quotes on that line.") % {
            "line": line, "error": error}, line=line)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _read_rows(reader, header: list[str], *, decimals: int, progress: Progress | None) -> Parsed:
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        raise CsvFileError(_("Unknown columns in the header row: %(unknown)s. The columns are: %(columns)s.") % {
            "unknown": ", ".join(unknown), "columns": ", ".join(COLUMNS)}, line=1, column=unknown[0])
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise CsvFileError(_("Columns named twice in the header row: %(columns)s.") % {
            "columns": ", ".join(repeated)}, line=1, column=repeated[0])
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise CsvFileError(_("Missing columns in the header row: %(missing)s. The header row must name at least "
                             "%(required)s (the optional columns are %(optional)s).") % {
            "missing": ", ".join(missing), "required": ", ".join(REQUIRED),
            "optional": ", ".join(c for c in COLUMNS if c not in REQUIRED)}, line=1, column=missing[0])
    positions = [(index, name) for index, name in enumerate(header) if name]
    width = len(header)
    parsed = Parsed(columns=[name for _index, name in positions], rows=[])
    seen: dict[str, int] = {}  # SKU without regard to case -> the line it is first given on
    repeated: set[str] = set()
    end = 1
    for record in reader:
        line, end = end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        parsed.lines += 1
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            parsed.add_error(line, "", _("This line has %(count)d values; the header row names %(width)d "
                                         "columns.") % {"count": len(record), "width": width})
            continue
        raw = {}
        for index, name in positions:
            cell = _unescape(record[index]) if index < len(record) else ""
            if cell.strip() or name in REQUIRED:
                raw[name] = cell
        values, errors = rules.clean_product_fields(raw, decimals=decimals)
        sku = values.get("sku", raw.get("sku", ""))
        for name, message in errors.items():
            parsed.add_error(line, name, message, sku)
        if "sku" in values:
            key = values["sku"].casefold()
            first_line = seen.get(key)
            if first_line is None:
                seen[key] = line
            else:
                if key not in repeated:
                    repeated.add(key)
                    parsed.add_error(first_line, "sku", _('The SKU "%(sku)s" is given again on line %(other)d: '
                                                          "each SKU may appear once.") % {
                        "sku": sku, "other": line}, sku)
                parsed.add_error(line, "sku", _('The SKU "%(sku)s" is already given on line %(other)d: each SKU '
                                                "may appear once.") % {"sku": sku, "other": first_line}, sku)
        if not errors:
            parsed.rows.append(Row(line, values))
        if progress is not None and parsed.lines % BATCH == 0:
            progress("parse", parsed.lines, 0)
    parsed.errors.sort(key=lambda error: error.line)
    return parsed


# --- Planning and writing -------------------------------------------------------------------------------------


@dataclass
class Plan:
    parsed: Parsed
    create: list[tuple[int, Product]] = field(default_factory=list)
    update: list[tuple[int, Product, dict]] = field(default_factory=list)  # (line, product, {field: (old, new)})
    unchanged: int = 0

    def result(self, *, dry_run: bool, skip_bad: bool, preview: int = 0) -> ImportResult:
        parsed = self.parsed
        return ImportResult(
            lines=parsed.lines, created=len(self.create), updated=len(self.update), unchanged=self.unchanged,
            bad_lines=len(parsed.bad_lines), errors=sorted(parsed.errors, key=lambda error: error.line),
            error_count=parsed.error_count, dry_run=dry_run, skip_bad=skip_bad,
            new=self.create[:preview], changes=[(line, product.sku, changes)
                                                for line, product, changes in self.update[:preview]],
        )


def plan(parsed: Parsed, *, lock: bool) -> Plan:
    """What the good lines of ``parsed`` create, change or leave unchanged (``lock``: lock the matched products
    until the end of the caller's transaction)."""
    result = Plan(parsed)
    rows = [row for row in parsed.rows if row.line not in parsed.bad_lines]
    existing: dict[str, Product] = {}
    for start in range(0, len(rows), 500):
        products = Product.objects.filter(sku__in=[row.values["sku"] for row in rows[start:start + 500]])
        if lock:
            products = products.select_for_update()
        existing.update((product.sku, product) for product in products)
    folded: dict[str, str] | None = None
    for row in rows:
        values = row.values
        sku = values["sku"]
        product = existing.get(sku)
        if product is None:
            if folded is None:  # only when something is new: every SKU, to refuse differences of case only
                folded = {s.casefold(): s for s in Product.objects.values_list("sku", flat=True).iterator(5000)}
            other = folded.get(sku.casefold())
            if other is not None:
                parsed.add_error(row.line, "sku", _('The SKU "%(sku)s" differs only by upper or lower case from '
                                                    'the existing product "%(other)s": use "%(other)s" to change '
                                                    "it.") % {"sku": sku, "other": other}, sku)
                continue
            result.create.append((row.line, Product(**{**rules.PRODUCT_DEFAULTS, **values})))
            continue
        changes = {name: (getattr(product, name), value) for name, value in values.items()
                   if getattr(product, name) != value}
        qty = values.get("qty", product.qty)
        problem = rules.stock_problem(qty=qty, qty_reserved=product.qty_reserved,
                                      manage_stock=values.get("manage_stock", product.manage_stock))
        if problem:
            parsed.add_error(row.line, "qty", problem, sku)
        elif changes:
            result.update.append((row.line, product, changes))
        else:
            result.unchanged += 1
    return result


def apply(plan: Plan, *, actor: str, source: str, progress: Progress | None = None) -> None:
    """Write ``plan`` (inside the caller's transaction): new products, changed products, one change record each."""
    now = timezone.now()
    total = len(plan.create) + len(plan.update)
    done = 0
    source = source[:150]
    new = [product for _line, product in plan.create]
    updates = [(product, changes) for _line, product, changes in plan.update]
    try:
        for start in range(0, len(new), BATCH):
            chunk = new[start:start + BATCH]
            insert_new(chunk)
            insert_new([ProductChange(product_id=product.pk, at=now, actor=actor, source=source,
                                      action=ProductChange.Action.CREATED,
                                      changes={name: [None, _text(getattr(product, name))] for name in COLUMNS})
                        for product in chunk])
            done += len(chunk)
            if progress is not None:
                progress("write", done, total)
        for start in range(0, len(updates), BATCH):
            chunk = updates[start:start + BATCH]
            _update_rows([product for product, changes in chunk], [changes for product, changes in chunk], now)
            insert_new([ProductChange(product_id=product.pk, at=now, actor=actor, source=source,
                                      action=ProductChange.Action.UPDATED,
                                      changes={name: [_text(old), _text(value)] for name, (old, value)
                                               in changes.items()})
                        for product, changes in chunk])
            done += len(chunk)
            if progress is not None:
                progress("write", done, total)
    except IntegrityError:
        raise CsvFileError(_("Another change to the same products was saved during the import, so nothing was "
                             "written: import the file again."))
    skus = [product.sku for product in new] + [product.sku for product, _changes in updates]
    if skus:
        events.publish(events.PRODUCTS_AVAILABLE, {"skus": skus})


def _update_rows(products: list[Product], changes: list[dict], now) -> None:
    """One ``UPDATE`` statement run for every product (executemany), setting every merchant field."""
    meta = Product._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in (*COLUMNS, "updated_at")]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    statement = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = []
    for product, change in zip(products, changes, strict=True):
        for name, (_old, value) in change.items():
            setattr(product, name, value)
        product.updated_at = now
        params.append([f.get_db_prep_save(getattr(product, f.attname), connection=connection) for f in fields]
                      + [product.pk])
    with connection.cursor() as cursor:
        cursor.executemany(statement, params)


def _text(value) -> str | None:
    return None if value is None else str(value)


# --- Export ---------------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Keep spreadsheets from running a cell as a formula; the import reads the apostrophe back off."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _export_rows() -> Iterator[list]:
    yield list(COLUMNS)
    for sku, name, price, qty, enabled, manage_stock, is_in_stock in (
            Product.objects.order_by("sku").values_list(*COLUMNS).iterator(chunk_size=BATCH)):
        yield [_escape(sku), _escape(name), str(price), qty, int(enabled), int(manage_stock), int(is_in_stock)]


def export(out) -> int:
    """Write every product, by SKU, in the import's columns to the text stream ``out``; returns how many."""
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for row in _export_rows():
        writer.writerow(row)
        count += 1
    return count


class _Echo:
    def write(self, value):
        return value


def export_lines() -> Iterator[str]:
    """The export line by line, for a streamed download (never the whole file in memory)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    for row in _export_rows():
        yield writer.writerow(row)
