"""Background work of the API: forget idempotency keys older than 24 hours, every hour; send webhook deliveries
(one task per delivery, enqueued when the change commits) and sweep those due for a retry, every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saleschannel.api.idempotency_keys import purge_expired
from saleschannel.api.webhook_sending import webhook_delivery_attempt, webhooks_sweep


@db_periodic_task(crontab(minute="17"))
def api_idempotency_purge() -> int:
    return purge_expired()


@db_task()
def api_webhook_deliver(delivery_id: int) -> str | None:
    """Attempt one delivery; does nothing when it is not due, already sent, or held by another worker."""
    return webhook_delivery_attempt(delivery_id=delivery_id)


@db_periodic_task(crontab(minute="*"))
def api_webhooks_sweep() -> int:
    return webhooks_sweep()
