"""The sales channel of orders whose origin is "amazon": what Commerce may do to them and what Amazon must learn.

Called by the sales rules and services inside the Commerce transaction (``sales/channels.py``):

* ``veto`` refuses what Amazon cannot honour: a credit memo on an order that has not shipped (it must be canceled
  from Amazon Order Details instead), a cancellation once anything has shipped, shipping an FBA or canceled order;
* ``after_shipment`` / ``after_cancel`` / ``after_creditmemo`` write the outbox message in the same transaction;
* ``payment_links`` gives the links of the order view's Payment & Shipping Method section.

Changes that Amazon itself made (applied by the sync inside ``origin.applying_amazon_change()``) are neither
vetoed nor echoed back.

``install()`` (called from ``AmazonConfig.ready``) registers the channel, the Amazon screens' navigation entries,
the order grid's "Amazon Order Number" column and the Amazon alerts.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saleschannel.amazon import outbound
from saleschannel.amazon.models import AmazonOrder, AmazonOrderStatus
from saleschannel.amazon.origin import is_applying_amazon_change
from saleschannel.sales.channels import OrderChannel

S = AmazonOrderStatus
NOT_SHIPPED = (S.PENDING, S.PENDING_AVAILABILITY, S.UNSHIPPED)
SHIPPED = (S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED)


def _commerce_shipped(order) -> bool:
    return any(item.qty_shipped for item in order.items.all())


class AmazonChannel(OrderChannel):
    origin = "amazon"

    def veto(self, order, action: str) -> str | None:
        if is_applying_amazon_change():
            return None
        amazon = outbound.amazon_order_for(order)
        if amazon is None:
            return None
        if action == "creditmemo" and amazon.amazon_status in NOT_SHIPPED and amazon.status != S.COMPLETED \
                and not _commerce_shipped(order):
            return _("This Amazon order has not shipped: cancel it from Amazon Order Details instead.")
        if action == "cancel":
            if amazon.amazon_status in SHIPPED or amazon.status in SHIPPED or amazon.items_shipped \
                    or _commerce_shipped(order):
                return _("A shipped or partially shipped Amazon order cannot be canceled; refund the shipped items "
                         "with a credit memo instead.")
            if amazon.is_fba:
                return _("Amazon fulfils this order (FBA): it cannot be canceled here.")
        if action == "ship":
            if amazon.is_fba:
                return _("Amazon ships this order (FBA).")
            if amazon.amazon_status == S.CANCELED:
                return _("This order was canceled on Amazon.")
        return None

    def after_shipment(self, shipment) -> None:
        if is_applying_amazon_change():
            return
        amazon = outbound.amazon_order_for(shipment.order)
        if amazon is not None and not amazon.is_fba:
            outbound.outbox_add_shipment(amazon_order=amazon, shipment=shipment)

    def after_cancel(self, order, *, reason: str = "") -> None:
        if is_applying_amazon_change():
            return
        amazon = outbound.amazon_order_for(order)
        if amazon is None or amazon.is_fba:
            return
        from saleschannel.catalog.services import stock_release

        if amazon.is_reserved:
            stock_release(reference=amazon.reservation_reference)
        AmazonOrder.objects.filter(pk=amazon.pk).update(status=S.CANCELED, is_reserved=False)
        amazon.status, amazon.is_reserved = S.CANCELED, False
        outbound.outbox_add_cancel(amazon_order=amazon, reason=reason, actor=order_actor(order))

    def after_creditmemo(self, creditmemo) -> None:
        if is_applying_amazon_change():
            return
        amazon = outbound.amazon_order_for(creditmemo.order)
        if amazon is not None:
            outbound.outbox_add_refund(amazon_order=amazon, creditmemo=creditmemo)

    def payment_links(self, order) -> list[tuple[str, str]]:
        amazon = outbound.amazon_order_for(order)
        if amazon is None:
            return []
        try:
            detail = reverse("amazon:order_detail", args=[amazon.pk])
            all_orders = reverse("amazon:order_list")
        except NoReverseMatch:
            return []
        action = _("View or Cancel Amazon Order") if amazon.status == S.UNSHIPPED else _("View Amazon Order")
        links = [
            (_("Amazon Order Number: %(number)s") % {"number": amazon.amazon_order_id}, detail),
            (action, detail),
            (_("View all Amazon Orders"), all_orders),
        ]
        summary = outbound.state_summary(amazon)
        if summary:
            links.append((_("Changes sent to Amazon: %(summary)s") % {"summary": summary}, f"{detail}?tab=log"))
        return links


def order_actor(order) -> str:
    """Who canceled: the latest history entry's author (the sales service wrote it just before calling us)."""
    latest = order.history.order_by("-id").values_list("author_label", flat=True).first() if hasattr(
        order, "history") else None
    return latest or outbound.OUTBOUND_ACTOR


# --- Order grid column ---------------------------------------------------------------------------------------


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


def install() -> None:
    from saleschannel.sales import channels, grid
    from saleschannel.web import navigation, notices

    channels.register(AmazonChannel())
    navigation.register("amazon", gettext_lazy("Amazon Stores"), "amazon:store_list",
                        permission="amazon.view_amazonstore", order=10)
    navigation.register("amazon", gettext_lazy("All Amazon Orders"), "amazon:order_list",
                        permission="amazon.view_amazonorder", order=20)
    grid.register_column(
        "amazon_order_number", gettext_lazy("Amazon Order Number"), text=_grid_text, html=_grid_html,
        sort="amazon_order__amazon_order_id", default=True, after="number",
        queryset=lambda orders: orders.select_related("amazon_order"),
    )
    notices.register(outbound.dead_letter_notices)
    notices.register(outbound.buyer_cancel_notices)
    notices.register(outbound.read_only_notices)
