"""Amazon's usage plans (rate and burst per operation, from the models' "Usage Plan" tables), token buckets,
and fault injection."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from .timeutil import offset_ms

# operationId → (rate per second, burst). tests/sandbox/test_contract.py checks them against the models.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getOrders": (0.0167, 20),
    "getOrderV0": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "getOrderBuyerInfo": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "cancelFeed": (2.0, 15),
    "getFeeds": (0.0222, 10),
    "getFeedDocument": (0.0222, 10),
    # Reports 2021-06-30 (reports.py)
    "createReport": (0.0167, 15),
    "getReports": (0.0222, 10),
    "getReport": (2.0, 15),
    "cancelReport": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    # Notifications v1 (notifications.py)
    "getSubscription": (1.0, 5),
    "createSubscription": (1.0, 5),
    "getSubscriptionById": (1.0, 5),
    "deleteSubscriptionById": (1.0, 5),
    "getDestinations": (1.0, 5),
    "createDestination": (1.0, 5),
    "getDestination": (1.0, 5),
    "deleteDestination": (1.0, 5),
}
# The sandbox's operation names where two models share an operationId.
MODEL_OPERATION = {"getOrderV0": ("ordersV0.json", "getOrder"), "getOrder": ("orders_2026-01-01.json", "getOrder")}


class RateLimiter:
    """A token bucket per (seller, operation): starts full at the burst, refills at the rate (× time scale)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, seller_id: str, operation: str, time_scale: float) -> bool:
        rate, burst = USAGE_PLANS[operation]
        key = (seller_id, operation)
        # Real (monotonic) time plus the clock's offset: advancing the sandbox's clock refills the buckets too.
        now = time.monotonic() + offset_ms() / 1000
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + max(0.0, now - last) * rate * time_scale)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True
            self._buckets[key] = (tokens, now)
            return False

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


# "drop": the operation is done, then the connection closes in the middle of the answer (a dropped connection).
FAULT_KINDS = ("429", "500", "503", "timeout", "malformed", "drop")


class Faults:
    """Fault rates per operation (or ``*``), drawn from one seeded generator so a run can be replayed."""

    def __init__(self, spec: dict[str, Any] | None = None):
        self._lock = threading.Lock()
        self.set(spec or {})

    def set(self, spec: dict[str, Any]) -> None:
        rates: dict[str, dict[str, float]] = {}
        timeout_seconds = float(spec.get("timeout_seconds", 30))
        seed = spec.get("seed")
        for key, value in spec.items():
            if key in ("timeout_seconds", "seed"):
                continue
            if key != "*" and key not in USAGE_PLANS:
                raise ValueError(f"unknown operation {key!r} (one of *, {', '.join(USAGE_PLANS)})")
            if not isinstance(value, dict):
                raise ValueError(f"{key}: expected an object of fault rates")
            entry = {}
            for kind, rate in value.items():
                if kind not in FAULT_KINDS:
                    raise ValueError(f"{key}: unknown fault {kind!r} (one of {', '.join(FAULT_KINDS)})")
                rate = float(rate)
                if not 0 <= rate <= 1:
                    raise ValueError(f"{key}.{kind}: a rate is between 0 and 1")
                entry[kind] = rate
            if sum(entry.values()) > 1:
                raise ValueError(f"{key}: the rates add up to more than 1")
            rates[key] = entry
        with self._lock:
            self.spec = {**rates, "timeout_seconds": timeout_seconds, "seed": seed}
            self._rates = rates
            self.timeout_seconds = timeout_seconds
            self._rng = random.Random(seed)

    def draw(self, operation: str) -> str | None:
        rates = self._rates.get(operation) or self._rates.get("*")
        if not rates:
            return None
        with self._lock:
            x = self._rng.random()
        for kind in FAULT_KINDS:
            rate = rates.get(kind, 0.0)
            if x < rate:
                return kind
            x -= rate
        return None
