"""The admin-wide notices area: banners shown at the top of every back-office page.

Other apps register a callable ``fn(request) -> list[Notice]`` with ``register(fn)`` (the Amazon channel shows
"Your Amazon store(s) has orders that cannot be imported…" this way). A failing provider never breaks the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    message: str
    level: str = "warning"  # info, warning, error
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)


NoticeProvider = Callable[[object], list[Notice]]
_providers: list[NoticeProvider] = []


def register(provider: NoticeProvider) -> NoticeProvider:
    """Register ``provider``; usable as a decorator."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister(provider: NoticeProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def collect(request) -> list[Notice]:
    notices: list[Notice] = []
    for provider in list(_providers):
        try:
            notices.extend(provider(request) or [])
        except Exception:
            logger.exception("notice provider %s failed", getattr(provider, "__qualname__", provider))
    return notices
