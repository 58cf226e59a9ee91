"""Times of the sandbox: integer epoch milliseconds inside, ISO 8601 UTC on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int | None) -> str | None:
    """Amazon's shape: whole seconds, ``Z`` (floored, so a filter ``>= shown time`` always finds the order)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> int:
    """Parse an ISO 8601 date-time (``Z`` or an offset; a naive value counts as UTC) into epoch ms.

    Raises ValueError for anything else.
    """
    text = value.strip()
    if not text or text[0] not in "0123456789":
        raise ValueError(value)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
