"""The one error type of everything that talks to Amazon, and its kind for orders that cannot be read."""

from __future__ import annotations


class AmazonError(Exception):
    """Anything that went wrong talking to Amazon, said in plain words.

    ``code`` is Amazon's error code when it gave one (``InvalidInput``, ``QuotaExceeded``, ``Unauthorized`` ...) or
    ours (``Timeout``, ``Malformed``, ``Network``, ``Unreadable``); ``status`` the HTTP status if any; ``retryable``
    tells callers whether trying again later may succeed.
    """

    def __init__(self, message: str, code: str = "", status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retryable = retryable
        self.unknown_outcome = False  # set when Amazon may have done what was asked (see Gateway.call)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"AmazonError({self.message!r}, code={self.code!r}, status={self.status}, retryable={self.retryable})"


MISSING = object()


class UnreadableOrder(AmazonError):
    """Amazon sent an order we cannot read: a field its model requires is missing, or a value has the wrong type.

    ``field`` names the field as Amazon spells it (``orderItems[0].quantityOrdered``); ``raw`` is the order as sent
    (set by whoever parsed the page), so that it can be kept, in Error, instead of being imported wrongly or lost.
    Values are shown only for numbers, amounts, dates and statuses: never personal data.
    """

    def __init__(self, field: str, value=MISSING, *, amazon_order_id: str = "") -> None:
        if value is MISSING:
            detail = f"{field} is missing"
        else:
            detail = f"{field} = {str(value)[:40]!r} is not valid"
        super().__init__(f"Amazon sent an order that cannot be read: {detail}.", "Unreadable", None, False)
        self.field = field
        self.amazon_order_id = amazon_order_id
        self.raw: dict = {}
