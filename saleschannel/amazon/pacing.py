"""Client-side pacing of SP-API calls: one token bucket per (operation group, seller), shared by every process.

Amazon meters each operation per selling partner and application with a token bucket (rate, burst) and answers
429 when it is empty. If every worker kept its own bucket in memory, two workers would each spend the whole
burst and the second one would be throttled; so the bucket lives in the database (``RateBucket``), which every
worker of an installation already shares (SQLite file or PostgreSQL). A take is one short transaction: the row is
locked (``SELECT ... FOR UPDATE`` on PostgreSQL, the IMMEDIATE write lock on SQLite), refilled by the time
elapsed, and decremented; the sleep that waits for the next token happens outside the transaction.

A 429 answered anyway (another application, a clock skew, the sandbox restarted) empties our bucket so every
process slows down together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from saleschannel.amazon.models import RateBucket

# Amazon's published usage plans (requests per second, burst), DESIGN.md §5.
PUBLISHED_RATES: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder2026": (0.5, 30),
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeeds": (0.0222, 10),
    "getFeedDocument": (0.0222, 10),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
    # Notifications v1 (spapi/notifications.py)
    "createDestination": (1.0, 5),
    "getDestinations": (1.0, 5),
    "createSubscription": (1.0, 5),
    "getSubscription": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
}


# We refill a little slower than Amazon: our clock starts a bucket when we decide to call, Amazon's when the request
# arrives, and a few milliseconds of difference would otherwise turn the last token of a burst into a 429.
HEADROOM = 0.9


class PacingTimeout(Exception):
    """The next token would come later than the caller is willing to wait."""

    def __init__(self, operation: str, wait: float) -> None:
        super().__init__(f"{operation}: next call allowed in {wait:.0f} s")
        self.operation = operation
        self.wait = wait


@dataclass
class Pacer:
    """Takes tokens for ``seller_id``. ``factor`` scales Amazon's rates (0 = no pacing at all)."""

    seller_id: str
    factor: float = 1.0
    clock: callable = time.time
    sleep: callable = time.sleep

    def _key(self, operation: str) -> str:
        return f"{self.seller_id}:{operation}"[:128]

    def _try_take(self, operation: str) -> float:
        """Take a token if there is one (returns 0), else return the seconds until there is one."""
        rate, burst = PUBLISHED_RATES[operation]
        rate *= self.factor * HEADROOM
        key = self._key(operation)
        with transaction.atomic():
            now = self.clock()
            bucket = RateBucket.objects.select_for_update().filter(key=key).first()
            if bucket is None:
                try:
                    with transaction.atomic():
                        RateBucket.objects.create(key=key, tokens=burst - 1, updated_at=now)
                    return 0.0
                except IntegrityError:  # another process created it: take from theirs
                    bucket = RateBucket.objects.select_for_update().get(key=key)
            tokens = min(float(burst), bucket.tokens + max(now - bucket.updated_at, 0.0) * rate)
            if tokens >= 1.0:
                RateBucket.objects.filter(key=key).update(tokens=tokens - 1.0, updated_at=now)
                return 0.0
            RateBucket.objects.filter(key=key).update(tokens=tokens, updated_at=now)
            return (1.0 - tokens) / rate

    def take(self, operation: str, *, max_wait: float = 300.0) -> float:
        """Block until a call of ``operation`` is allowed; returns the seconds waited."""
        if self.factor <= 0:
            return 0.0
        waited = 0.0
        while True:
            wait = self._try_take(operation)
            if wait <= 0:
                return waited
            if waited + wait > max_wait:
                raise PacingTimeout(operation, wait)
            self.sleep(wait)
            waited += wait

    def drain(self, operation: str) -> None:
        """Amazon throttled us anyway: empty the bucket so every process waits for a refill."""
        if self.factor <= 0:
            return
        RateBucket.objects.filter(key=self._key(operation)).update(tokens=0.0, updated_at=self.clock())
