"""Reading an Amazon store's listings in the background, for the "Import your listings" page.

Amazon takes minutes to prepare a ``GET_MERCHANT_LISTINGS_ALL_DATA`` report: far longer than a web request may
last behind a reverse proxy. So the page starts a ``ListingsRead`` (``listings_read_start``), the worker reads the
report (``listings_read_run``, the Huey task ``tasks.amazon_listings_read``) and the page follows the read until it
is done (then shows the preview) or failed (then shows Amazon's refusal).

The listings read wait in a file (``DATA_DIR/imports/listings-<token>.json``) between the preview and the apply;
the view names the token in the session of whoever follows the read (``listing_views.SESSION_KEY``). Files older
than a day are forgotten. The command line (``saleschannel amazon listings import``) still reads synchronously.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from saleschannel.amazon import listings
from saleschannel.amazon.listings_models import ListingsRead, ListingsReadState
from saleschannel.amazon.models import AmazonStore
from saleschannel.amazon.tasks import amazon_listings_read
from saleschannel.core.i18n import gettext as _

logger = logging.getLogger(__name__)

READ_TIMEOUT = 3600.0  # Amazon seconds the worker waits for the report
# A read still queued or reading this long after its last change lost its worker: starting it again takes it up.
STALE_AFTER = timedelta(seconds=READ_TIMEOUT + 600)
FILE_LIFETIME = 24 * 3600  # seconds the listings read wait for their preview and apply
ACTIVE_STATES = (ListingsReadState.QUEUED, ListingsReadState.READING)
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


# --- The saved listings ---------------------------------------------------------------------------------------


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _path(token: str) -> Path:
    return _folder() / f"listings-{token}.json"


def _forget_old(folder: Path) -> None:
    limit = time.time() - FILE_LIFETIME
    for path in folder.glob("listings-*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def listings_save(*, marketplace_id: str, found: list[listings.Listing]) -> str:
    """Save the listings of one marketplace for the preview; returns their token."""
    token = secrets.token_urlsafe(24)
    _forget_old(_folder())
    _path(token).write_text(json.dumps({"marketplace": marketplace_id,
                                        "listings": [item.as_json() for item in found]}), encoding="utf-8")
    return token


def listings_load(token: str) -> tuple[str, list[listings.Listing]] | None:
    """(marketplace id, listings) saved under ``token``, or None (an unknown, malformed or forgotten token)."""
    if not TOKEN.fullmatch(token or ""):
        return None
    path = _path(token)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["marketplace"], [listings.Listing.from_json(row) for row in data["listings"]]


def listings_forget(token: str) -> None:
    """Delete the listings saved under ``token`` (they were applied)."""
    if TOKEN.fullmatch(token or ""):
        _path(token).unlink(missing_ok=True)


# --- The read -------------------------------------------------------------------------------------------------


def _run_on_commit(read_id: int) -> None:
    def enqueue():
        try:
            amazon_listings_read(read_id)
        except Exception:  # the read stays queued; starting it again after STALE_AFTER takes it up
            logger.exception("could not enqueue the listings read %s", read_id)

    transaction.on_commit(enqueue)


def listings_read_start(*, store: AmazonStore, marketplace_id: str | None, actor) -> ListingsRead:
    """Start reading the listings of one marketplace of ``store`` (its first by default) in the background, or
    return the read of that marketplace already queued or reading. Raises ``ListingsError`` (nothing written) for a
    marketplace that is not the store's."""
    marketplace_id = listings._marketplace(store, marketplace_id or None)
    with transaction.atomic():
        AmazonStore.objects.select_for_update().filter(pk=store.pk).values_list("pk", flat=True).first()
        running = (ListingsRead.objects.select_for_update()
                   .filter(store=store, marketplace_id=marketplace_id, state__in=ACTIVE_STATES).order_by("-pk").first())
        if running is not None:
            if running.updated_at < timezone.now() - STALE_AFTER:  # its worker stopped: take it up again
                running.save(update_fields=["updated_at"])
                _run_on_commit(running.pk)
            return running
        read = ListingsRead.objects.create(
            store=store, marketplace_id=marketplace_id, requested_by=actor if getattr(actor, "pk", None) else None,
            language=translation.get_language() or "")
        _run_on_commit(read.pk)
    return read


def listings_reads_resume(*, now=None) -> int:
    """Enqueue again every read queued or reading for longer than ``STALE_AFTER`` without a change: its worker
    stopped (a killed worker loses the task it was running) or its task was never enqueued. Run every ten minutes
    by ``tasks.amazon_listings_reads_resume``, so that a page following such a read gets its answer without anyone
    starting a new read. Returns how many were enqueued."""
    now = now or timezone.now()
    enqueued = 0
    for read_id in ListingsRead.objects.filter(state__in=ACTIVE_STATES, updated_at__lt=now - STALE_AFTER) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            touched = ListingsRead.objects.filter(pk=read_id, state__in=ACTIVE_STATES,
                                                  updated_at__lt=now - STALE_AFTER).update(updated_at=now)
            if touched:
                _run_on_commit(read_id)
                enqueued += 1
    return enqueued


def _claim(read_id: int) -> ListingsRead | None:
    with transaction.atomic():
        read = ListingsRead.objects.select_for_update().filter(pk=read_id).first()
        if read is None or read.state not in ACTIVE_STATES:
            return None
        read.state = ListingsReadState.READING  # a read left "reading" by a stopped worker is taken again
        read.save(update_fields=["state", "updated_at"])
    read.store = AmazonStore.objects.get(pk=read.store_id)
    return read


def _finish(read: ListingsRead, *, state: str, error: str = "", token: str = "") -> str:
    now = timezone.now()
    with transaction.atomic():
        finished = ListingsRead.objects.filter(pk=read.pk, state=ListingsReadState.READING).update(
            state=state, error=error, token=token, finished_at=now, updated_at=now)
    if finished:
        return state
    if token:  # another worker finished it meanwhile: its file is the one shown
        listings_forget(token)
    return ListingsRead.objects.filter(pk=read.pk).values_list("state", flat=True).first() or "gone"


def listings_read_run(*, read_id: int) -> str:
    """Read the listings of a queued read from Amazon, save them and mark it done, or mark it failed with the
    reason. Idempotent: a read done or failed (or gone) is left alone; returns its state (or "gone").

    Two short transactions (taking the read, then recording its outcome): none is held open while Amazon prepares
    the report, which takes minutes."""
    read = _claim(read_id)
    if read is None:
        return ListingsRead.objects.filter(pk=read_id).values_list("state", flat=True).first() or "gone"
    with translation.override(read.language or settings.LANGUAGE_CODE):
        try:
            marketplace_id, found = listings.listings_fetch(store=read.store, marketplace_id=read.marketplace_id,
                                                            timeout=READ_TIMEOUT)
        except listings.ListingsError as error:
            return _finish(read, state=ListingsReadState.FAILED, error=error.message)
        except Exception:
            logger.exception("the listings read %s failed", read_id)
            return _finish(read, state=ListingsReadState.FAILED,
                           error=_("The listings could not be read because of an unexpected error: see the "
                                   "worker's log."))
    token = listings_save(marketplace_id=marketplace_id, found=found)
    return _finish(read, state=ListingsReadState.DONE, token=token)
