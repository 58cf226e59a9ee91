"""Amazon order events and notes as a code plus parameters, rendered in the reader's language at display time.

The sync, the import and the outbound delivery write what happened to an Amazon order (its event log, its Order
Notes) with a ``Message``: a short stable code and JSON parameters, e.g. ``msg("status_updated",
status="Unshipped")``. The text is made when it is shown, in the active language: ``render(code, params)`` (and
``AmazonOrderEvent.text``, ``AmazonOrder.notes_text``). The English text is stored too (``message``, ``notes``),
for old readers and for rows written before codes existed, which keep showing their stored text.

``MESSAGES`` is the registry: code → translatable template with named placeholders. A parameter is shown as is,
except:

* a code of Amazon or of the channel (an order status, an outbox kind or state, a cancel reason, an address field)
  — shown with its label (``LABELS`` for every code, ``Entry.labels`` for one);
* a nested message ``{"code": ..., "params": {...}}`` — rendered too (e.g. "no reason given");
* a list — each item shown, joined with commas;
* ``when`` — an ISO date and time, shown as the time in the reader's time zone.

Event kinds (``imported``, ``outbox_queued``, ``shipment_accepted``...) and the system actors ("Amazon sync") have
labels too: ``kind_label``, ``actor_label``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from saleschannel.amazon.choices import CANCEL_REASON_LABELS, AmazonOrderStatus, OutboxKind, OutboxState

INBOUND_ACTOR = "Amazon sync"  # as stored (origin.INBOUND_ACTOR)
OUTBOUND_ACTOR = "Amazon outbound"  # as stored (delivery.OUTBOUND_ACTOR)
COMMAND_LINE_ACTOR = "command line"


@dataclass(frozen=True)
class Message:
    """What to write on an event or a note: ``str()`` is its text in the active language (what is stored)."""

    code: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.code, self.params)

    def as_param(self) -> dict:
        return {"code": self.code, "params": self.params}


class CodedText(str):
    """A message's text in the writer's language that remembers its code and parameters: what a plain-text reason
    (``import_error``) is compared and stored as, and, as a parameter of ``msg``, rendered in the reader's language."""

    code: str
    params: dict

    def as_param(self) -> dict:
        return {"code": self.code, "params": self.params}


def coded(code: str, **params) -> CodedText:
    """``msg(code, **params)`` as a ``str`` (its text in the active language) that keeps its code and parameters."""
    message = msg(code, **params)
    text = CodedText(str(message))
    text.code, text.params = message.code, message.params
    return text


def msg(code: str, **params) -> Message:
    """A message of the registry; ``params`` are stored as JSON (a nested ``Message`` as its code and params)."""
    if code not in MESSAGES:
        raise KeyError(f"unknown Amazon event message {code!r}")
    return Message(code, {name: _json(value) for name, value in params.items()})


def _json(value):
    if isinstance(value, (Message, CodedText)):
        return value.as_param()
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return value


def fields(message) -> dict:
    """The event's ``message``, ``code`` and ``params`` for ``message`` (a ``Message`` or a plain text). The stored
    text is in the writer's language, as before codes existed: what readers that know no codes show."""
    if isinstance(message, Message):
        return {"message": str(message), "code": message.code, "params": message.params}
    return {"message": str(message), "code": "", "params": {}}


def note_fields(message) -> dict:
    """An Amazon order's ``notes``, ``notes_code`` and ``notes_params`` for ``message``."""
    values = fields(message)
    return {"notes": values["message"][:512], "notes_code": values["code"], "notes_params": values["params"]}


# --- The registry --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    template: object  # a lazy gettext / ngettext
    labels: dict = field(default_factory=dict)  # parameter → {code: label}, for this message only


ADDRESS_FIELD_LABELS = {
    "ship_name": _("recipient"), "ship_company": _("company"), "ship_address_line1": _("address line 1"),
    "ship_address_line2": _("address line 2"), "ship_address_line3": _("address line 3"), "ship_city": _("city"),
    "ship_region": _("region"), "ship_postal_code": _("postal code"), "ship_country_code": _("country"),
    "ship_phone": _("phone"),
}
# Parameters shown with the label of their code, whatever the message.
LABELS = {
    "status": dict(AmazonOrderStatus.choices),
    "kind": dict(OutboxKind.choices),
    "state": dict(OutboxState.choices),
    "cancel_reason": CANCEL_REASON_LABELS,
    "fields": ADDRESS_FIELD_LABELS,
}

