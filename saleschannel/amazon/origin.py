"""Who caused a Commerce change: staff (tell Amazon) or Amazon itself (do not echo it back).

When the sync applies a change Amazon already knows about (shipped in Seller Central, canceled on Amazon), it ships,
cancels or refunds the Commerce order through the ordinary sales services; the channel hooks (``amazon/channel.py``)
must then neither veto it nor write an outbox message. They check ``is_applying_amazon_change()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

INBOUND_ACTOR = "Amazon sync"

_applying: ContextVar[bool] = ContextVar("amazon_applying_inbound_change", default=False)


@contextmanager
def applying_amazon_change() -> Iterator[None]:
    token = _applying.set(True)
    try:
        yield
    finally:
        _applying.reset(token)


def is_applying_amazon_change() -> bool:
    return _applying.get()
