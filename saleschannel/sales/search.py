"""The order grid's "contains" search for one word, served by an index on every database we support.

On PostgreSQL the ``icontains`` conditions below are answered by trigram GIN indexes (migration 0003). SQLite has
no such index type: there a word of three characters or more is looked up in ``sales_order_search``, an FTS5 table
with the trigram tokenizer over the same five columns, kept in step by triggers (migration 0006). Both find the
orders where the word is part of one of the columns, whatever its case; FTS5 also folds the case of non-ASCII
letters ("ÉLODIE" finds "élodie"), which SQLite's ``LIKE`` does not.

Two cases keep the ``icontains`` scan on SQLite. A trigram index cannot look up fewer than three characters. And a
word in a large share of the orders ("example", ".com"): fetching hundreds of thousands of orders by id to count
and sort them costs more than one pass over the table, whose page query also stops after the first few rows. One
cheap query (a few ms, it stops at ``FTS_MAX_MATCHES``) tells which case a word is.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

SEARCH_COLUMNS = ("number", "external_order_number", "customer_email", "customer_first_name", "customer_last_name")
FTS_TABLE = "sales_order_search"
FTS_MIN_LENGTH = 3  # the trigram tokenizer matches nothing shorter
# Above this many matching orders the scan is cheaper (1,000,000 orders on SQLite: 116,000 matches cost 155 ms
# through the index against 290 ms scanning; 1,000,000 matches 560-820 ms against 200-270 ms).
FTS_MAX_MATCHES = 200_000

_FTS_IDS = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
_FTS_COUNT_UP_TO = f"SELECT COUNT(*) FROM ({_FTS_IDS} LIMIT %s)"


def fts_phrase(word: str) -> str:
    """``word`` as an FTS5 string: a phrase matched literally, whatever it contains (quotes, parentheses, ``*``,
    ``:``, ``^``, ``NEAR``, ``AND``...)."""
    return '"' + word.replace('"', '""') + '"'


def icontains_condition(word: str) -> Q:
    """The same condition as a scan: what PostgreSQL's trigram indexes serve, SQLite's for short or common words."""
    condition = Q()
    for column in SEARCH_COLUMNS:
        condition |= Q(**{f"{column}__icontains": word})
    return condition


def contains_condition(word: str) -> Q:
    """Orders of which ``word`` is part of the number, external (Amazon) order number, customer email, first name
    or last name, ignoring case."""
    if connection.vendor == "sqlite" and len(word) >= FTS_MIN_LENGTH:
        phrase = fts_phrase(word)
        with connection.cursor() as cursor:
            cursor.execute(_FTS_COUNT_UP_TO, [phrase, FTS_MAX_MATCHES + 1])
            (matches,) = cursor.fetchone()
        if matches <= FTS_MAX_MATCHES:
            return Q(pk__in=RawSQL(_FTS_IDS, [phrase]))  # noqa: S611 - constant SQL, the word is a parameter
    return icontains_condition(word)
