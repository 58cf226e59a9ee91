"""Importing Amazon orders: the mirror upserted, then acted on — the Commerce order created exactly once, stock
reserved or released, Amazon's changes reflected on the Commerce order (§4.3, §4.4).

``import_new_orders`` writes a page's new orders together; ``import_order`` handles one order in its own
transaction. What to do with an order is ``rules.import_decision``'s answer; the pass that calls these is
``sync.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction

from saleschannel.amazon import rules
from saleschannel.amazon.events import Message, msg
from saleschannel.amazon.mirror import (
    ITEM_FIELDS,
    copy_order_fields,
    flag_buyer_cancel,
    mirror_new,
    new_item,
    record_event,
)
from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderEvent,
    AmazonOrderItem,
    AmazonOrderStatus,
    AmazonStore,
    CustomerCreation,
    EventLevel,
    OrderNumberSource,
    OrderStatusMode,
)
from saleschannel.amazon.origin import INBOUND_ACTOR, applying_amazon_change
from saleschannel.amazon.privacy import keeps_personal_data
from saleschannel.amazon.sku_mapping import products_for_skus
from saleschannel.amazon.spapi.normalise import AmazonOrderData, AmazonPackageData
from saleschannel.catalog.models import Product
from saleschannel.catalog.services import StockError, stock_release, stock_reserve_many
from saleschannel.core import events as domain_events
from saleschannel.core.bulk import insert_new
from saleschannel.core.i18n import gettext as _
from saleschannel.core.money import quantum, to_money
from saleschannel.customers.services import CustomerError, customer_get_or_create
from saleschannel.sales.errors import OrderActionError
from saleschannel.sales.models import Order, OrderState, OrderStatus, ShipmentTrack
from saleschannel.sales.services import (
    OrderDraft,
    order_cancel_for_channel,
    order_comment_add,
    order_create,
    order_prepare,
    orders_create_many,
    shipment_create,
    stock_reference,
)

logger = logging.getLogger(__name__)

S = AmazonOrderStatus

CARRIERS = {
    "ups": "ups", "usps": "usps", "fedex": "fedex", "dhl": "dhl", "royal mail": "royal_mail", "royalmail": "royal_mail",
    "dpd": "dpd", "gls": "gls", "colissimo": "colissimo", "chronopost": "chronopost",
}


# What acting on an order may change (everything but the mirror and the raw copy written by the insert).
_MUTABLE_FIELDS = ["status", "amazon_status", "notes", "notes_code", "notes_params", "import_error", "import_attempts",
                   "is_reserved", "commerce_order", "buyer_cancel_requested", "buyer_cancel_reason", "refetch_needed",
                   "updated_at"]


class Outcome(StrEnum):
    """What importing one Amazon order did."""

    CREATED = "created"  # its Commerce order was created
    UPDATED = "updated"  # mirrored and acted on (status, reservation, changes from Amazon)
    UNCHANGED = "unchanged"  # an overlap repeat: nothing new
    ERROR = "error"  # kept in Error, with a note saying why


# --- A page ---------------------------------------------------------------------------------------------------


@dataclass
class PageCounts:
    """What a page (then the whole pass) did, for its ``SyncRun``."""

    seen: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    skipped: int = 0  # orders that could not even be kept (no order id): the run says so
    acted_on: set[str] = field(default_factory=set)  # orders handled in this pass (not retried again in it)

    def add(self, other: PageCounts) -> None:
        self.seen += other.seen
        self.created += other.created
        self.updated += other.updated
        self.failed += other.failed
        self.skipped += other.skipped
        self.acted_on |= other.acted_on


class ImportContext:
    """What a page shares: the store, its products by SKU (one query per page)."""

    def __init__(self, store: AmazonStore, skus: Iterable[str]) -> None:
        self.store = store
        skus = {s for s in skus if s}
        # {Commerce SKU: product} and {(marketplace or "", Amazon seller SKU): mapped product}
        self.products, self.mapped = products_for_skus(store, skus)
        self._processing_status: str | None = None

    def product_for(self, sku: str, marketplace_id: str = "") -> Product | None:
        """The product an Amazon seller SKU is sold as: its mapping (this marketplace's, then the store's), else
        the product with the same SKU. Looked up (one query) when the page did not read it."""
        product = self._known(sku, marketplace_id)
        if product is None and sku not in self.products:
            products, mapped = products_for_skus(self.store, {sku})
            self.products.update(products)
            self.mapped.update(mapped)
            self.products.setdefault(sku, None)  # known missing: not asked again
            product = self._known(sku, marketplace_id)
        return product

    def _known(self, sku: str, marketplace_id: str) -> Product | None:
        return (self.mapped.get((marketplace_id, sku)) if marketplace_id else None) or self.mapped.get(
            ("", sku)) or self.products.get(sku)

    @property
    def processing_status(self) -> str | None:
        """The default status of the processing state (merchants may have changed which one it is)."""
        if self._processing_status is None:
            self._processing_status = OrderStatus.objects.filter(
                state=OrderState.PROCESSING, is_default=True).values_list("code", flat=True).first() or ""
        return self._processing_status or None


def _decision(store: AmazonStore, order: AmazonOrder) -> rules.ImportDecision:
    """What to do with ``order`` in ``store`` (``rules.import_decision``, the one place that decides)."""
    return rules.import_decision(
        fulfillment_channel=order.fulfillment_channel, amazon_status=order.amazon_status,
        import_enabled=store.import_enabled, reserve_pending=store.reserve_pending, import_fba=store.import_fba,
    )


def _batchable(store: AmazonStore, order: AmazonOrder, decision: rules.ImportDecision) -> bool:
    """Whether a new order's whole import is a plain insert (no stock held yet, no shipment, no customer account)."""
    if decision.outcome == rules.Outcome.CREATE:
        return not decision.as_complete and not (
            store.customer_creation == CustomerCreation.ACCOUNT and order.buyer_email)
    return decision.outcome in (rules.Outcome.WAIT, rules.Outcome.RELEASE)  # mirrored only


