"""Shipments: shipping an order's items with their tracking numbers."""

from __future__ import annotations

from django.db import transaction

from saleschannel.catalog.services import stock_consume_many
from saleschannel.core.bulk import insert_new
from saleschannel.core.i18n import gettext as _
from saleschannel.sales import history, inputs
from saleschannel.sales.channels import channel_for
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderHistory, Shipment, ShipmentItem, ShipmentTrack
from saleschannel.sales.rules import Action
from saleschannel.sales.services import _events
from saleschannel.sales.services._common import (
    _comment_and_email,
    _lock,
    _next_number,
    _refresh_caller,
    _require,
    _save,
    _save_quantities,
    _settle_state,
    _status_note,
    _stock_by_product,
    stock_reference,
)


def shipment_create(*, order: Order, quantities=None, tracks=(), comment: str = "", notify_customer: bool = False,
                    actor) -> Shipment:
    """Ship ``quantities`` ({order item id: qty}; None = everything left to ship) with tracking numbers.

    ``tracks``: ``[{carrier_code, title, number}]``; the carrier must be one of ``Carrier`` (``custom`` needs a
    title). The units reserved for the order leave the stock.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require(locked, Action.SHIP)
        before = _events.status_before(locked)
        items = list(locked.items.all())
        wanted = inputs.item_quantities(quantities, items, "qty_to_ship",
                                     _('Only %(max)d of "%(sku)s" can be shipped (%(qty)d asked).'))
        if not wanted:
            raise OrderActionError(_("Enter a quantity to ship for at least one item."), code="invalid",
                                   field="quantities")
        track_rows = inputs.tracks(tracks)
        label = history.author(actor)[1]
        shipment = Shipment.objects.create(
            number=_next_number(locked.store, "shipment"), order=locked, total_qty=sum(wanted.values()),
            created_by=label,
        )
        shipped_items = [item for item in items if wanted.get(item.pk)]
        # From ids, written by ``insert_new``: setting the related objects and ``bulk_create``'s compiler cost a good
        # part of the request on 10,000 lines.
        insert_new([ShipmentItem(shipment_id=shipment.pk, order_item_id=item.pk, qty=wanted[item.pk])
                    for item in shipped_items])
        for track in track_rows:
            track.shipment = shipment
        ShipmentTrack.objects.bulk_create(track_rows)
        for item in shipped_items:
            item.qty_shipped += wanted[item.pk]
        _save_quantities(shipped_items, "qty_shipped")
        by_product = _stock_by_product((item, wanted[item.pk]) for item in shipped_items)
        if by_product:
            stock_consume_many(
                quantities={product.pk: qty for product, qty in by_product.items()}, reference=stock_reference(locked)
            )
        changed = _settle_state(locked, items)
        _save(locked, "state", "status")
        notes = [history.shipment_created(locked, actor, shipment, track_rows,
                                          status_note=_status_note(changed, locked))]
        notes += _comment_and_email(locked, actor, comment, notify_customer, "shipment", shipment)
        OrderHistory.objects.bulk_create(notes)
        _events.publish_shipped(locked, shipment, track_rows, before)
        shipment.order = locked
        channel_for(locked).after_shipment(shipment)
        _refresh_caller(order, locked)
    return shipment