MESSAGES: dict[str, Entry] = {
    # Words used inside other messages.
    "no_reason": Entry(_("no reason given")),
    "none": Entry(_("none")),
    # Inbound: the sync and the import.
    "mirrored": Entry(_("Order received from Amazon with status %(status)s.")),
    "buyer_cancel": Entry(_("The buyer requested cancellation: %(reason)s")),
    "status_updated": Entry(_("Status updated to %(status)s.")),
    "released": Entry(ngettext_lazy("Reserved inventory released (%(qty)d unit).",
                                     "Reserved inventory released (%(qty)d units).", "qty")),
    "reserve_unavailable": Entry(_("Unable to reserve inventory as the quantity is not available.")),
    "reserved": Entry(_("Inventory reserved")),
    "duplicate": Entry(_("Already imported by another sync.")),
    "imported": Entry(_("Imported as Commerce order #%(number)s.")),
    "imported_invoiced": Entry(_("Imported as Commerce order #%(number)s. Invoice created (payment captured by "
                                 "Amazon).")),
    "import_error": Entry(_("Cannot create sales order: %(reason)s")),
    # A reason of import_error; the note says how to fix it (the order page links each way).
    "unknown_sku": Entry(_('Product "%(sku)s" in order is not salable: it does not exist in the catalog. Create the '
                           "product, map the SKU (SKU mappings) or import your listings.")),
    "import_failed": Entry(_("Importing this order failed unexpectedly (%(type)s); it is tried again at the next "
                             "sync.")),
    "shipped_on_amazon": Entry(_("Shipped on Amazon: the remaining items were shipped in Commerce.")),
    "canceled_on_amazon": Entry(_("Canceled on Amazon: %(done)s")),
    "cancel_not_applied": Entry(_("Canceled on Amazon, but the Commerce order could not be canceled: %(reason)s "
                                  "It is tried again at every sync.")),
    # Outbound: queued, checked, retried, delivered.
    "shipment_queued": Entry(_("Shipment #%(number)s queued for Amazon (package %(package)s, tracking "
                               "%(tracking)s).")),
    "cancel_queued": Entry(_("Cancellation queued for Amazon (reason: %(reason)s)."),
                           labels={"reason": CANCEL_REASON_LABELS}),
    "refund_queued": Entry(_("Refund of credit memo #%(number)s queued for Amazon.")),
    "address_corrected": Entry(_("Shipping address corrected (%(fields)s).")),
    "outbox_unreachable": Entry(_("%(kind)s: Amazon could not be asked what became of this message (%(error)s).")),
    "outbox_no_feed": Entry(_("%(kind)s: Amazon has no feed of this message: it was not applied, and sending it "
                              "again is safe.")),
    "outbox_retry": Entry(_("%(kind)s: retry requested.")),
    "outbox_retry_confirmed": Entry(_("%(kind)s: sent again by decision of %(actor)s, who confirmed the risk: "
                                      "%(risk)s")),
    "outbox_attempt_failed": Entry(_("%(kind)s: attempt %(attempt)d of %(max)d failed: %(error)s Next attempt at "
                                     "%(when)s.")),
    "shipment_failed": Entry(_("Transmission of tracking information failed. %(error)s")),
    "cancel_failed": Entry(_("Cancellation failed on Amazon. %(error)s")),
    "refund_failed": Entry(_("Refund failed on Amazon. %(error)s")),
}


def render(code: str, params: dict | None, fallback: str = "") -> str:
    """The text of ``code`` with ``params`` in the active language; ``fallback`` when the code is unknown (a row
    written before codes existed) or its parameters do not fit its template."""
    entry = MESSAGES.get(code or "")
    if entry is None:
        return fallback
    params = params or {}
    values = {name: _shown(entry, name, value) for name, value in params.items()}
    try:
        return str(entry.template % values)
    except (KeyError, TypeError, ValueError):
        return fallback


def _shown(entry: Entry, name: str, value):
    if isinstance(value, dict) and "code" in value:
        return render(value["code"], value.get("params"), fallback=str(value.get("text", "")))
    labels = entry.labels.get(name) or LABELS.get(name)
    if isinstance(value, list):
        return ", ".join(str(labels.get(item, item)) if labels else str(item) for item in value)
    if labels and isinstance(value, str):
        return str(labels.get(value, value))
    if name == "when" and isinstance(value, str):
        try:
            return timezone.localtime(datetime.fromisoformat(value)).strftime("%H:%M:%S")
        except ValueError:
            return value
    return value


# --- Event kinds and actors ----------------------------------------------------------------------------------


KIND_LABELS = {
    "mirrored": _("Received from Amazon"),
    "status": _("Status"),
    "buyer_cancel": _("Buyer cancel request"),
    "imported": _("Imported"),
    "duplicate": _("Already imported"),
    "error": _("Error"),
    "reserved": _("Inventory reserved"),
    "released": _("Inventory released"),
    "reserve_failed": _("Reservation failed"),
    "shipped": _("Shipped"),
    "completed": _("Completed"),
    "canceled": _("Canceled"),
    "address": _("Address corrected"),
    "outbox_queued": _("Queued for Amazon"),
    "outbox_check": _("Looked for on Amazon"),
    "outbox_retry": _("Retry requested"),
}
# Outbound steps: "<outbox kind>_<step>", e.g. shipment_accepted.
STEP_LABELS = {
    "accepted": _("%(kind)s accepted"),
    "sent": _("%(kind)s sent"),
    "waiting": _("%(kind)s waiting"),
    "retry": _("%(kind)s to retry"),
    "failed": _("%(kind)s failed"),
}
ACTOR_LABELS = {
    INBOUND_ACTOR: _("Amazon sync"),
    OUTBOUND_ACTOR: _("Amazon outbound"),
    COMMAND_LINE_ACTOR: _("command line"),
    "system": _("system"),
}


def kind_label(kind: str) -> str:
    """An event kind in the reader's language ("imported" → "Imported"); an unknown kind as stored."""
    if kind in KIND_LABELS:
        return str(KIND_LABELS[kind])
    outbox_kind, _sep, step = (kind or "").partition("_")
    if step in STEP_LABELS and outbox_kind in OutboxKind.values:
        return str(STEP_LABELS[step] % {"kind": OutboxKind(outbox_kind).label})
    return kind


def actor_label(actor: str) -> str:
    """Who wrote an event: the system's actors in the reader's language, people by their user name."""
    label = ACTOR_LABELS.get(actor)
    return str(label) if label is not None else actor
