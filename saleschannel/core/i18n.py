"""``gettext`` remembered per language, for code that translates the same few messages thousands of times a second
(the Amazon import writes several history lines and notes per order). Translations are loaded once per process, so
a message's translation in a language never changes while it runs.

Use as ``from saleschannel.core.i18n import gettext as _``: ``makemessages`` still finds the ``_("...")`` messages.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils import translation


def gettext(message: str) -> str:
    return _translated(translation.get_language(), message)


@lru_cache(maxsize=4096)
def _translated(language: str | None, message: str) -> str:
    return translation.gettext(message)
