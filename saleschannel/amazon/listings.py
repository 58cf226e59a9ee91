"""Catalog onboarding from Amazon: the store's listings (``GET_MERCHANT_LISTINGS_ALL_DATA``) read through the
gateway, a preview saying what to do with each listing, and the chosen actions applied; SKU mappings.

* ``listings_fetch`` runs the report (createReport → getReport until finished → getReportDocument) for one
  marketplace of the store and parses its tab-separated text (decoded by the gateway per its charset).
* ``listings_preview`` proposes for each listing: ``link`` (a SKU mapping or a product with the same SKU sells it),
  ``create`` (no product yet) or ``ignore`` (a duplicate SKU, or a listing without a usable price).
  Reads the catalog in bulk (a few queries per 5,000 listings, never one per listing).
* ``listings_apply`` writes the chosen actions in one transaction: new products (name, price and quantity of the
  listing; FBA listings get no stock management: Amazon keeps their stock) and SKU mappings (``link`` to a product
  whose SKU differs). Then the orders in Error that waited for those SKUs are retried (``waiting.py``).
* ``sku_mapping_create/delete`` for the mapping screen and the CSV import (``mapping_csv.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from saleschannel.amazon.models import AmazonStore, SkuMapping
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.waiting import retry_waiting_orders
from saleschannel.catalog.models import Product, ProductChange
from saleschannel.catalog.rules import price_decimals
from saleschannel.catalog.services import actor_label
from saleschannel.core import events
from saleschannel.core.bulk import insert_new
from saleschannel.core.errors import DomainError
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
CHUNK = 5_000  # SKUs per query and rows per INSERT
SKU_MAX = Product._meta.get_field("sku").max_length
NAME_MAX = Product._meta.get_field("name").max_length
REQUIRED_COLUMNS = ("seller-sku", "item-name", "price")
PRICE_LIMIT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)

Progress = Callable[[str, int, int], None]


class ListingsError(DomainError):
    """The listings could not be read or applied; nothing was written."""


class Action(StrEnum):
    CREATE = "create"
    LINK = "link"
    IGNORE = "ignore"


@dataclass(slots=True)
class Listing:
    line: int
    seller_sku: str
    name: str
    price: Decimal | None
    quantity: int | None
    fba: bool
    status: str = ""

    def as_json(self) -> list:
        return [self.line, self.seller_sku, self.name, None if self.price is None else str(self.price),
                self.quantity, self.fba, self.status]

    @classmethod
    def from_json(cls, row: list) -> Listing:
        line, sku, name, price, quantity, fba, status = row
        return cls(line, sku, name, None if price is None else Decimal(price), quantity, bool(fba), status)


@dataclass(slots=True)
class PreviewRow:
    listing: Listing
    action: Action  # proposed
    product_sku: str = ""  # the product that sells it (link), when there is one
    mapped: bool = False  # through a SKU mapping
    differences: list[str] = field(default_factory=list)  # "price", "name" differing from the product's
    problem: str = ""  # why it cannot be created


@dataclass
class Preview:
    store: AmazonStore
    marketplace_id: str
    rows: list[PreviewRow]

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action.value: self.count(action) for action in Action}


@dataclass
class ApplySummary:
    created: int = 0
    mapped: int = 0
    linked: int = 0
    ignored: int = 0
    dry_run: bool = False


# --- Reading the report ---------------------------------------------------------------------------------------


def _marketplace(store: AmazonStore, marketplace_id: str | None) -> str:
    marketplaces = list(store.marketplace_ids or [])
    if not marketplace_id:
        if not marketplaces:
            raise ListingsError(_("The Amazon store %(store)s has no marketplace.") % {"store": store.name})
        return marketplaces[0]
    if marketplace_id not in marketplaces:
        raise ListingsError(_("%(marketplace)s is not a marketplace of the Amazon store %(store)s.") % {
            "marketplace": marketplace_id, "store": store.name})
    return marketplace_id


def listings_fetch(*, store: AmazonStore, marketplace_id: str | None = None, gateway: Gateway | None = None,
                   timeout: float = 3600.0) -> tuple[str, list[Listing]]:
    """The listings of one marketplace of ``store`` (its first by default): (marketplace id, listings).

    Raises ``ListingsError`` when Amazon refuses, the report fails (FATAL) or cannot be read. A report Amazon
    cancelled because it would be empty gives no listings. ``timeout``: how long to wait for the report (Amazon
    seconds)."""
    marketplace_id = _marketplace(store, marketplace_id)
    own = gateway is None
    gateway = gateway or Gateway.for_store(store)
    try:
        report = gateway.wait_for_report(gateway.create_report(report_type=LISTINGS_REPORT,
                                                               marketplace_ids=[marketplace_id]), timeout=timeout)
        if report.status == "CANCELLED":
            return marketplace_id, []
        if report.status != "DONE" or not report.document_id:
            raise ListingsError(_("Amazon could not produce the listings report (%(status)s): try again later.")
                                % {"status": report.status})
        text = gateway.get_report_document(report.document_id)
    except AmazonError as error:
        raise ListingsError(_("The listings could not be read from Amazon: %(error)s") % {"error": error.message})
    finally:
        if own:
            gateway.close()
    return marketplace_id, parse_listings(text)


def _price(text: str) -> Decimal | None:
    text = text.strip().replace(",", ".") if text.count(",") == 1 and "." not in text else text.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _quantity(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_listings(text: str) -> list[Listing]:
    """Listings from the report's text: a header row, then one tab-separated line per listing."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines:
        return []
    header = [name.strip().lower() for name in lines[0].split("\t")]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ListingsError(_("The listings report has no %(columns)s column: it cannot be read.") % {
            "columns": ", ".join(missing)})
    at = {name: index for index, name in enumerate(header)}
    sku_at, name_at, price_at = at["seller-sku"], at["item-name"], at["price"]
    qty_at, channel_at, status_at = at.get("quantity"), at.get("fulfillment-channel"), at.get("status")
    width = len(header)
    listings = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        channel = cells[channel_at].strip().upper() if channel_at is not None else ""
        listings.append(Listing(
            line=number, seller_sku=cells[sku_at].strip(), name=cells[name_at].strip(),
            price=_price(cells[price_at]), quantity=_quantity(cells[qty_at]) if qty_at is not None else None,
            fba=channel.startswith("AMAZON"), status=cells[status_at].strip() if status_at is not None else ""))
    return listings


