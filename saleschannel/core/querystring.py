"""Query strings for list screens, whose whole state (filters, sort, page) lives in the URL."""

from __future__ import annotations

from django.http import QueryDict


def query_string_with(params: QueryDict, **changes) -> str:
    """``params`` with ``changes`` applied, as ``?a=1&b=2`` (``?`` alone when empty).

    A value of None removes the key; a list or tuple sets every value of a multi-valued key. The page number is
    always dropped, since a changed filter or sort starts again from the first page.
    """
    params = params.copy()
    params.pop("page", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        elif isinstance(value, list | tuple):
            params.setlist(key, [str(v) for v in value])
        else:
            params[key] = str(value)
    return "?" + params.urlencode() if params else "?"
