"""How long ``Idempotency-Key``s are kept, and forgetting older ones (``idempotency.py`` uses and replays them).

Apart from the request handling so that the worker, which runs the purge every hour, does not load django-ninja
(about 130 ms and 14 MB of every worker's start).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from saleschannel.api.models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)


def purge_expired(*, now=None) -> int:
    """Delete the keys older than ``KEY_LIFETIME``; returns how many."""
    cutoff = (now or timezone.now()) - KEY_LIFETIME
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]
