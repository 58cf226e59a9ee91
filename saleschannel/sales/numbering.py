"""Per-store document numbers: orders, invoices, shipments and credit memos (``US000000123``).

One counter row per store and kind (``DocumentSequence``), incremented with a single
``UPDATE ... SET last_value = last_value + 1 ... RETURNING last_value`` inside the caller's transaction (one
statement: the increment and the read cannot be separated). The updated row stays locked until
that transaction ends, so two transactions never read the same value; a transaction that rolls back leaves a gap,
which is allowed (DESIGN.md §2).
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from saleschannel.catalog.models import Store
from saleschannel.sales.models import DocumentSequence

KINDS = ("order", "invoice", "shipment", "creditmemo")
DIGITS = 9


def next_number(*, store: Store, kind: str) -> str:
    """The store's next number for ``kind``: its prefix, then the counter on nine digits.

    A store without ``order_number_prefix`` uses its id as prefix, so that two stores never produce the same
    number. Call it inside the transaction that stores the document.
    """
    return next_numbers(store=store, kind=kind, count=1)[0]


def next_numbers(*, store: Store, kind: str, count: int) -> list[str]:
    """The store's next ``count`` numbers for ``kind``, taken with one statement (a batch of new documents)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    if count < 1:
        return []
    last = _increment(store, kind, count)
    if last is None:
        try:
            with transaction.atomic():
                DocumentSequence.objects.create(store=store, kind=kind, last_value=count)
            last = count
        except IntegrityError:  # another transaction created it first: take the next values after theirs
            last = _increment(store, kind, count)
    prefix = store.order_number_prefix or str(store.pk)
    return [f"{prefix}{value:0{DIGITS}d}" for value in range(last - count + 1, last + 1)]


def _increment(store: Store, kind: str, count: int) -> int | None:
    """Add ``count`` to the counter and return its new value; None when the store has no counter for ``kind`` yet."""
    if not connection.features.can_return_rows_from_bulk_insert:  # no RETURNING (SQLite < 3.35): two statements
        sequences = DocumentSequence.objects.filter(store=store, kind=kind)
        if not sequences.update(last_value=F("last_value") + count):
            return None
        return sequences.values_list("last_value", flat=True).get()
    meta = DocumentSequence._meta
    quote = connection.ops.quote_name
    column = quote(meta.get_field("last_value").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {column} = {column} + %s "
            f"WHERE {quote(meta.get_field('store').column)} = %s AND {quote(meta.get_field('kind').column)} = %s "
            f"RETURNING {column}",
            [count, store.pk, kind],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]
