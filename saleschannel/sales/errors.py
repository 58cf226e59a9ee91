"""The error sales services raise when an action is not allowed or its input is bad (see saleschannel/errors.py)."""

from __future__ import annotations

from saleschannel.errors import DomainError


class OrderActionError(DomainError):
    def __init__(self, message: str, *, code: str = "not_allowed", field: str = "") -> None:
        super().__init__(message, code=code, field=field)