def import_new_orders(context: ImportContext, datas: list[AmazonOrderData], counts: PageCounts,
                       after_order: Callable[[AmazonOrderData], None] | None) -> list[AmazonOrderData]:
    """Import orders seen for the first time in one transaction: Commerce orders, then the Amazon orders, their
    items and events, one ``INSERT`` per table for the whole page.

    The same rules as one by one: every order is checked first (an order that cannot be created is mirrored as
    ``Error`` with its note, and the others go on); exactly once is still the unique Amazon order id, so a pass
    racing this one makes the whole batch roll back (``IntegrityError``) and the page is redone order by order,
    which sees the other pass's rows. A crash anywhere rolls the whole batch back; the watermark has not moved,
    so the next pass redoes the page.

    Returns the orders left for the one-by-one path.
    """
    store = context.store
    target = store.target_store
    batch, left = [], []
    creating = []
    for data in datas:
        order, items, events = mirror_new(store, data)
        decision = _decision(store, order)
        if not _batchable(store, order, decision):
            left.append(data)
            continue
        if decision.outcome == rules.Outcome.CREATE:
            order.import_attempts += 1
            try:
                problem = _precheck(context, order, items, target)
                if problem is None:
                    creating.append((order, events, order_prepare(
                        check_number=False, **_commerce_order_arguments(context, order, items, as_complete=False))))
            except OrderActionError as error:
                problem = error.message
            except Exception:  # a fault of ours with this order: let the one-by-one path record it
                logger.exception("Amazon order %s could not be prepared", data.amazon_order_id)
                left.append(data)
                continue
            if problem:
                _mark_error(order, events, problem)
        batch.append((data, order, items, events))
    if not batch:
        return left
    try:
        with transaction.atomic(), applying_amazon_change():
            commerce_orders = orders_create_many(new_orders=[new for _order, _events, new in creating])
            for (order, events, _new), commerce in zip(creating, commerce_orders, strict=True):
                _imported(context, order, events, commerce, as_complete=False)
            insert_new([order for _data, order, _items, _events in batch])
            domain_events.publish_many(domain_events.AMAZON_ORDER_ERROR, [  # the orders _mark_error put in Error
                domain_events.amazon_order_error_payload(order) for _d, order, *_r in batch if order.status == S.ERROR])
            insert_new([item for _data, _order, items, _events in batch for item in items])
            insert_new(
                [event for _data, _order, _items, events in batch for event in events])
            if after_order:
                for data, *_rest in batch:
                    after_order(data)
    except (IntegrityError, OrderActionError, StockError) as error:
        logger.info("Amazon orders of store %s imported one by one: %s", store.pk, error)
        return [data for data, *_rest in batch] + left
    for data, order, _items, _events in batch:
        counts.seen += 1
        counts.acted_on.add(data.amazon_order_id)
        if order.status == S.ERROR:
            counts.failed += 1
        elif order.commerce_order_id:
            counts.created += 1
        else:
            counts.updated += 1
    return left


