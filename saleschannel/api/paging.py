"""Cursor pages shared by the list endpoints.

Two kinds of cursor, both opaque to clients:

* by change (``updated_at``, then ``id``): lists a sync client follows (orders, Amazon orders); the cursor is
  ``orders.encode_cursor``'s;
* by id: lists of rows that are only added (documents, outbox messages, products).
"""

from __future__ import annotations

import base64
import binascii

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from saleschannel.api.errors import ApiProblem
from saleschannel.api.orders import decode_cursor, encode_cursor
from saleschannel.sales.ids import parse_id


def encode_pk(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def decode_pk(cursor: str) -> int:
    """The id a by-id cursor names; ApiProblem(400) for anything else."""
    try:
        pk = parse_id(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii"))
    except (ValueError, binascii.Error):
        pk = None
    if pk is None:
        raise ApiProblem(400, _("This cursor is not valid: give the next_cursor of a previous page."),
                         field="cursor")
    return pk


def page_by_pk(rows: QuerySet, *, cursor: str, limit: int) -> tuple[list, str | None]:
    """One page of ``rows`` (ordered by id) after ``cursor``, and the cursor of the next page (None: the last)."""
    if cursor:
        rows = rows.filter(pk__gt=decode_pk(cursor))
    page = list(rows[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, encode_pk(page[-1].pk) if more else None


def page_by_change(rows: QuerySet, *, cursor: str, limit: int) -> tuple[list, str | None]:
    """One page of ``rows`` (ordered by ``updated_at``, ``id``) after ``cursor``, and the next page's cursor."""
    if cursor:
        moment, pk = decode_cursor(cursor)
        rows = rows.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
    page = list(rows[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, encode_cursor(page[-1]) if more else None
