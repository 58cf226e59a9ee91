"""Per-store document numbers: orders, invoices, shipments and credit memos (``US000000123``).

One counter row per store and kind (``DocumentSequence``), incremented with a single
``UPDATE ... SET last_value = last_value + 1 ... RETURNING last_value`` inside the caller's transaction (one
statement: the increment and the read cannot be separated). The updated row stays locked until
that transaction ends, so two transactions never read the same value; a transaction that rolls back leaves a gap,
which is allowed (DESIGN.md §2).

A number the sequence gives may already exist: a prefix used before (by this store or another one; prefixes are
unique among the stores today, not over time) or numbers written by hand. Such a collision is refused with
``DocumentNumberTaken``, a clear message, instead of an ``IntegrityError`` when the document is inserted: a single
document's number is checked against its table (one query); a batch of new orders (``orders_create_many``) finds
out when its insert fails, so that the usual case costs nothing. The counter's increment is rolled back with the
caller's transaction, so the refusal repeats until the prefix is changed.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.catalog.models import Store
from saleschannel.sales.errors import DocumentNumberTaken
from saleschannel.sales.models import CreditMemo, DocumentSequence, Invoice, Order, Shipment

KINDS = ("order", "invoice", "shipment", "creditmemo")
DIGITS = 9


def next_number(*, store: Store, kind: str) -> str:
    """The store's next number for ``kind``: its prefix, then the counter on nine digits.

    A store without ``order_number_prefix`` uses its id as prefix, so that two stores never produce the same
    number. Call it inside the transaction that stores the document.
    """
    return next_numbers(store=store, kind=kind, count=1)[0]


def next_numbers(*, store: Store, kind: str, count: int, check_taken: bool = True) -> list[str]:
    """The store's next ``count`` numbers for ``kind``, taken with one statement (a batch of new documents).

    Raises ``DocumentNumberTaken`` when one of them already exists (one query). ``check_taken=False`` leaves that to
    the caller, which must then catch the insert's ``IntegrityError`` and call ``refuse_taken_numbers``.
    """
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
    numbers = [f"{prefix}{value:0{DIGITS}d}" for value in range(last - count + 1, last + 1)]
    if check_taken:
        refuse_taken_numbers(store=store, kind=kind, numbers=numbers)
    return numbers


_MODELS = {"order": Order, "invoice": Invoice, "shipment": Shipment, "creditmemo": CreditMemo}
_KIND_LABELS = {"order": gettext_lazy("order"), "invoice": gettext_lazy("invoice"),
                "shipment": gettext_lazy("shipment"), "creditmemo": gettext_lazy("credit memo")}


def refuse_taken_numbers(*, store: Store, kind: str, numbers: list[str]) -> None:
    """Raise ``DocumentNumberTaken`` when a document of ``kind`` already has one of ``numbers``."""
    if not numbers:
        return
    taken = (_MODELS[kind].objects.filter(number__in=numbers).order_by("number")
             .values_list("number", flat=True).first())
    if taken is not None:
        raise DocumentNumberTaken(
            _('The next %(kind)s number of the store "%(store)s", %(number)s, is already used by another document '
              '(its order number prefix "%(prefix)s" was used before). Nothing was saved: give the store a prefix '
              "that was never used, in Settings > Stores, then try again.")
            % {"kind": str(_KIND_LABELS[kind]), "store": store.name, "number": taken,
               "prefix": store.order_number_prefix or store.pk},
            number=taken,
        )


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
