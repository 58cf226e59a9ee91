"""Stock: reserve, release, consume and return product quantities.

Stock never goes negative by accident, even when several processes sell the last unit at the same moment: every
change is one conditional ``UPDATE`` (``... WHERE qty - qty_reserved >= n``) evaluated by the database, and an
``UPDATE`` that matches no row means "not enough stock". PostgreSQL re-checks the condition after waiting for a
concurrent writer's lock; SQLite runs one writer at a time. The CHECK constraints on ``Product`` back this up.

Products whose stock is not managed (``manage_stock=False``) are never limited: reserving, consuming and returning
them changes nothing.

A reservation belongs to a ``reference`` string naming its holder (``sales.order:42``, ``amazon.order:…``), so that
the catalog does not depend on the apps that reserve. The ``*_many`` functions change several products in one
statement each; the single-product functions are thin wrappers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import BinaryIO, TextIO

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from saleschannel.catalog import csvfile, rules
from saleschannel.catalog.models import Product, ProductChange, StockReservation, Store
from saleschannel.catalog.rules import SALABLE_FIELDS, order_number_prefix_problem
from saleschannel.core import events
from saleschannel.core.bulk import insert_new
from saleschannel.core.errors import DomainError


class StockError(Exception):
    """Not enough salable stock (or a product that cannot be sold). ``message`` is written for people."""

    def __init__(self, message: str, *, product: Product | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.product = product

    def __str__(self) -> str:
        return self.message


# --- Salability ------------------------------------------------------------------------------------------------


def product_unsalable_reason(product: Product | None, *, sku: str = "", qty: int = 1) -> str | None:
    """Why ``qty`` units of ``product`` cannot be sold now (missing, disabled, out of stock), or None if they can.

    ``sku`` names the product in the message when it does not exist.
    """
    if product is None:
        return _('Product "%(sku)s" does not exist.') % {"sku": sku}
    if not product.enabled:
        return _('Product "%(sku)s" is disabled.') % {"sku": product.sku}
    if not product.is_in_stock:
        return _('Product "%(sku)s" is out of stock.') % {"sku": product.sku}
    if product.manage_stock and product.salable_qty < qty:
        return _('Product "%(sku)s" is out of stock: %(available)d available, %(wanted)d wanted.') % {
            "sku": product.sku,
            "available": product.salable_qty,
            "wanted": qty,
        }
    return None


def product_is_salable(product: Product | None, *, qty: int = 1) -> bool:
    return product_unsalable_reason(product, qty=qty) is None


# --- Reservations ----------------------------------------------------------------------------------------------


def _managed(quantities: Mapping[Product, int]) -> dict[Product, int]:
    """Positive quantities of products whose stock is managed, summed per product."""
    by_pk: dict[int, tuple[Product, int]] = {}
    for product, qty in quantities.items():
        if qty < 0:
            raise ValueError("stock quantities must not be negative")
        if qty and product.manage_stock:
            previous = by_pk.get(product.pk, (product, 0))[1]
            by_pk[product.pk] = (product, previous + qty)
    return dict(by_pk.values())


def _lock_in_order(product_ids) -> None:
    """Lock several product rows in id order first, so that two transactions changing the same products cannot
    deadlock each other (PostgreSQL; SQLite has one writer at a time)."""
    if len(product_ids) > 1 and connection.features.has_select_for_update:
        list(Product.objects.select_for_update().filter(pk__in=list(product_ids)).order_by("pk").values_list("pk"))


def _case(quantities: dict[int, int], field: str):
    """``field ± n`` per product id, as one CASE expression (positive n adds)."""
    return Case(
        *[When(pk=pk, then=F(field) + Value(n)) for pk, n in quantities.items()],
        default=F(field),
        output_field=IntegerField(),
    )


def stock_reserve_many(*, quantities: Mapping[Product, int], reference: str, new_reference: bool = False) -> None:
    """Hold ``quantities`` ({product: qty}) for ``reference``; all or nothing.

    ``new_reference`` says the holder has no reservation yet (a new order), which saves a query.

    Raises ``StockError`` naming the first product short of stock; nothing is changed then.
    """
    if new_reference:
        stock_reserve_new(holds=[(reference, quantities)])
        return
    wanted = {product.pk: qty for product, qty in _managed(quantities).items()}
    if not wanted:
        return
    products = {product.pk: product for product in quantities}
    with transaction.atomic():
        _lock_in_order(wanted)
        if _reserve_statement(wanted) != len(wanted):
            _raise_short(wanted, products)  # raising rolls the update back
        existing = {
            r.product_id: r
            for r in StockReservation.objects.filter(reference=reference, product_id__in=wanted)
        }
        to_update = []
        for pk, qty in wanted.items():
            if pk in existing:
                existing[pk].qty += qty
                to_update.append(existing[pk])
        if to_update:
            StockReservation.objects.bulk_update(to_update, ["qty"])
        new = [StockReservation(product_id=pk, reference=reference, qty=qty)
               for pk, qty in wanted.items() if pk not in existing]
        if new:
            StockReservation.objects.bulk_create(new)


def stock_reserve_new(*, holds: list[tuple[str, Mapping[Product, int]]]) -> None:
    """Hold stock for several holders that have no reservation yet (a batch of new orders); all or nothing.

    ``holds``: ``[(reference, {product: qty}), ...]``. One conditional ``UPDATE`` reserves the batch's total per
    product and one ``INSERT`` writes every reservation, whatever the number of holders.

    Raises ``StockError`` naming a product short of stock for the batch as a whole; nothing is changed then (the
    caller may retry holder by holder to find out which ones can still be served).
    """
    rows: list[StockReservation] = []
    totals: dict[int, int] = {}
    products: dict[int, Product] = {}
    for reference, quantities in holds:
        for product, qty in _managed(quantities).items():
            rows.append(StockReservation(product_id=product.pk, reference=reference, qty=qty))
            totals[product.pk] = totals.get(product.pk, 0) + qty
            products[product.pk] = product
    if not totals:
        return
    with transaction.atomic():
        _lock_in_order(totals)
        if _reserve_statement(totals) != len(totals):
            _raise_short(totals, products)
        insert_new(rows)


def _raise_short(wanted: dict[int, int], products: dict[int, Product]) -> None:
    """Raise the ``StockError`` for the first product short of ``wanted`` (read fresh; the caller rolls back)."""
    fresh = {p.pk: p for p in Product.objects.filter(pk__in=wanted)}
    for pk, qty in wanted.items():
        product = fresh.get(pk)
        if product is None or product.qty - product.qty_reserved < qty:
            raise StockError(
                product_unsalable_reason(product, sku=products[pk].sku, qty=qty)
                or _('Product "%(sku)s" is out of stock.') % {"sku": products[pk].sku},
                product=product,
            )
    raise StockError(_("Not enough stock."))


def _reserve_statement(wanted: dict[int, int]) -> int:
    """One ``UPDATE`` for every product; each row only matches while it still has enough salable units.

    Written in SQL because building the same statement through the ORM's ``Q``/``Case`` expressions costs about
    seventy times what the database needs to run it, on the hot path of every order placed or imported.
    Returns the number of rows updated.
    """
    meta = Product._meta
    quote = connection.ops.quote_name
    pk, qty, reserved, managed = (quote(meta.get_field(name).column)
                                  for name in ("id", "qty", "qty_reserved", "manage_stock"))
    cases = " ".join(f"WHEN {pk} = %s THEN {reserved} + %s" for _pk in wanted)
    conditions = " OR ".join(f"({pk} = %s AND {qty} >= {reserved} + %s)" for _pk in wanted)
    pairs = [value for item in wanted.items() for value in item]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {reserved} = CASE {cases} ELSE {reserved} END "
            f"WHERE {managed} = %s AND ({conditions})",
            [*pairs, True, *pairs],
        )
        return cursor.rowcount


def stock_reserve(*, product: Product, qty: int, reference: str) -> None:
    """Hold ``qty`` units of ``product`` for ``reference``; ``StockError`` when they are not available."""
    stock_reserve_many(quantities={product: qty}, reference=reference)


def stock_reservations(*, reference: str) -> dict[int, int]:
    """{product id: reserved qty} held by ``reference``."""
    return dict(StockReservation.objects.filter(reference=reference).values_list("product_id", "qty"))


def _reduce_reservations(reference: str, amounts: dict[int, int] | None) -> dict[int, int]:
    """Lower ``reference``'s reservations by ``amounts`` ({product id: qty}; None = all of them).

    Never lowers a reservation below zero. Returns {product id: qty actually released}.
    """
    queryset = StockReservation.objects.select_for_update().filter(reference=reference)
    if amounts is not None:
        queryset = queryset.filter(product_id__in=[pk for pk, n in amounts.items() if n > 0])
    reservations = list(queryset)
    released: dict[int, int] = {}
    to_delete, to_update = [], []
    for reservation in reservations:
        n = reservation.qty if amounts is None else min(amounts.get(reservation.product_id, 0), reservation.qty)
        if n <= 0:
            continue
        released[reservation.product_id] = n
        reservation.qty -= n
        (to_update if reservation.qty else to_delete).append(reservation)
    if to_delete:
        StockReservation.objects.filter(pk__in=[r.pk for r in to_delete]).delete()
    if to_update:
        StockReservation.objects.bulk_update(to_update, ["qty"])
    return released


def stock_release(*, reference: str, product: Product | None = None, qty: int | None = None) -> int:
    """Give back what ``reference`` holds (of ``product`` only, and at most ``qty`` units, when given).

    Returns the number of units released. Releasing what is not held is not an error (it is idempotent).
    """
    with transaction.atomic():
        if product is None:
            released = _reduce_reservations(reference, None)
        else:
            released = _reduce_reservations(reference, {product.pk: qty if qty is not None else 2**31 - 1})
        if released:
            _lock_in_order(released)
            Product.objects.filter(pk__in=released).update(qty_reserved=_case(_negate(released), "qty_reserved"))
    return sum(released.values())


def stock_release_many(*, reference: str, quantities: Mapping[int, int]) -> dict[int, int]:
    """Release up to ``quantities`` ({product id: qty}) of ``reference``'s reservations; returns what was released."""
    with transaction.atomic():
        released = _reduce_reservations(reference, dict(quantities))
        if released:
            _lock_in_order(released)
            Product.objects.filter(pk__in=released).update(qty_reserved=_case(_negate(released), "qty_reserved"))
    return released


