"""The one error type that sales services raise when an action is not allowed or its input is bad.

Raised before anything is written (or inside the service's transaction, which then rolls back), so a refused
action changes nothing. ``message`` is written for the person who asked: views show it next to ``field`` (or as a
flash message when ``field`` is empty), the API returns it, the CLI prints it.
"""

from __future__ import annotations


class OrderActionError(Exception):
    def __init__(self, message: str, *, code: str = "not_allowed", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message
