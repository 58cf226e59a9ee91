"""CSV files of SKU mappings of one Amazon store (the file rules of ``catalog.csvfile``: UTF-8 with or without a
BOM, at most 50 MB, comma, semicolon or tab separated, a header row naming the columns in any order).

    ==============  ========  ===========================================================================
    column          required  value
    ==============  ========  ===========================================================================
    seller_sku      yes       the Amazon seller SKU (at most 64 characters)
    product_sku     yes       the SKU of the Commerce product it is sold as (must exist)
    marketplace_id  no        one marketplace of the store (e.g. ATVPDKIKX0DER); empty: all of them
    ==============  ========  ===========================================================================

Lines are upserts by (marketplace, seller SKU): importing a file twice changes nothing. Every problem is reported
with its line and column (unknown product, unknown marketplace, a seller SKU given twice, a missing value), and
nothing is written when any line is bad. ``mapping_import`` runs in one transaction; the orders in Error that
waited for the mapped SKUs are retried.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction

from saleschannel.amazon.models import AmazonStore, SkuMapping
from saleschannel.amazon.waiting import retry_waiting_orders
from saleschannel.catalog import csvfile
from saleschannel.catalog.csvfile import CsvFileError, LineError
from saleschannel.catalog.models import Product
from saleschannel.catalog.services import actor_label
from saleschannel.core.i18n import gettext as _

COLUMNS = ("seller_sku", "product_sku", "marketplace_id")
REQUIRED = ("seller_sku", "product_sku")
CHUNK = 5_000
SELLER_SKU_MAX = SkuMapping._meta.get_field("seller_sku").max_length


@dataclass
class MappingImportResult:
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _delimiter(header: str) -> str:
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _rows(stream, size: int | None):
    if size is not None and size > csvfile.MAX_BYTES:
        raise CsvFileError(_("The file is larger than 50 MB: split it into smaller files."))
    lines = csvfile._lines(stream, size=size, progress=None)
    first = next(lines, None)
    if first is None or not first.strip():
        raise CsvFileError(_("The file needs a header row naming its columns (%(columns)s).") % {
            "columns": ", ".join(COLUMNS)}, line=1)

    def chained():
        yield first
        yield from lines

    reader = csv.reader(chained(), delimiter=_delimiter(first), strict=True)
    header = [name.strip().lower() for name in next(reader)]
    return header, reader


def mapping_import(*, store: AmazonStore, file, size: int | None = None, actor=None,
                   dry_run: bool = False) -> MappingImportResult:
    """Create or change the SKU mappings of ``store`` from a CSV file (see the module's docstring). Raises
    ``CsvFileError`` for a file that cannot be read at all; line problems are in the result's ``errors``."""
    result = MappingImportResult(dry_run=dry_run)
    header, reader = _rows(file, size)
    rows = reader
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        raise CsvFileError(_("The header row must name the columns %(columns)s (missing: %(missing)s; unknown: "
                             "%(unknown)s).") % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing) or "-",
                                                 "unknown": ", ".join(unknown) or "-"}, line=1)
    at = {name: index for index, name in enumerate(header)}
    wanted: dict[tuple[str, str], tuple[int, str]] = {}
    marketplaces = set(store.marketplace_ids or [])
    try:
        for cells in rows:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            result.lines += 1
            if len(cells) > len(header):
                result.errors.append(LineError(line, "", _("The line has more values than the header.")))
                continue
            cells += [""] * (len(header) - len(cells))
            seller_sku, product_sku = cells[at["seller_sku"]].strip(), cells[at["product_sku"]].strip()
            marketplace = cells[at["marketplace_id"]].strip() if "marketplace_id" in at else ""
            if not seller_sku or len(seller_sku) > SELLER_SKU_MAX:
                result.errors.append(LineError(line, "seller_sku", _("Enter the Amazon seller SKU (at most 64 "
                                                                    "characters)."), seller_sku))
            elif not product_sku:
                result.errors.append(LineError(line, "product_sku", _("Enter the product's SKU."), seller_sku))
            elif marketplace and marketplace not in marketplaces:
                result.errors.append(LineError(line, "marketplace_id", _(
                    "%(marketplace)s is not a marketplace of the Amazon store %(store)s.") % {
                    "marketplace": marketplace, "store": store.name}, seller_sku))
            elif (marketplace, seller_sku) in wanted:
                result.errors.append(LineError(line, "seller_sku", _("The seller SKU is also on line %(line)d.") % {
                    "line": wanted[(marketplace, seller_sku)][0]}, seller_sku))
            else:
                wanted[(marketplace, seller_sku)] = (line, product_sku)
    except csv.Error as error:
        raise CsvFileError(_("Line %(line)d: the CSV is malformed (%(error)s); check the quotes on that line.") % {
            "line": reader.line_num, "error": error}, line=reader.line_num)
    products: dict[str, Product] = {}
    skus = sorted({product_sku for _line, product_sku in wanted.values()})
    for start in range(0, len(skus), CHUNK):
        products.update(Product.objects.filter(sku__in=skus[start:start + CHUNK]).in_bulk(field_name="sku"))
    for (_marketplace, seller_sku), (line, product_sku) in wanted.items():
        if product_sku not in products:
            result.errors.append(LineError(line, "product_sku", _("No product has the SKU %(sku)s.") % {
                "sku": product_sku}, seller_sku))
    result.errors.sort(key=lambda error: error.line)
    if result.errors:
        return result
    with transaction.atomic():
        existing = {(m.marketplace_id, m.seller_sku): m for m in
                    SkuMapping.objects.select_for_update().filter(store=store)}
        new, changed = [], []
        who = actor_label(actor)
        for key, (_line, product_sku) in wanted.items():
            product = products[product_sku]
            mapping = existing.get(key)
            if mapping is None:
                new.append(SkuMapping(store=store, marketplace_id=key[0], seller_sku=key[1], product=product,
                                      created_by=who))
            elif mapping.product_id != product.pk:
                mapping.product = product
                changed.append(mapping)
            else:
                result.unchanged += 1
        result.created, result.updated = len(new), len(changed)
        if not dry_run:
            SkuMapping.objects.bulk_create(new, batch_size=CHUNK)
            SkuMapping.objects.bulk_update(changed, ["product"], batch_size=CHUNK)
            retry_waiting_orders(skus=[m.seller_sku for m in new + changed], store_ids=[store.pk])
    return result


def mapping_export_rows(store: AmazonStore) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for seller_sku, product_sku, marketplace in (SkuMapping.objects.filter(store=store).order_by(
            "seller_sku", "marketplace_id").values_list("seller_sku", "product__sku", "marketplace_id")
            .iterator(chunk_size=CHUNK)):
        yield [csvfile._escape(seller_sku), csvfile._escape(product_sku), marketplace]


class _Echo:
    def write(self, value):
        return value


def mapping_export_lines(store: AmazonStore) -> Iterator[str]:
    """The store's mappings as CSV, line by line (the import's columns)."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    for row in mapping_export_rows(store):
        yield writer.writerow(row)