def stock_consume_many(*, quantities: Mapping[int, int], reference: str) -> dict[int, int]:
    """Units leave the warehouse (a shipment): stock and ``reference``'s reservation go down together.

    ``quantities`` is {product id: qty}; only units reserved by ``reference`` are consumed, so orders that never
    reserved (Amazon-fulfilled orders) do not touch the stock. Returns {product id: qty consumed}.
    """
    with transaction.atomic():
        consumed = _reduce_reservations(reference, dict(quantities))
        if consumed:
            _lock_in_order(consumed)
            minus = _negate(consumed)
            Product.objects.filter(pk__in=consumed).update(
                qty=_case(minus, "qty"), qty_reserved=_case(minus, "qty_reserved")
            )
    return consumed


def stock_consume(*, product: Product, qty: int, reference: str) -> int:
    """Ship ``qty`` units of ``product`` reserved by ``reference``; returns how many were consumed."""
    if not product.manage_stock:
        return 0
    return stock_consume_many(quantities={product.pk: qty}, reference=reference).get(product.pk, 0)


def stock_return_many(*, quantities: Mapping[Product, int]) -> None:
    """Units come back to the shelf (credit memo with "return to stock")."""
    added = {product.pk: qty for product, qty in _managed(quantities).items()}
    if added:
        with transaction.atomic():
            _lock_in_order(added)
            Product.objects.filter(pk__in=added).update(qty=_case(added, "qty"))