# --- One order ------------------------------------------------------------------------------------------------


def import_order(*, context: ImportContext, data: AmazonOrderData, existing: AmazonOrder | None) -> Outcome:
    """Upsert one Amazon order and act on it; returns created, updated, unchanged or error."""
    store = context.store
    if existing is not None and existing.store_id != store.pk:
        logger.warning("Amazon order %s belongs to another Amazon store; skipped", data.amazon_order_id)
        return Outcome.UNCHANGED
    if (existing is not None and existing.last_update_date == data.last_update_date
            and existing.status != S.ERROR and existing.amazon_status == data.status):
        return Outcome.UNCHANGED  # an overlap repeat: nothing new on Amazon, nothing left to do here
    with transaction.atomic():
        order, events = _upsert(store, data, existing)
        outcome = act_on_order(context, order, events, packages=data.packages)
        if getattr(order, "_inserted_now", False):
            # Just inserted with its raw JSON: write back only what acting on it changed.
            order.save(update_fields=_MUTABLE_FIELDS)
        else:
            order.save()
        AmazonOrderEvent.objects.bulk_create(events)
    return outcome


def _upsert(store: AmazonStore, data: AmazonOrderData, existing: AmazonOrder | None):
    if existing is None:
        order, items, events = mirror_new(store, data)
        try:
            with transaction.atomic():
                order.save(force_insert=True)
        except IntegrityError:  # another worker inserted it a moment ago: continue with theirs
            existing = AmazonOrder.objects.get(amazon_order_id=data.amazon_order_id)
        else:
            order._inserted_now = True
            items = AmazonOrderItem.objects.bulk_create(items)
            # Later reads of order.items.all() use these instead of asking the database again.
            order._prefetched_objects_cache = {"items": AmazonOrderItem.objects.none()}
            order._prefetched_objects_cache["items"]._result_cache = items
            return order, events
    events = []
    # Existing row: lock it, so a concurrent pass waits here and then sees what this one did.
    order = AmazonOrder.objects.select_for_update().get(pk=existing.pk)
    previous_status = order.amazon_status
    had_cancel_request = order.buyer_cancel_requested
    if order.refetch_needed:
        # Kept in Error because Amazon's last copy could not be read or imported: this one can, so the order
        # takes Amazon's status again and is acted on below like any other.
        order.refetch_needed = False
        order.import_error = ""
        order.status = data.status
    copy_order_fields(order, data)
    order.raw = data.raw if keeps_personal_data(order) else {}
    order.amazon_status = data.status
    items = {i.order_item_id: i for i in order.items.all()}
    new_items, changed = [], []
    for item_data in data.items:
        item = items.get(item_data.order_item_id)
        if item is None:
            new_items.append(new_item(order, item_data))
            continue
        if any(getattr(item, f) != getattr(item_data, f) for f in ITEM_FIELDS):
            for f in ITEM_FIELDS:
                setattr(item, f, getattr(item_data, f))
            changed.append(item)
    if new_items:
        AmazonOrderItem.objects.bulk_create(new_items)
    if changed:
        AmazonOrderItem.objects.bulk_update(changed, list(ITEM_FIELDS))
    if previous_status != data.status:
        record_event(order, events, "status", msg("status_updated", status=data.status))
        if order.status not in (S.ERROR,):
            order.status = data.status
    if data.buyer_requested_cancel and not had_cancel_request:
        flag_buyer_cancel(order, events, data)
    return order, events


# --- What to do with an order --------------------------------------------------------------------------------


