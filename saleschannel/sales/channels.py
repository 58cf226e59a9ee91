"""Extension point for sales channels (the Amazon channel is the first).

An order's ``origin`` names the channel it came from. A channel registers one ``OrderChannel``; the sales rules and
services call it explicitly, inside the same transaction as the change, so that a channel can

* refuse an action the channel cannot honour (``veto``: e.g. a credit memo on an Amazon order that has not
  shipped — it must be canceled instead), and
* record what it must tell the outside world (``after_*``: e.g. write an outbox row for Amazon) atomically with
  the Commerce change.

These are plain method calls made by the services, not Django signals: the order of events is visible in
``sales/services/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saleschannel.sales.models import CreditMemo, Order, Shipment


@dataclass(frozen=True)
class ChannelCancel:
    """A channel that cancels its orders its own way (e.g. Amazon: with one of Amazon's reasons): the order view's
    Cancel opens ``template`` (rendered with ``dialog`` = this object) instead of Commerce's bare cancel."""

    allowed: bool
    reason: str = ""  # why it may not be canceled now
    template: str = ""
    context: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed


class OrderChannel:
    """Default behaviour: allow everything, record nothing. Subclass and override what the channel needs."""

    origin: str = ""

    def veto(self, order: Order, action: str) -> str | None:
        """Return a reason to refuse ``action`` (a ``rules.Action`` value) on ``order``, or None to allow it."""
        return None

    def after_shipment(self, shipment: Shipment) -> None: ...

    def after_cancel(self, order: Order, *, reason: str = "") -> None: ...

    def after_creditmemo(self, creditmemo: CreditMemo) -> None: ...

    def payment_links(self, order: Order) -> list[tuple[str, str]]:
        """(label, url) pairs the order view shows under Payment & Shipping Method."""
        return []

    def payment_information(self, order: Order, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The payment's stored (label, value) pairs to show, e.g. without those ``payment_links`` already shows."""
        return pairs

    def cancel_dialog(self, order: Order) -> ChannelCancel | None:
        """None: Commerce's own Cancel applies. Else the channel's cancellation the order view offers instead."""
        return None

    def badges(self, order: Order) -> list[tuple[str, str]]:
        """(text, level) badges the order view shows beside Payment & Shipping Method (e.g. Amazon's ship-by
        deadline); level is a badge class: info, warning, error, success."""
        return []

    def shipment_warnings(self, order: Order, tracks: list[dict]) -> list[str]:
        """Warnings (never refusals) about a shipment just created with ``tracks`` (carrier_code, title, number)."""
        return []


_channels: dict[str, OrderChannel] = {}
_default = OrderChannel()


def register(channel: OrderChannel) -> None:
    _channels[channel.origin] = channel


def channel_for(order: Order) -> OrderChannel:
    return _channels.get(order.origin, _default)