def stock_return(*, product: Product, qty: int) -> None:
    stock_return_many(quantities={product: qty})


def _negate(quantities: dict[int, int]) -> dict[int, int]:
    return {pk: -n for pk, n in quantities.items()}


# --- Commerce stores ---------------------------------------------------------------------------------------------


class StoreError(DomainError):
    """A refused change of a Commerce store (a bad or already used order-number prefix ...)."""


_STORE_FIELDS = ("code", "name", "currency", "locale", "order_number_prefix", "is_active")


def store_create(*, code: str, name: str, currency: str = "USD", locale: str = "en", order_number_prefix: str,
                 is_active: bool = True) -> Store:
    """A new Commerce store. Raises ``StoreError`` (nothing written) for a bad or already used prefix."""
    return _store_write(Store(), code=code, name=name, currency=currency, locale=locale,
                        order_number_prefix=order_number_prefix, is_active=is_active)


def store_update(*, store: Store, **changes) -> Store:
    """Change some of ``code``, ``name``, ``currency``, ``locale``, ``order_number_prefix``, ``is_active``.

    Changing the prefix only affects numbers allocated from now on. Raises ``StoreError`` (nothing written).
    """
    unknown = set(changes) - set(_STORE_FIELDS)
    if unknown:
        raise TypeError(f"store_update() got unexpected fields {sorted(unknown)}")
    return _store_write(store, **changes)