def act_on_order(context: ImportContext, order: AmazonOrder, events: list, *,
                 packages: list[AmazonPackageData] = ()) -> Outcome:
    """Act on a mirrored order (its row locked): create its Commerce order, reserve or release stock, or reflect
    what Amazon changed on the Commerce order it has."""
    store = context.store
    if order.commerce_order_id:
        _apply_amazon_changes(order, events, packages)
        return Outcome.UPDATED
    decision = _decision(store, order)
    if decision.outcome == rules.Outcome.CREATE:
        created = _create_commerce_order(context, order, events, as_complete=decision.as_complete, packages=packages)
        if created:
            _apply_amazon_changes(order, events, packages)
            return Outcome.CREATED
        return Outcome.ERROR
    if order.status == S.ERROR:  # no longer importable (e.g. canceled): the error is moot
        order.import_error = ""
        order.status = order.amazon_status
    if decision.outcome == rules.Outcome.RESERVE and not order.is_reserved:
        _reserve_pending(context, order, events)
    elif decision.outcome == rules.Outcome.RELEASE and order.is_reserved:
        released = stock_release(reference=order.reservation_reference)
        order.is_reserved = False
        record_event(order, events, "released", msg("released", qty=released))
    return Outcome.UPDATED


def _reserve_pending(context: ImportContext, order: AmazonOrder, events: list) -> None:
    items = list(order.items.all())
    quantities: dict[Product, int] = {}
    for item in items:
        product = context.product_for(item.seller_sku, order.marketplace_id)
        if product is None or not product.enabled:
            record_event(order, events, "reserve_failed", msg("reserve_unavailable"), level=EventLevel.WARNING)
            return
        quantities[product] = quantities.get(product, 0) + item.qty_ordered
    try:
        with transaction.atomic():
            stock_reserve_many(quantities=quantities, reference=order.reservation_reference)
    except StockError:
        record_event(order, events, "reserve_failed", msg("reserve_unavailable"), level=EventLevel.WARNING)
        return
    order.is_reserved = True
    record_event(order, events, "reserved", msg("reserved"))


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = (name or "").strip().partition(" ")
    return first.strip(), last.strip()


def _commerce_address(order: AmazonOrder) -> dict:
    first, last = _split_name(order.ship_name or order.buyer_name)
    return {
        "first_name": first or _("Amazon"),
        "last_name": last or _("Customer"),
        "company": order.ship_company or order.buyer_company,
        "street1": order.ship_address_line1,
        "street2": order.ship_address_line2,
        "street3": order.ship_address_line3,
        "city": order.ship_city,
        "region": order.ship_region,
        "postcode": order.ship_postal_code,
        "country_code": order.ship_country_code,
        "phone": order.ship_phone,
    }


def placeholder_email(amazon_order_id: str) -> str:
    return f"{amazon_order_id}@marketplace.amazon.invalid"


def _precheck(context: ImportContext, order: AmazonOrder, items: list[AmazonOrderItem], target_store) -> str | None:
    """Reasons known before trying (cheap, from the page's products); the order services check stock again."""
    if order.order_total is None:
        return _("Amazon has not given the order total yet.")
    if order.currency and order.currency != target_store.currency:
        return _("The order is in %(currency)s but Commerce store %(store)s uses %(store_currency)s.") % {
            "currency": order.currency, "store": target_store.name, "store_currency": target_store.currency}
    if not items:
        return _("Amazon gave no items for this order.")
    wanted: dict[str, int] = {}
    for item in items:
        wanted[item.seller_sku] = wanted.get(item.seller_sku, 0) + item.qty_ordered
    for sku, qty in wanted.items():
        product = context.product_for(sku, order.marketplace_id)
        if product is None or not product.enabled or not product.is_in_stock:
            return rules.product_problem(product, sku=sku, qty=qty, fba=order.is_fba)
    return None


