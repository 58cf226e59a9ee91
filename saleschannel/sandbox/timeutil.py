"""Times of the sandbox: integer epoch milliseconds inside, ISO 8601 UTC on the wire.

The sandbox's clock is real time plus an offset: ``advance_ms`` (``POST /_sandbox/clock``) moves it forward, so a
test makes "two minutes later" happen at once instead of sleeping; ``reset_clock`` (part of ``POST /_sandbox/reset``,
which forgets the orders, feeds and reports stamped with the moved clock) returns to real time. Every "now" of the
sandbox (orders, tokens, feeds, reports, notifications, pre-signed URLs) reads ``now_ms``; the rate limiter's
buckets refill by monotonic time plus the offset; only the order stream (``stream_per_minute``) stays on real time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

_offset_ms = 0
_offset_lock = threading.Lock()


def now_ms() -> int:
    return int(time.time() * 1000) + _offset_ms


def offset_ms() -> int:
    """How far the sandbox's clock is ahead of real time."""
    return _offset_ms


def advance_ms(milliseconds: int) -> int:
    """Move the sandbox's clock forward (never back: stored times must not lie in the future); returns the offset."""
    global _offset_ms
    if milliseconds < 0:
        raise ValueError("the sandbox's clock only moves forward")
    with _offset_lock:
        _offset_ms += int(milliseconds)
        return _offset_ms


def reset_clock() -> None:
    """Back to real time (only with the data stamped meanwhile forgotten: ``Sandbox.reset``)."""
    global _offset_ms
    with _offset_lock:
        _offset_ms = 0


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
