"""The sales channel of orders whose origin is "amazon": what Commerce may do to them and what Amazon must learn.

Called by the sales rules and services inside the Commerce transaction (``sales/channels.py``):

* ``veto`` refuses what Amazon cannot honour (``rules.commerce_action_veto``): Commerce's own (reasonless)
  cancellation, a credit memo on an order that has not shipped, shipping an FBA or canceled order;
* ``cancel_dialog`` makes the order view's Cancel open the Amazon cancel dialog (the one of Amazon Order Details),
  allowed or refused by ``rules.can_cancel_on_amazon`` alone;
* ``after_shipment`` / ``after_creditmemo`` write the outbox message in the same transaction;
* ``payment_links`` / ``payment_information`` give the order view's Payment & Shipping Method section.

Changes that Amazon itself made (applied by the sync inside ``origin.applying_amazon_change()``) are neither
vetoed nor echoed back.

``install()`` (called from ``AmazonConfig.ready``) registers the channel, the Amazon screens' navigation entries,
how the order grid's "Channel" column shows Amazon orders (with their Amazon order number) and the Amazon alerts.
"""

from __future__ import annotations

from django import forms
from django.db.models import Exists, OuterRef
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from saleschannel.amazon import carriers, deadlines, metrics, outbox, rules
from saleschannel.amazon import notices as amazon_notices
from saleschannel.amazon.deadline_alerts import ship_by_notices
from saleschannel.amazon.delivery import state_summary
from saleschannel.amazon.forms import CancelOrderForm
from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus, OutboxKind, OutboxMessage
from saleschannel.amazon.origin import is_applying_amazon_change
from saleschannel.amazon.selectors import amazon_order_for
from saleschannel.core import navigation, notices
from saleschannel.core.i18n import iso_datetime, short_datetime
from saleschannel.core.money import format_money
from saleschannel.sales import channels, grid
from saleschannel.sales.channels import ChannelCancel, OrderChannel
from saleschannel.sales.models import Order, OrderState

S = AmazonOrderStatus


def _outbox_flags(orders):
    """Amazon orders annotated with whether a cancellation / a shipment was queued for (or sent to) Amazon."""
    def queued(kind):
        return Exists(OutboxMessage.objects.filter(amazon_order=OuterRef("pk"), kind=kind))

    return orders.annotate(cancel_queued=queued(OutboxKind.CANCEL), shipment_queued=queued(OutboxKind.SHIPMENT))


def amazon_order_of(order) -> AmazonOrder | None:
    """The Amazon order of a Commerce order, loaded once per instance with its outbox flags (no extra query for
    ``can_cancel`` on the order view); None for other orders."""
    if getattr(order, "origin", "") != "amazon" or order.pk is None:
        return None
    descriptor = type(order).amazon_order
    if not descriptor.is_cached(order):
        amazon = _outbox_flags(AmazonOrder.objects.filter(commerce_order_id=order.pk).select_related("store")).first()
        descriptor.related.set_cached_value(order, amazon)
    return amazon_order_for(order)


def outbox_kinds(amazon: AmazonOrder) -> set[str] | None:
    """The outbox kinds the cancel rule asks about, when ``amazon`` was loaded with its flags (else None: read)."""
    if not hasattr(amazon, "cancel_queued"):
        return None
    return {kind for kind, queued in ((OutboxKind.CANCEL, amazon.cancel_queued),
                                      (OutboxKind.SHIPMENT, amazon.shipment_queued)) if queued}


def can_cancel(amazon: AmazonOrder, commerce: Order | None = None, kinds: set[str] | None = None):
    """``rules.can_cancel_on_amazon`` with what the caller already holds."""
    return rules.can_cancel_on_amazon(amazon, commerce_order=commerce,
                                      outbox_kinds=kinds if kinds is not None else outbox_kinds(amazon))


