"""Response bodies: JSON written by pydantic's serializer (Rust) instead of the standard library's encoder.

On a page of 100 orders with their items the standard encoder, calling back into Python for every Decimal and
datetime (about 2,700 of them), took a quarter of the request's CPU time (bench/api_list.py). The output is the
same JSON but for two details, both documented in docs/api.md: date-times keep their microseconds (a sync client
can give an ``updated_at`` back as ``updated_since`` exactly), and non-ASCII text is written as UTF-8 rather than
``\\u`` escapes (the response says ``charset=utf-8``). Anything pydantic does not know (a lazy translation, an
enum) goes through ninja's encoder, as before.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from pydantic_core import to_json

_FALLBACK = NinjaJSONEncoder().default


class FastJSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return to_json(data, fallback=_FALLBACK)