def _commerce_order_arguments(context: ImportContext, order: AmazonOrder, items: list[AmazonOrderItem], *,
                               as_complete: bool) -> dict:
    """``order_prepare``/``order_create`` arguments for the Commerce order of ``order`` (without the customer)."""
    store = context.store
    target = store.target_store
    currency = order.currency or target.currency
    lines = []
    for item in items:
        row = to_money(item.item_price, currency)
        unit = (row / item.qty_ordered).quantize(quantum(currency)) if item.qty_ordered else row
        lines.append({
            "sku": _commerce_sku(context, order, item.seller_sku), "qty": item.qty_ordered, "price": unit,
            "original_price": unit, "row_total": row,
            "tax_amount": to_money(item.item_tax, currency),
            "discount_amount": to_money(item.promotion_discount, currency),
            "name": (item.title or item.seller_sku)[:255], "external_item_id": item.order_item_id,
        })
    first, last = _split_name(order.buyer_name or order.ship_name)
    first, last = first or _("Amazon"), last or _("Customer")
    email = order.buyer_email or placeholder_email(order.amazon_order_id)
    address = _commerce_address(order)
    address["email"] = email
    shipping = sum((i.shipping_price for i in items), Decimal("0"))
    shipping_tax = sum((i.shipping_tax for i in items), Decimal("0"))
    shipping_discount = sum((i.shipping_discount for i in items), Decimal("0"))
    status = None
    if store.order_status_mode == OrderStatusMode.CUSTOM and store.custom_processing_status:
        status = store.custom_processing_status
    elif not as_complete:
        status = context.processing_status
    level = order.ship_service_level or order.shipment_service_level_category
    draft = OrderDraft(
        store=target, items=lines, customer_email=email, customer_first_name=first,
        customer_last_name=last, billing_address=address, shipping_address=address,
        payment_method_code="amazon", payment_method_title=_("Amazon Channel Payment"),
        payment_additional_information={"Amazon Order Number": order.amazon_order_id},  # shown translated
        shipping_method_code="amazon",
        shipping_method_title=(_("Amazon Channel Shipping") + (f" - {level}" if level else ""))[:255],
        shipping_amount=to_money(shipping, currency), shipping_tax_amount=to_money(shipping_tax, currency),
        discount_amount=to_money(shipping_discount, currency), origin="amazon",
        external_order_number=order.amazon_order_id,
        number=order.amazon_order_id if store.order_number_source == OrderNumberSource.AMAZON else None,
        created_at=order.purchase_date, status=status, reserve_stock=not as_complete,
        check_stock=not as_complete, send_email=False, expected_grand_total=order.order_total,
        # Invoiced in the same statements as the order (as invoice_create would, without re-reading it).
        invoice=store.invoice_on_import or as_complete,
    )
    products = {product.sku: product for product in context.products.values() if product is not None}
    return {"draft": draft, "products": products, "actor": INBOUND_ACTOR}


def _commerce_sku(context: ImportContext, order: AmazonOrder, seller_sku: str) -> str:
    """The SKU of the Commerce product an Amazon line is sold as (a mapping's product), else Amazon's SKU."""
    product = context.product_for(seller_sku, order.marketplace_id)
    return product.sku if product is not None else seller_sku


def _create_commerce_order(context: ImportContext, order: AmazonOrder, events: list, *, as_complete: bool,
                           packages: list[AmazonPackageData]) -> bool:
    store = context.store
    items = list(order.items.all())
    order.import_attempts += 1
    problem = _precheck(context, order, items, store.target_store)
    if problem:
        _mark_error(order, events, problem)
        return False
    arguments = _commerce_order_arguments(context, order, items, as_complete=as_complete)
    try:
        with transaction.atomic(), applying_amazon_change():
            if order.is_reserved:
                # The Pending reservation moves to the Commerce order, which reserves under its own name below.
                stock_release(reference=order.reservation_reference)
            customer = None
            if store.customer_creation == CustomerCreation.ACCOUNT and order.buyer_email:
                draft = arguments["draft"]
                customer = customer_get_or_create(
                    email=draft.customer_email, first_name=draft.customer_first_name,
                    last_name=draft.customer_last_name, store=store.target_store)
            commerce = order_create(**{**arguments, "draft": arguments["draft"].with_values(customer=customer)})
            if as_complete:
                shipment_create(order=commerce, tracks=_tracks(packages, set()), actor=INBOUND_ACTOR)
            order.commerce_order = commerce
            # The unique one-to-one decides between two workers racing on the same order.
            AmazonOrder.objects.filter(pk=order.pk).update(commerce_order=commerce)
    except (OrderActionError, StockError, CustomerError) as error:
        _mark_error(order, events, error.message)
        return False
    except IntegrityError:
        order.commerce_order_id = AmazonOrder.objects.filter(pk=order.pk).values_list(
            "commerce_order_id", flat=True).get()
        if order.commerce_order_id is None:
            raise
        record_event(order, events, "duplicate", msg("duplicate"), note=False)
        return False
    _imported(context, order, events, commerce, as_complete=as_complete)
    return True


def _imported(context: ImportContext, order: AmazonOrder, events: list, commerce, *, as_complete: bool) -> None:
    order.commerce_order = commerce
    order.is_reserved = not as_complete
    order.import_error = ""
    order.status = order.amazon_status
    invoiced = context.store.invoice_on_import or as_complete
    record_event(order, events, "imported", msg("imported_invoiced" if invoiced else "imported",
                                                number=commerce.number))