# --- Preview --------------------------------------------------------------------------------------------------


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _lookup(store: AmazonStore, marketplace_id: str, skus: list[str]) -> tuple[dict, dict]:
    """({SKU: (name, price)} of products with these SKUs, {seller SKU: product SKU} of the store's mappings for
    this marketplace or all of them, this marketplace's first)."""
    products, mapped = {}, {}
    for chunk in _chunks(skus):
        products.update((sku, (name, price)) for sku, name, price in
                        Product.objects.filter(sku__in=chunk).values_list("sku", "name", "price"))
        rows = (SkuMapping.objects.filter(store=store, marketplace_id__in=["", marketplace_id], seller_sku__in=chunk)
                .order_by("marketplace_id").values_list("seller_sku", "marketplace_id", "product__sku"))
        for seller_sku, marketplace, product_sku in rows:
            if marketplace or seller_sku not in mapped:
                mapped[seller_sku] = product_sku
    return products, mapped


def listings_preview(*, store: AmazonStore, marketplace_id: str, listings: list[Listing]) -> Preview:
    """What to do with each listing (see the module's docstring); writes nothing."""
    products, mapped = _lookup(store, marketplace_id, list({listing.seller_sku for listing in listings}))
    rows, seen = [], set()
    for listing in listings:
        sku = listing.seller_sku
        if not sku or sku in seen:
            rows.append(PreviewRow(listing, Action.IGNORE, problem=_("Duplicate SKU in the report.") if sku
                                   else _("No seller SKU.")))
            continue
        seen.add(sku)
        if sku in mapped:
            rows.append(PreviewRow(listing, Action.LINK, product_sku=mapped[sku], mapped=True))
        elif sku in products:
            name, price = products[sku]
            differences = [label for label, differs in (
                ("name", listing.name and listing.name[:NAME_MAX] != name),
                ("price", listing.price is not None and listing.price != price)) if differs]
            rows.append(PreviewRow(listing, Action.LINK, product_sku=sku, differences=differences))
        else:
            problem = _creation_problem(listing)
            rows.append(PreviewRow(listing, Action.IGNORE if problem else Action.CREATE, problem=problem))
    return Preview(store=store, marketplace_id=marketplace_id, rows=rows)


