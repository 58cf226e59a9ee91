"""Primary keys read from URLs, forms and service arguments.

An id is a positive whole number within a bigint (the primary key columns), written with ASCII digits. Python's
``int()`` also reads Arabic-Indic ("٣") or fullwidth ("３") digits, and a number above 2**63 - 1 makes the database
driver fail ("Python int too large to convert to SQLite INTEGER"): both must stop at the door as a 400 or a 404.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # the largest primary key a bigint column holds (SQLite's INTEGER, PostgreSQL's bigint)
_ID = re.compile(r"[1-9][0-9]{0,18}")  # ASCII digits only: int() would also take "٣" or fullwidth "３"


def parse_id(value) -> int | None:
    """``value`` (from a URL or a form) as a primary key, or None when it cannot be one.

    A primary key is a positive whole number within a bigint, written with ASCII digits. Anything else (text,
    "0", "-1", "2**63", Arabic-Indic or fullwidth digits) is None, so that callers answer 400 or 404 instead of
    passing it to the database, which fails on an integer that does not fit ("Python int too large").
    """
    text = value if isinstance(value, str) else str(value)
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
