"""Background work of the API: forget idempotency keys older than 24 hours, every hour."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from saleschannel.api.idempotency import purge_expired


@db_periodic_task(crontab(minute="17"))
def api_idempotency_purge() -> int:
    return purge_expired()