def _creation_problem(listing: Listing) -> str:
    if len(listing.seller_sku) > SKU_MAX:
        return _("The SKU is longer than %(max)d characters.") % {"max": SKU_MAX}
    if listing.price is None or listing.price >= PRICE_LIMIT:
        return _("The listing has no valid price.")
    return ""


# --- Apply ----------------------------------------------------------------------------------------------------


def listings_apply(*, preview: Preview, choices: dict[str, tuple[str, str]] | None = None, actor=None,
                   dry_run: bool = False, progress: Progress | None = None) -> ApplySummary:
    """Apply the preview's actions, or ``choices`` ({seller SKU: (action, product SKU to link to)}) where given,
    in one transaction; nothing is written on error (``ListingsError``) or with ``dry_run``."""
    choices = choices or {}
    summary = ApplySummary(dry_run=dry_run)
    creating: list[Listing] = []
    linking: dict[str, str] = {}  # seller SKU → product SKU (a new mapping)
    chosen: set[str] = set()
    for row in preview.rows:
        action, target = row.action, row.product_sku
        sku = row.listing.seller_sku
        if sku in choices and sku not in chosen:  # a duplicate line keeps its "ignore"
            chosen.add(sku)
            action, target = choices[sku]
            if action not in set(Action):
                raise ListingsError(_("Unknown action %(action)s for %(sku)s.") % {"action": action, "sku": sku})
            action, target = Action(action), (target or "").strip() or row.product_sku
        if action == Action.CREATE:
            problem = row.problem or _creation_problem(row.listing)
            if row.product_sku:  # already sold by a product
                summary.linked += 1
            elif problem:
                raise ListingsError(_("%(sku)s cannot be created: %(problem)s") % {
                    "sku": row.listing.seller_sku, "problem": problem})
            else:
                creating.append(row.listing)
        elif action == Action.LINK:
            if not target:
                raise ListingsError(_("Choose the product to link %(sku)s to.") % {"sku": row.listing.seller_sku})
            if target != sku and not (row.mapped and target == row.product_sku):
                linking[sku] = target  # a new mapping (an equal SKU needs none)
            summary.linked += 1
        else:
            summary.ignored += 1
    with transaction.atomic():
        summary.created = _create_products(preview, creating, actor=actor, progress=progress)
        summary.mapped = _create_mappings(preview, linking, actor=actor)
        if dry_run:
            transaction.set_rollback(True)
        else:
            retry_waiting_orders(skus=[listing.seller_sku for listing in creating] + list(linking),
                                 store_ids=[preview.store.pk])
    return summary


