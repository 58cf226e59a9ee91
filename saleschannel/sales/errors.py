"""The error sales services raise when an action is not allowed or its input is bad (see saleschannel/errors.py)."""

from __future__ import annotations

from saleschannel.core.errors import DomainError


class OrderActionError(DomainError):
    def __init__(self, message: str, *, code: str = "not_allowed", field: str = "") -> None:
        super().__init__(message, code=code, field=field)


class DocumentNumberTaken(OrderActionError):
    """The store's sequence gave a number that a document already has (its prefix was used before, by it or by
    another store, or numbers were imported by hand). Nothing is written; the message says what to do."""

    def __init__(self, message: str, *, number: str = "") -> None:
        super().__init__(message, code="number_taken", field="number")
        self.number = number