def _store_write(store: Store, **values) -> Store:
    with transaction.atomic():
        if store.pk is not None:
            store = Store.objects.select_for_update().get(pk=store.pk)
        if "order_number_prefix" in values:
            prefix = values["order_number_prefix"]
            problem = order_number_prefix_problem(prefix, store=store)
            if problem:
                raise StoreError(problem, field="order_number_prefix")
        for name, value in values.items():
            setattr(store, name, value)
        try:
            store.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise StoreError(messages[0], field="" if field == NON_FIELD_ERRORS else field)
        try:
            with transaction.atomic():
                store.save()
        except IntegrityError:  # the same code or prefix saved a moment ago by someone else
            problem = order_number_prefix_problem(store.order_number_prefix, store=store)
            if problem:
                raise StoreError(problem, field="order_number_prefix")
            raise StoreError(_('The store code "%(code)s" is already used.') % {"code": store.code}, field="code")
    return store


# --- Products ----------------------------------------------------------------------------------------------------
#
# Every change a merchant makes to a product goes through these services (screens, commands, the CSV import): one
# transaction each, validated by ``catalog.rules`` and recorded as a ``ProductChange`` (who, when, before/after).
# ``actor`` is the user who acted, or a label ("cli:alice"); ``source`` says where the change came from when it
# is not a screen (the CSV file's name ...).

SYSTEM_ACTOR = "system"


class ProductError(DomainError):
    """A refused change of a product. ``errors`` holds every problem found ({field: message}); ``message`` and
    ``field`` are the first of them."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = dict(errors)


def actor_label(actor) -> str:
    """Who acted, as recorded: a user's username, a label as given, or "system"."""
    if actor is None:
        return SYSTEM_ACTOR
    if isinstance(actor, str):
        return actor.strip()[:150] or SYSTEM_ACTOR
    return (getattr(actor, "get_username", lambda: "")() or str(actor))[:150]


def product_create(*, sku: str, name: str, price, qty=0, enabled=True, manage_stock=True, is_in_stock=True,
                   actor=None, source: str = "") -> Product:
    """A new product. Raises ``ProductError`` (nothing written) when a value breaks ``catalog.rules``."""
    values = {"sku": sku, "name": name, "price": price, "qty": qty, "enabled": enabled,
              "manage_stock": manage_stock, "is_in_stock": is_in_stock}
    return _product_write(None, values, actor=actor, action=ProductChange.Action.CREATED, source=source)


def product_update(*, product: Product, actor=None, source: str = "", **changes) -> Product:
    """Change some of ``sku``, ``name``, ``price``, ``qty``, ``enabled``, ``manage_stock``, ``is_in_stock``.

    Only what differs is written and recorded. Raises ``ProductError`` (nothing written).
    """
    unknown = set(changes) - set(rules.PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"product_update() got unexpected fields {sorted(unknown)}")
    return _product_write(product, changes, actor=actor, action=ProductChange.Action.UPDATED, source=source)