def cancel_consequences(amazon: AmazonOrder, commerce: Order | None) -> list[str]:
    """What canceling ``amazon`` now does, sentence by sentence, as ``services.amazon_order_cancel`` does it: for the
    cancel dialog. ``commerce``'s items with their products, when there is a Commerce order."""
    lines = [_("Amazon is told the order is canceled, with the reason you choose. Amazon does not charge the buyer "
               "for it (Amazon charges only when an order ships).")]
    reserved = 0
    if commerce is None:
        lines.append(_("There is no Commerce order to cancel."))
        if amazon.is_reserved:
            lines.append(_("The stock reserved for the Amazon order is released."))
            reserved = 1
    elif commerce.state in (OrderState.CANCELED, OrderState.CLOSED):
        lines.append(_("Commerce order #%(number)s is already canceled or closed: it stays as it is.") % {
            "number": commerce.number})
    else:
        paid = commerce.total_paid - commerce.total_refunded
        if paid > 0:
            lines.append(_("Commerce order #%(number)s was invoiced: the buyer is refunded in full (%(amount)s) "
                           "with a credit memo, and the rest of the order is canceled.") % {
                "number": commerce.number, "amount": format_money(paid, commerce.currency)})
        else:
            lines.append(_("Commerce order #%(number)s is canceled.") % {"number": commerce.number})
        reserved = sum(item.qty_to_ship for item in commerce.items.all()
                       if item.product_id and item.product and item.product.manage_stock)
        if reserved:
            lines.append(ngettext("The stock reserved for it (%(count)d unit) is released.",
                                  "The stock reserved for it (%(count)d units) is released.", reserved)
                         % {"count": reserved})
    if not reserved:
        lines.append(_("No stock is reserved for it: stock levels do not change."))
    lines.append(_("This cannot be undone."))
    return lines


def cancel_dialog_context(amazon: AmazonOrder, commerce: Order | None, *, form=None, next_url: str = "") -> dict:
    """What the cancel dialog (``amazon/cancel_dialog.html``) shows, on Amazon Order Details and the order view:
    when the buyer did not ask to cancel, the Pre-fulfillment Cancel Rate now and after this cancel (three queries)."""
    return {
        "amazon_order": amazon,
        "form": form or CancelOrderForm(initial={"reason": rules.suggested_cancel_reason(amazon)}),
        "buyer_asked": amazon.buyer_cancel_requested,
        "pfcr": None if amazon.buyer_cancel_requested else metrics.cancel_projection(amazon),
        "action": reverse("amazon:order_cancel", args=[amazon.pk]), "next": next_url,
        "consequences": cancel_consequences(amazon, commerce),
    }


