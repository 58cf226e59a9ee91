"""Run-time settings of the sandbox (changed by CLI flags and ``PUT /_sandbox/config``; kept in its storage)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class SandboxSettings:
    rate_limits: bool = True
    # One real second counts as ``time_scale`` sandbox seconds for every delay: the pending delay, token and
    # pre-signed URL lifetimes, the 2-minute rule, bucket refill, feed processing and the order stream.
    time_scale: float = 1.0
    pending_delay_seconds: float = 60.0
    stream_per_minute: float = 0.0
    feed_processing_seconds: float = 20.0
    report_processing_seconds: float = 60.0  # createReport → DONE (half IN_QUEUE, half IN_PROGRESS): reports.py
    token_ttl_seconds: int = 3600
    pagination_token_ttl_seconds: int = 86_400  # Amazon: "The token will expire after 24 hours."
    upload_url_ttl_seconds: int = 300
    # Where ORDER_CHANGE notifications go: an SQS endpoint (moto in server mode locally), "" = none (notifications.py).
    sqs_endpoint: str = ""

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r} (known: {', '.join(known)})")
            if value is None:
                continue
            if key == "sqs_endpoint":
                if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
                    raise ValueError("sqs_endpoint must be an http(s) URL, or empty")
                setattr(self, key, value.rstrip("/"))
                continue
            if key == "rate_limits":
                if not isinstance(value, bool):
                    raise ValueError("rate_limits must be true or false")
                setattr(self, key, value)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{key} must be a number")
            if number < 0 or (key == "time_scale" and number <= 0):
                raise ValueError(f"{key} must be positive")
            setattr(self, key, int(number) if known[key].type in (int, "int") else number)

    def real_seconds(self, sandbox_seconds: float) -> float:
        return sandbox_seconds / self.time_scale

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