def product_disable(*, product: Product, actor=None) -> Product:
    """Stop selling ``product``: orders for it are refused (Amazon orders stop in Error). Reservations stay."""
    return _product_write(product, {"enabled": False}, actor=actor, action=ProductChange.Action.DISABLED)


def product_enable(*, product: Product, actor=None) -> Product:
    return _product_write(product, {"enabled": True}, actor=actor, action=ProductChange.Action.ENABLED)


def product_stock_set(*, product: Product, qty, is_in_stock=None, actor=None) -> Product:
    """Set the units physically in stock (never below what is reserved when stock is managed) and, when given,
    the stock status."""
    values = {"qty": qty}
    if is_in_stock is not None:
        values["is_in_stock"] = is_in_stock
    return _product_write(product, values, actor=actor, action=ProductChange.Action.STOCK)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _product_write(product: Product | None, values: dict, *, actor, action: str, source: str = "") -> Product:
    with transaction.atomic():
        if product is not None:
            product = Product.objects.select_for_update().get(pk=product.pk)
        cleaned, errors = rules.clean_product_fields(values, decimals=rules.price_decimals())
        if "sku" in cleaned:
            other = rules.sku_taken_by(cleaned["sku"], product=product)
            if other is not None:
                errors["sku"] = rules.sku_taken_message(cleaned["sku"], other)
        if errors:
            raise ProductError(errors)
        before = {} if product is None else {field: getattr(product, field) for field in rules.PRODUCT_FIELDS}
        after = {**before, **cleaned}
        problem = rules.stock_problem(qty=after["qty"], qty_reserved=product.qty_reserved if product else 0,
                                      manage_stock=after["manage_stock"])
        if problem:
            raise ProductError({"qty": problem})
        changed = [field for field in rules.PRODUCT_FIELDS if field in cleaned
                   and (product is None or before[field] != cleaned[field])]
        if product is not None and not changed:
            return product
        target = product or Product()
        for field in changed:
            setattr(target, field, cleaned[field])
        try:
            with transaction.atomic():
                if product is None:
                    target.save()
                else:
                    target.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:  # the same SKU saved a moment ago by someone else
            raise ProductError({"sku": _('The SKU "%(sku)s" is already used by another product.') % {
                "sku": target.sku}})
        ProductChange.objects.create(
            product=target, at=timezone.now(), actor=actor_label(actor), action=action, source=source[:150],
            changes={field: [_text(before.get(field)), _text(cleaned[field])] for field in changed},
        )
        if target.enabled and (product is None or SALABLE_FIELDS.intersection(changed)):
            events.publish(events.PRODUCTS_AVAILABLE, {"skus": [target.sku]})
    return target


# --- CSV import and export -----------------------------------------------------------------------------------


def product_import(*, file: BinaryIO, name: str = "", size: int | None = None, actor=None, dry_run: bool = False,
                   skip_bad: bool = False, progress: Callable[[str, int, int], None] | None = None,
                   preview: int = 100) -> csvfile.ImportResult:
    """Create or update products from a CSV file (``catalog.csvfile`` documents the columns), by SKU.

    One transaction: when any line is bad nothing is written, unless ``skip_bad`` (the good lines are written and
    the bad ones reported). ``dry_run`` writes nothing and reports what would happen (the result lists the first
    ``preview`` new and changed products). Importing the same file
    again changes nothing. Raises ``csvfile.CsvFileError`` for a file that cannot be read at all (too large, not
    UTF-8, no usable header row); line problems are in the result's ``errors``.
    """
    parsed = csvfile.parse(file, size=size, decimals=rules.price_decimals(), progress=progress)
    with transaction.atomic():
        plan = csvfile.plan(parsed, lock=not dry_run)
        result = plan.result(dry_run=dry_run, skip_bad=skip_bad, preview=preview)
        if result.written:
            csvfile.apply(plan, actor=actor_label(actor), source=_("CSV import %(name)s") % {"name": name}
                          if name else _("CSV import"), progress=progress)
    return result


def product_export(*, out: TextIO) -> int:
    """Write every product as CSV (the import's columns) to ``out``; returns the number of products."""
    return csvfile.export(out)