def _create_products(preview: Preview, listings: list[Listing], *, actor, progress: Progress | None) -> int:
    if not listings:
        return 0
    decimals = price_decimals()
    quantum = Decimal(1).scaleb(-decimals)
    now = timezone.now()
    who = actor_label(actor)
    source = (_("Amazon listings of %(store)s") % {"store": preview.store.name})[:150]
    taken = set()
    for chunk in _chunks([listing.seller_sku for listing in listings]):
        taken |= set(Product.objects.filter(sku__in=chunk).values_list("sku", flat=True))
    if taken:
        raise ListingsError(_("Products were created meanwhile (%(skus)s): read the listings again.") % {
            "skus": ", ".join(sorted(taken)[:5])})
    done = 0
    try:
        for chunk in _chunks(listings):
            products = [Product(
                sku=listing.seller_sku, name=(listing.name or listing.seller_sku)[:NAME_MAX],
                price=listing.price.quantize(quantum), qty=0 if listing.fba else (listing.quantity or 0),
                manage_stock=not listing.fba, is_in_stock=True, enabled=True, created_at=now, updated_at=now)
                for listing in chunk]
            insert_new(products)
            insert_new([ProductChange(
                product_id=product.pk, at=now, actor=who, source=source, action=ProductChange.Action.CREATED,
                changes={"sku": [None, product.sku], "name": [None, product.name], "price": [None, str(product.price)],
                         "qty": [None, str(product.qty)], "manage_stock": [None, str(product.manage_stock)]})
                for product in products])
            done += len(chunk)
            if progress is not None:
                progress("write", done, len(listings))
    except IntegrityError:
        raise ListingsError(_("Products were created meanwhile: read the listings again."))
    events.publish(events.PRODUCTS_AVAILABLE, {"skus": [listing.seller_sku for listing in listings]})
    return done


def _create_mappings(preview: Preview, linking: dict[str, str], *, actor) -> int:
    if not linking:
        return 0
    products = {}
    for chunk in _chunks(list(set(linking.values()))):
        products.update(Product.objects.filter(sku__in=chunk).in_bulk(field_name="sku"))
    unknown = sorted(set(linking.values()) - set(products))
    if unknown:
        raise ListingsError(_("No product has the SKU %(sku)s.") % {"sku": ", ".join(unknown[:5])})
    for chunk in _chunks(list(linking)):
        SkuMapping.objects.filter(store=preview.store, marketplace_id="", seller_sku__in=chunk).delete()
    who = actor_label(actor)
    SkuMapping.objects.bulk_create([
        SkuMapping(store=preview.store, marketplace_id="", seller_sku=seller_sku, product=products[product_sku],
                   created_by=who)
        for seller_sku, product_sku in linking.items()], batch_size=CHUNK)
    return len(linking)


# --- SKU mappings ---------------------------------------------------------------------------------------------


def sku_mapping_create(*, store: AmazonStore, seller_sku: str, product_sku: str, marketplace_id: str = "",
                       actor=None) -> SkuMapping:
    """Sell the Amazon seller SKU ``seller_sku`` of ``store`` as the product ``product_sku`` (replacing an existing
    mapping of that SKU); its orders in Error are retried. Raises ``ListingsError``."""
    seller_sku, product_sku, marketplace_id = seller_sku.strip(), product_sku.strip(), marketplace_id.strip()
    if not seller_sku or len(seller_sku) > SkuMapping._meta.get_field("seller_sku").max_length:
        raise ListingsError(_("Enter the Amazon seller SKU (at most 64 characters)."), field="seller_sku")
    if marketplace_id and marketplace_id not in (store.marketplace_ids or []):
        raise ListingsError(_("%(marketplace)s is not a marketplace of the Amazon store %(store)s.") % {
            "marketplace": marketplace_id, "store": store.name}, field="marketplace_id")
    product = Product.objects.filter(sku=product_sku).first()
    if product is None:
        raise ListingsError(_("No product has the SKU %(sku)s.") % {"sku": product_sku}, field="product_sku")
    with transaction.atomic():
        mapping, _created = SkuMapping.objects.update_or_create(
            store=store, marketplace_id=marketplace_id, seller_sku=seller_sku,
            defaults={"product": product, "created_by": actor_label(actor)})
        retry_waiting_orders(skus=[seller_sku], store_ids=[store.pk])
    return mapping


def sku_mapping_delete(*, mapping: SkuMapping) -> None:
    with transaction.atomic():
        mapping.delete()
