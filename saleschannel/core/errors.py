"""The base of the errors our services raise when they refuse a change.

A refusal is raised before anything is written (or inside the service's transaction, which then rolls back), so it
changes nothing. ``message`` is written for the person who asked: views show it next to ``field`` (or as a flash
message when ``field`` is empty), the API returns it, the CLI prints it. Each app has its own subclass so callers
can tell where a refusal came from.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, code: str = "invalid", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return str(self.message)
