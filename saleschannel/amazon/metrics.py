"""Seller metrics (DESIGN.md §8.4) projected from our own records, per Amazon store and marketplace.

The definitions are decided here once; the dashboard, the ``amazon health`` command and the comparison with
Amazon's own report (``seller_performance``) only display them. Merchant-fulfilled (MFN) orders only.

* **Late Shipment Rate** (10 and 30 days): orders whose first shipment confirmation *Amazon accepted* (the
  shipment outbox message's ``completed_at``, not when the Commerce shipment was created) falls in the window;
  late when that acceptance came after the order's Latest Ship Date. Target < 4 %.
* **Pre-fulfillment Cancel Rate** (7 days): orders purchased in the window (not Pending); canceled by us (an
  accepted cancellation message) unless the buyer asked for it (a buyer cancel request on the order or an item,
  or the reason BuyerCanceled). Target < 2.5 %.
* **Valid Tracking Rate** (7 and 30 days): shipment confirmations (packages) Amazon accepted in the window; valid
  with a tracking number and a carrier of Amazon's list (``TRACKABLE_CARRIERS``: the Amazon carrier code, or the
  carrier name when the code is Other). Target > 95 %.
* **On-Time Delivery Rate** (14 days): needs delivery scans, which the back office does not record: always "not
  available" here (Amazon's report shows its own figure).

A window is ``days`` × 24 h ending at the moment of the projection, its start excluded (as Amazon's report).

Status: *bad* when the target is missed; *at risk* when the defect share (late, canceled, invalid tracking) has
reached ``AT_RISK_SHARE`` (75 %) of the allowed share: LSR ≥ 3 %, PFCR ≥ 1.875 %, VTR ≤ 96.25 %, OTDR ≤ 92.5 %;
*good* otherwise; *none* when the window holds no order (a rate of 0 with nothing behind it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saleschannel.amazon.models import (
    AmazonOrder,
    AmazonOrderItem,
    AmazonOrderStatus,
    AmazonStore,
    FulfillmentChannel,
    OutboxKind,
    OutboxMessage,
    OutboxState,
)

# Carriers whose tracking Amazon can follow: the Amazon carrier code, or the carrier name when the code is Other.
TRACKABLE_CARRIERS = frozenset({
    "UPS", "USPS", "FedEx", "DHL", "DHL eCommerce", "Amazon Shipping", "OnTrac", "Royal Mail", "Parcelforce", "DPD",
    "Hermes", "Evri", "Yodel", "GLS", "Deutsche Post", "Colissimo", "Chronopost", "La Poste", "Mondial Relay",
    "Yamato Transport", "Sagawa Express", "Japan Post",
})
BUYER_CANCEL_REASON = "BuyerCanceled"
AT_RISK_SHARE = 0.75
TREND_DAYS = 30
LESS_THAN, GREATER_THAN = "LESS_THAN", "GREATER_THAN"
GOOD, AT_RISK, BAD, NONE = "good", "at_risk", "bad", "none"
STATUS_LABELS = {GOOD: _("Good"), AT_RISK: _("At risk"), BAD: _("Bad"), NONE: _("No orders")}
STATUS_COLOURS = {GOOD: "var(--ok)", AT_RISK: "var(--warn)", BAD: "var(--err)"}  # the dashboard's, the dialog's
STATUS_NOTICES = {GOOD: "info", AT_RISK: "warning", BAD: "error"}  # the notice class of a status (the dialog)


@dataclass(frozen=True)
class MetricDef:
    key: str
    label: str
    days: int
    target: float
    condition: str
    amazon_key: str  # the metric of Amazon's report (GET_V2_SELLER_PERFORMANCE_REPORT)
    amazon_window: bool  # Amazon's report uses this window

    @property
    def at_risk_from(self) -> float:
        """The rate from which the metric is at risk (see ``status_of``)."""
        if self.condition == LESS_THAN:
            return AT_RISK_SHARE * self.target
        return 1 - AT_RISK_SHARE * (1 - self.target)


METRICS = (
    MetricDef("lsr_10", _("Late Shipment Rate (10 days)"), 10, 0.04, LESS_THAN, "lateShipmentRate", False),
    MetricDef("lsr_30", _("Late Shipment Rate (30 days)"), 30, 0.04, LESS_THAN, "lateShipmentRate", True),
    MetricDef("pfcr_7", _("Pre-fulfillment Cancel Rate (7 days)"), 7, 0.025, LESS_THAN,
              "preFulfillmentCancellationRate", True),
    MetricDef("vtr_7", _("Valid Tracking Rate (7 days)"), 7, 0.95, GREATER_THAN, "validTrackingRate", False),
    MetricDef("vtr_30", _("Valid Tracking Rate (30 days)"), 30, 0.95, GREATER_THAN, "validTrackingRate", True),
    MetricDef("otdr_14", _("On-Time Delivery Rate (14 days)"), 14, 0.90, GREATER_THAN, "onTimeDeliveryRate", True),
)
METRICS_BY_KEY = {m.key: m for m in METRICS}


def status_of(rate: float | None, count: int, metric: MetricDef) -> str:
    """good / at_risk / bad (see the module's docstring); none without orders (or data)."""
    if rate is None or not count:
        return NONE
    if metric.condition == LESS_THAN:
        defect, allowed = rate, metric.target
        missed = rate >= metric.target
    else:
        defect, allowed = 1 - rate, 1 - metric.target
        missed = rate <= metric.target
    if missed:
        return BAD
    return AT_RISK if defect >= AT_RISK_SHARE * allowed - 1e-12 else GOOD


@dataclass
class MetricValue:
    metric: MetricDef
    numerator: int = 0
    denominator: int = 0
    available: bool = True
    numerator_ids: set[int] = field(default_factory=set)  # the orders behind the numerator
    defect_ids: set[int] = field(default_factory=set)  # the orders that pull the rate the wrong way
    trend: list[tuple[datetime, float | None]] = field(default_factory=list)  # (day's end, rate), oldest first

    @property
    def rate(self) -> float | None:
        if not self.available:
            return None
        return self.numerator / self.denominator if self.denominator else 0.0

    @property
    def status(self) -> str:
        return status_of(self.rate, self.denominator, self.metric) if self.available else NONE

    @property
    def status_label(self) -> str:
        return str(_("Not available")) if not self.available else str(STATUS_LABELS[self.status])

    @property
    def percent(self) -> str:
        """The rate in percent, two decimals, '.' as decimal mark (for the command and attributes)."""
        return "—" if self.rate is None else f"{self.rate * 100:.2f}"

    @property
    def percent_value(self) -> float | None:
        """The rate in percent (for display, localised by the template)."""
        return None if self.rate is None else self.rate * 100

    def orders(self) -> QuerySet:
        return AmazonOrder.objects.filter(pk__in=self.numerator_ids)

    def defects(self) -> QuerySet:
        return AmazonOrder.objects.filter(pk__in=self.defect_ids)


@dataclass
class _Order:
    pk: int
    purchased: datetime
    latest_ship: datetime | None
    pending: bool
    buyer_asked: bool
    confirmed: datetime | None = None  # first shipment confirmation Amazon accepted
    canceled: datetime | None = None  # our cancellation Amazon accepted (not a buyer-requested one)


def _valid_tracking(payload: dict) -> bool:
    code = payload.get("carrier_code") or ""
    carrier = payload.get("carrier_name") if code == "Other" else code
    return bool(str(payload.get("tracking_number") or "").strip()) and carrier in TRACKABLE_CARRIERS


class _Records:
    """What the projections need of one store and marketplace, read once (for the trend as well)."""

    def __init__(self, store: AmazonStore | int, marketplace_id: str, horizon: datetime,
                 kinds: tuple[str, ...] = (OutboxKind.SHIPMENT, OutboxKind.CANCEL)):
        mfn = AmazonOrder.objects.filter(store=store, marketplace_id=marketplace_id,
                                         fulfillment_channel=FulfillmentChannel.MFN)
        accepted = OutboxMessage.objects.filter(amazon_order__in=mfn, state=OutboxState.ACCEPTED,
                                                kind__in=list(kinds),
                                                completed_at__gt=horizon)
        messages = list(accepted.values_list("amazon_order_id", "kind", "completed_at", "payload"))
        wanted = {m[0] for m in messages}
        read = mfn.filter(Q(purchase_date__gt=horizon) | Q(pk__in=wanted))
        # Only the items of the orders read: over all of a store's orders, the lookup took 0.28 s at 300,000 Amazon
        # orders (SQLite), on every order view and dashboard (bench/backoffice.py).
        asked_items = set(AmazonOrderItem.objects.filter(order__in=read, buyer_requested_cancel=True)
                          .values_list("order_id", flat=True))
        self.orders: dict[int, _Order] = {}
        # The first confirmation over all time (an order's first package may be older than the horizon).
        first = Min("outbox_messages__completed_at", filter=Q(outbox_messages__kind=OutboxKind.SHIPMENT,
                                                              outbox_messages__state=OutboxState.ACCEPTED))
        rows = read.annotate(first=first).values_list(
            "pk", "purchase_date", "latest_ship_date", "amazon_status", "buyer_cancel_requested", "first")
        for pk, purchased, latest_ship, status, asked, confirmed in rows:
            self.orders[pk] = _Order(pk, purchased, latest_ship, status == AmazonOrderStatus.PENDING,
                                     asked or pk in asked_items, confirmed)
        self.packages: list[tuple[int, datetime, bool]] = []  # (order, accepted at, valid tracking)
        for order_id, kind, at, payload in sorted(messages, key=lambda m: m[2]):
            order = self.orders.get(order_id)
            if order is None:
                continue
            if kind == OutboxKind.SHIPMENT:
                self.packages.append((order_id, at, _valid_tracking(payload or {})))
            elif (payload or {}).get("reason") != BUYER_CANCEL_REASON and not order.buyer_asked:
                order.canceled = order.canceled or at


def _inside(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start < moment <= end


def _value(records: _Records, metric: MetricDef, as_of: datetime) -> MetricValue:
    start = as_of - timedelta(days=metric.days)
    value = MetricValue(metric)
    if metric.amazon_key == "lateShipmentRate":
        confirmed = [o for o in records.orders.values() if _inside(o.confirmed, start, as_of)]
        late = {o.pk for o in confirmed if o.latest_ship and o.confirmed > o.latest_ship}
        value.denominator, value.numerator = len(confirmed), len(late)
        value.numerator_ids = value.defect_ids = late
    elif metric.amazon_key == "preFulfillmentCancellationRate":
        placed = [o for o in records.orders.values() if _inside(o.purchased, start, as_of) and not o.pending]
        canceled = {o.pk for o in placed if o.canceled is not None and o.canceled <= as_of}
        value.denominator, value.numerator = len(placed), len(canceled)
        value.numerator_ids = value.defect_ids = canceled
    elif metric.amazon_key == "validTrackingRate":
        packages = [(pk, valid) for pk, at, valid in records.packages if _inside(at, start, as_of)]
        value.denominator = len(packages)
        value.numerator = sum(1 for _pk, valid in packages if valid)
        value.numerator_ids = {pk for pk, valid in packages if valid}
        value.defect_ids = {pk for pk, valid in packages if not valid}
    else:  # on-time delivery: no delivery scans in our records
        value.available = False
    return value


@dataclass
class MarketplaceMetrics:
    store: AmazonStore
    marketplace_id: str
    as_of: datetime
    values: list[MetricValue]

    def get(self, key: str) -> MetricValue:
        return next(v for v in self.values if v.metric.key == key)

    @property
    def worst(self) -> str:
        statuses = {v.status for v in self.values}
        return next((s for s in (BAD, AT_RISK, GOOD) if s in statuses), NONE)


def marketplace_metrics(store: AmazonStore, marketplace_id: str, *, as_of: datetime | None = None,
                        trend_days: int = TREND_DAYS) -> MarketplaceMetrics:
    """Every metric of one marketplace as of ``as_of`` (now), each with its daily trend over ``trend_days``: the
    value as of the end of each of the last days (the last point is ``as_of`` itself)."""
    as_of = as_of or timezone.now()
    longest = max(m.days for m in METRICS)
    records = _Records(store, marketplace_id, as_of - timedelta(days=longest + trend_days))
    values = []
    for metric in METRICS:
        value = _value(records, metric, as_of)
        if value.available:
            for back in range(trend_days - 1, -1, -1):
                moment = as_of - timedelta(days=back)
                point = _value(records, metric, moment)
                value.trend.append((moment, point.rate if point.denominator else None))
        values.append(value)
    return MarketplaceMetrics(store, marketplace_id, as_of, values)


def store_metrics(store: AmazonStore, *, as_of: datetime | None = None,
                  trend_days: int = TREND_DAYS) -> list[MarketplaceMetrics]:
    """The metrics of each marketplace of ``store``."""
    as_of = as_of or timezone.now()
    return [marketplace_metrics(store, m, as_of=as_of, trend_days=trend_days) for m in store.marketplace_ids or []]


@dataclass(frozen=True)
class CancelProjection:
    """The Pre-fulfillment Cancel Rate of an order's store and marketplace now and if the seller canceled the order
    now with any reason but BuyerCanceled (``cancel_projection``): for the cancel dialog."""

    now: MetricValue
    after: MetricValue
    in_window: bool  # the order was placed in the metric's window (else canceling it changes nothing)
    buyer_asked: bool  # a buyer cancel request on the order or an item: the cancel does not count, whatever the reason

    @property
    def counts(self) -> bool:
        """The cancel adds the order to the numerator (it was neither counted yet nor asked by the buyer)."""
        return self.after.numerator > self.now.numerator

    @property
    def colour(self) -> str:
        return STATUS_COLOURS.get(self.after.status, "inherit")

    @property
    def notice(self) -> str:
        return STATUS_NOTICES.get(self.after.status, "info")

    @property
    def limit_percent(self) -> Decimal:
        """The target in percent (2.5; a Decimal, localised by the template)."""
        return Decimal(f"{self.after.metric.target * 100:.4g}")


def cancel_projection(order: AmazonOrder, *, as_of: datetime | None = None) -> CancelProjection | None:
    """The PFCR (7 days) of ``order``'s store and marketplace now (``as_of``) and after the seller cancels ``order``
    now, by the metric's own definition (``_value``): canceled, the order is no longer Pending; it joins the
    numerator unless already counted or asked by the buyer; it is in the denominator when placed in the window (an
    order placed before it changes neither). None for an FBA order (the metric counts MFN orders only).
    Three queries; ``order.store`` is not read."""
    if order.fulfillment_channel != FulfillmentChannel.MFN:
        return None
    as_of = as_of or timezone.now()
    metric = METRICS_BY_KEY["pfcr_7"]
    start = as_of - timedelta(days=metric.days)
    records = _Records(order.store_id, order.marketplace_id, start, kinds=(OutboxKind.CANCEL,))
    now = _value(records, metric, as_of)
    # Not read when placed before the window without a cancellation in it: its items' requests do not matter then.
    known = records.orders.get(order.pk) or _Order(order.pk, order.purchase_date, order.latest_ship_date,
                                                   False, order.buyer_cancel_requested)
    records.orders[order.pk] = replace(known, pending=False,
                                       canceled=known.canceled or (None if known.buyer_asked else as_of))
    after = _value(records, metric, as_of)
    return CancelProjection(now, after, _inside(known.purchased, start, as_of), known.buyer_asked)


def _scale(value: MetricValue) -> tuple[float, float]:
    """The chart's range of rates: from 0 to twice the limit (or the highest rate) for a rate that must stay low;
    from twice the allowed shortfall below the target (or the lowest rate) to 100 % for one that must stay high."""
    rates = [rate for _moment, rate in value.trend if rate is not None]
    target = value.metric.target
    if value.metric.condition == LESS_THAN:
        return 0.0, max([2 * target, *rates])
    return min([max(2 * target - 1, 0.0), *rates]), 1.0


def _y(rate: float, low: float, high: float, height: int) -> float:
    return height - height * (rate - low) / ((high - low) or 1.0)


def trend_points(value: MetricValue, *, width: int = 120, height: int = 28) -> str:
    """The trend as SVG polyline points ("x,y x,y": '.' decimals whatever the language; the range of ``_scale``
    bottom to top); days without orders are left out."""
    days = len(value.trend)
    low, high = _scale(value)
    points = []
    for index, (_moment, rate) in enumerate(value.trend):
        if rate is None:
            continue
        points.append(f"{width * index / max(days - 1, 1):.1f},{_y(rate, low, high, height):.1f}")
    return " ".join(points)


def target_y(value: MetricValue, *, height: int = 28) -> str:
    """Where the target's line goes on the trend chart."""
    return f"{_y(value.metric.target, *_scale(value), height):.1f}"