def _mark_error(order: AmazonOrder, events: list, reason: str) -> None:
    message = msg("import_error", reason=reason)
    repeated = order.status == S.ERROR and order.import_error == reason
    order.status = S.ERROR
    order.import_error = reason
    if not repeated:
        record_event(order, events, "error", message, level=EventLevel.ERROR)
        if order.pk is not None:  # one by one, in the order's transaction (a batch announces its own: see above)
            domain_events.publish(domain_events.AMAZON_ORDER_ERROR, domain_events.amazon_order_error_payload(order))


def _tracks(packages: Iterable[AmazonPackageData], known_numbers: set[str]) -> list[dict]:
    tracks = []
    for package in packages or ():
        if not package.tracking_number or package.tracking_number in known_numbers:
            continue
        name = (package.carrier or "").strip()
        code = CARRIERS.get(name.lower(), "custom")
        tracks.append({"carrier_code": code, "title": name or "Amazon", "number": package.tracking_number[:128]})
    return tracks


def _apply_amazon_changes(order: AmazonOrder, events: list, packages: list[AmazonPackageData]) -> None:
    """The Commerce order exists: reflect what Amazon changed (§4.4)."""
    status = order.amazon_status
    needs_commerce = (
        (status == S.SHIPPED and order.status != S.COMPLETED)
        or status == S.CANCELED
        or any(e.kind == "buyer_cancel" for e in events)
    )
    if not needs_commerce:
        if order.status not in (S.COMPLETED, S.ERROR):
            order.status = status
        return
    commerce = Order.objects.prefetch_related("items").get(pk=order.commerce_order_id)
    with applying_amazon_change():
        if any(e.kind == "buyer_cancel" for e in events):
            order_comment_add(order=commerce, comment=_("Amazon: the buyer requested cancellation (%(reason)s). "
                                                        "Decide whether to cancel the order on Amazon.")
                              % {"reason": order.buyer_cancel_reason or _("no reason given")}, actor=INBOUND_ACTOR)
        if status == S.SHIPPED and order.status != S.COMPLETED:
            remaining = {i.pk: i.qty_to_ship for i in commerce.items.all() if i.qty_to_ship}
            if remaining and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
                known = set(ShipmentTrack.objects.filter(shipment__order=commerce).values_list("number", flat=True))
                shipment_create(order=commerce, quantities=remaining, tracks=_tracks(packages, known),
                                comment=_("Shipped in Amazon Seller Central."), actor=INBOUND_ACTOR)
                record_event(order, events, "shipped", msg("shipped_on_amazon"))
            order.status = S.COMPLETED
            order.is_reserved = False
            record_event(order, events, "completed", msg("status_updated", status=S.SHIPPED))
        elif status == S.CANCELED and commerce.state not in (OrderState.CANCELED, OrderState.CLOSED):
            try:
                message = _cancel_commerce_order(commerce)
            except OrderActionError as error:
                # Commerce refuses for now (e.g. the order is on hold): visible in Error, and tried again at every
                # pass (refetch_orders) until it applies.
                _keep_for_another_look(order, events, msg("cancel_not_applied", reason=error.message))
                return
            stock_release(reference=stock_reference(commerce))
            stock_release(reference=order.reservation_reference)
            order.is_reserved = False
            order.status = S.CANCELED
            record_event(order, events, "canceled", message)
        elif order.status not in (S.COMPLETED, S.ERROR):
            order.status = status


def _cancel_commerce_order(commerce) -> Message:
    """Amazon canceled the order: refund what was paid, cancel the rest (``order_cancel_for_channel``)."""
    done = order_cancel_for_channel(order=commerce, reason=_("Canceled on Amazon."), actor=INBOUND_ACTOR)
    return msg("canceled_on_amazon", done=done)


def _keep_for_another_look(order: AmazonOrder, events: list, message: Message) -> None:
    """A change from Amazon that Commerce cannot apply yet: the order shows it, in Error, and is asked for again
    at every pass until the change applies."""
    repeated = order.status == S.ERROR and order.import_error == str(message)
    order.status = S.ERROR
    order.import_error = str(message)
    order.refetch_needed = True
    if not repeated:
        record_event(order, events, "error", message, level=EventLevel.ERROR)
        domain_events.publish(domain_events.AMAZON_ORDER_ERROR, domain_events.amazon_order_error_payload(order))