class AmazonChannel(OrderChannel):
    origin = "amazon"

    def veto(self, order, action: str) -> str | None:
        if is_applying_amazon_change():
            return None
        amazon = amazon_order_of(order)
        if amazon is None:
            return None
        return rules.commerce_action_veto(amazon, order, action)

    def after_shipment(self, shipment) -> None:
        if is_applying_amazon_change():
            return
        amazon = amazon_order_for(shipment.order)
        if amazon is not None and not amazon.is_fba:
            outbox.outbox_add_shipment(amazon_order=amazon, shipment=shipment)

    def after_creditmemo(self, creditmemo) -> None:
        if is_applying_amazon_change():
            return
        amazon = amazon_order_for(creditmemo.order)
        if amazon is not None:
            outbox.outbox_add_refund(amazon_order=amazon, creditmemo=creditmemo)

    def cancel_dialog(self, order) -> ChannelCancel | None:
        amazon = amazon_order_of(order)
        if amazon is None:
            return None
        verdict = can_cancel(amazon, order)
        if not verdict:
            return ChannelCancel(False, verdict.reason)
        next_url = reverse("sales:order_view", args=[order.pk])
        return ChannelCancel(True, template="amazon/cancel_dialog.html",
                             context=cancel_dialog_context(amazon, order, next_url=next_url))

    def payment_information(self, order, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Without the Amazon order number stored at import: ``payment_links`` shows it (linked, translated)."""
        amazon = amazon_order_of(order)
        if amazon is None:
            return pairs
        return [(label, value) for label, value in pairs if value != amazon.amazon_order_id]

    def badges(self, order) -> list[tuple[str, str]]:
        """The ship-by badge: the Latest Ship Date, coloured by ``deadlines.deadline_state``."""
        amazon = amazon_order_of(order)
        text, level = ship_by_badge(amazon) if amazon is not None else ("", "")
        return [(text, level)] if text else []

    def shipment_warnings(self, order, tracks: list[dict]) -> list[str]:
        """Carrier not recognised by Amazon for the marketplace, tracking number of the wrong shape (VTR)."""
        amazon = amazon_order_of(order)
        if amazon is None or amazon.is_fba:
            return []
        if not tracks:
            return [_("The shipment has no tracking number: it does not count as validly tracked (Valid Tracking "
                      "Rate).")]
        return [warning for track in tracks for warning in carriers.shipment_warnings(
            carrier_code=track["carrier_code"], title=track.get("title", ""), number=track.get("number", ""),
            marketplace_id=amazon.marketplace_id)]

    def payment_links(self, order) -> list[tuple[str, str]]:
        amazon = amazon_order_of(order)
        if amazon is None:
            return []
        try:
            detail = reverse("amazon:order_detail", args=[amazon.pk])
            all_orders = reverse("amazon:order_list")
        except NoReverseMatch:
            return []
        action = _("View or Cancel Amazon Order") if can_cancel(amazon, order) else _("View Amazon Order")
        links = [
            (_("Amazon Order Number: %(number)s") % {"number": amazon.amazon_order_id}, detail),
            (action, detail),
            (_("View all Amazon Orders"), all_orders),
        ]
        summary = state_summary(amazon)
        if summary:
            links.append((_("Changes sent to Amazon: %(summary)s") % {"summary": summary}, f"{detail}?tab=log"))
        return links


# --- Order grid: the Channel column of Amazon orders --------------------------------------------------------------


def _amazon(order) -> AmazonOrder | None:
    try:
        return order.amazon_order
    except AmazonOrder.DoesNotExist:
        return None


def _grid_text(order) -> str:
    amazon = _amazon(order)
    return amazon.amazon_order_id if amazon else ""


def _grid_html(order) -> str:
    amazon = _amazon(order)
    if amazon is None:
        return ""
    try:
        url = reverse("amazon:order_detail", args=[amazon.pk])
    except NoReverseMatch:
        return amazon.amazon_order_id
    if amazon.buyer_cancel_requested and amazon.status not in (S.CANCELED, S.SHIPPED, S.COMPLETED):
        return format_html('<a href="{}">{}</a> <span class="badge warning" data-testid="buyer-cancel-badge">{}</span>',
                           url, amazon.amazon_order_id, _("Buyer cancel requested"))
    return format_html('<a href="{}">{}</a>', url, amazon.amazon_order_id)


def ship_by_badge(amazon: AmazonOrder) -> tuple[str, str]:
    """(text, badge class) of an Amazon order's ship-by deadline; ("", "") when it is not waiting to ship."""
    state = deadlines.order_deadline_state(amazon, timezone.now())
    if state is None:
        return "", ""
    return (_("Ship by %(date)s: %(state)s") % {"date": short_datetime(amazon.latest_ship_date),
                                                 "state": deadlines.STATE_LABELS[state]},
            deadlines.STATE_LEVELS[state])


def _ship_by_text(order) -> str:
    amazon = _amazon(order)
    return short_datetime(amazon.latest_ship_date) if amazon and amazon.latest_ship_date else ""


def _ship_by_csv(order) -> str:
    amazon = _amazon(order)
    return iso_datetime(amazon.latest_ship_date) if amazon and amazon.latest_ship_date else ""


def _ship_by_html(order) -> str:
    amazon = _amazon(order)
    if amazon is None or amazon.latest_ship_date is None:
        return ""
    text, level = ship_by_badge(amazon)
    if not text:
        return short_datetime(amazon.latest_ship_date)
    return format_html('{} <span class="badge {}" data-testid="ship-by-badge">{}</span>',
                       short_datetime(amazon.latest_ship_date), level,
                       deadlines.STATE_LABELS[deadlines.order_deadline_state(amazon, timezone.now())])


def install() -> None:
    """Register the channel, its navigation entries, its order grid display and its notices."""
    channels.register(AmazonChannel())
    navigation.register("amazon", gettext_lazy("Amazon Stores"), "amazon:store_list",
                        permission="amazon.view_amazonstore", order=10)
    navigation.register("amazon", gettext_lazy("All Amazon Orders"), "amazon:order_list",
                        permission="amazon.view_amazonorder", order=20)
    navigation.register("amazon", gettext_lazy("Messages to Amazon"), "amazon:outbox_list",
                        permission="amazon.view_outboxmessage", order=30)
    grid.register_channel("amazon", gettext_lazy("Amazon"), text=_grid_text, html=_grid_html,
                          queryset=lambda orders: orders.select_related("amazon_order"))
    grid.register_column_alias("amazon_order_number", "channel")  # the former column, in saved views
    grid.register_column(
        "amazon_ship_by", gettext_lazy("Ship By"), text=_ship_by_text, html=_ship_by_html, csv=_ship_by_csv,
        sort="amazon_order__latest_ship_date", after="amazon_order_number",
        queryset=lambda orders: orders.select_related("amazon_order__store"),
    )
    grid.register_filter(
        "ship_by", forms.ChoiceField(label=gettext_lazy("Ship by"), required=False,
                                     choices=lambda: [("", "—"), *deadlines.ship_by_choices()]),
        apply=lambda orders, value: deadlines.ship_by_filter(orders, value, prefix="amazon_order__"),
        describe=deadlines.ship_by_label,
    )
    notices.register(ship_by_notices)
    notices.register(amazon_notices.dead_letter_notices)
    notices.register(amazon_notices.buyer_cancel_notices)
    notices.register(amazon_notices.read_only_notices)
