"""The one module that talks to Amazon (SP-API), over python-amazon-sp-api (``sp_api``).

What it adds to the library:

* endpoint and LWA token-URL override (sandbox, proxy): small subclasses of the library's clients that set the
  endpoint and use a token client pointed at the override; nothing is forked;
* pacing from Amazon's published rates, shared across processes (``pacing.py``), so our own calls do not cause 429s;
* retries with exponential back-off and full jitter on 429, 5xx, timeouts and malformed JSON, bounded in attempts
  and in total time;
* one error type, ``AmazonError``, with a message in plain words; secrets and personal data never in it;
* one internal shape for orders whatever the API version (``AmazonOrderData``): money as ``Decimal``, statuses as
  shown in the grids (DESIGN.md §4.3).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from urllib.parse import urlsplit

import httpx
from sp_api.api import Tokens
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.api.orders.orders_v0 import OrdersV0
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Marketplaces
from sp_api.base.exceptions import SellingApiException

from saleschannel.amazon.models import AmazonStore, ApiVersion, LwaCredentials, Region
from saleschannel.amazon.pacing import Pacer, PacingTimeout
from saleschannel.logfilters import redact

logger = logging.getLogger(__name__)


class AmazonError(Exception):
    """Anything that went wrong talking to Amazon, said in plain words.

    ``code`` is Amazon's error code when it gave one (``InvalidInput``, ``QuotaExceeded``, ``Unauthorized`` ...) or
    ours (``Timeout``, ``Malformed``, ``Network``); ``status`` the HTTP status if any; ``retryable`` tells callers
    whether trying again later may succeed.
    """

    def __init__(self, message: str, code: str = "", status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retryable = retryable
        self.unknown_outcome = False  # set when Amazon may have done what was asked (see Gateway.call)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"AmazonError({self.message!r}, code={self.code!r}, status={self.status}, retryable={self.retryable})"


# --- Library subclasses: endpoint, token URL, response checks ------------------------------------------------


class _TokenClient(AccessTokenClient):
    """The library's LWA client, pointed at ``token_url`` and caching tokens per (URL, client, refresh token)."""

    def __init__(self, *, token_url: str, **kwargs) -> None:
        super().__init__(**kwargs)
        parts = urlsplit(token_url)
        self.scheme = f"{parts.scheme}://"
        self.host = parts.netloc
        self.path = parts.path or "/"
        self._token_url = token_url

    def _get_cache_key(self, token_flavor: str = "") -> str:
        # Hashed by the library (never stored in clear); the secret is part of it so new credentials get new tokens.
        return super()._get_cache_key(
            f"{token_flavor}|{self._token_url}|{self.cred.client_id}|{self.cred.client_secret}")

    def _request(self, url, data, headers):
        try:
            return super()._request(url, data, headers)
        except ValueError:  # the token endpoint answered something that is not JSON
            raise AmazonError("Amazon's login service sent an unreadable answer.", "Malformed", None, True)


class _GatewayClientMixin:
    """Set on top of a library client class: correct Host header for any endpoint, strict response checks."""

    @property
    def headers(self):
        headers = super().headers
        headers["host"] = urlsplit(self.endpoint).netloc
        return headers

    def _check_response(self, res, res_no_data=False, bulk=False, wrap_list=False):
        status = res.status_code
        body = res.content or b""
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            data = None
        if status == 429:
            raise AmazonError("Amazon is throttling requests (quota exceeded).", "QuotaExceeded", 429, True)
        if status >= 500:
            raise AmazonError(f"Amazon had a temporary problem (HTTP {status}).", _first_code(data) or "ServerError",
                              status, True)
        if data is None:
            if 200 <= status < 300:
                raise AmazonError("Amazon sent an unreadable answer.", "Malformed", status, True)
            data = {}
        if status >= 400 or (isinstance(data, dict) and data.get("errors")):
            raise _error_from_body(data, status)
        res.json = lambda **_kwargs: data  # the library decodes the body again otherwise (pages are large)
        response = super()._check_response(res, res_no_data, bulk, wrap_list)
        response.raw_json = data  # the body as sent (2026 has no payload wrapper and uses "pagination")
        return response


def _first_code(data) -> str:
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:
        return str(data["errors"][0].get("code") or "")
    return ""


_PLAIN_WORDS = {
    400: "Amazon refused the request",
    401: "Amazon refused the credentials",
    403: "Access denied by Amazon (check the seller id, the refresh token and the app's roles)",
    404: "Amazon does not know this resource",
    409: "Amazon reports a conflict with the current state",
    413: "The request is too large for Amazon",
    415: "Amazon does not accept this format",
}


def _error_from_body(data, status: int) -> AmazonError:
    errors = data.get("errors") if isinstance(data, dict) else None
    code, detail = "", ""
    if isinstance(errors, list) and errors:
        code = str(errors[0].get("code") or "")
        detail = str(errors[0].get("message") or "")
    prefix = _PLAIN_WORDS.get(status, f"Amazon answered HTTP {status}")
    message = f"{prefix}: {detail}" if detail else f"{prefix}."
    return AmazonError(redact(message), code or f"HTTP{status}", status, False)


_CLASS_CACHE: dict[type, type] = {}


def _configured(cls: type) -> type:
    if cls not in _CLASS_CACHE:
        _CLASS_CACHE[cls] = type(f"Gateway{cls.__name__}", (_GatewayClientMixin, cls), {})
    return _CLASS_CACHE[cls]


_REGION_MARKETPLACE = {Region.NA: Marketplaces.US, Region.EU: Marketplaces.DE, Region.FE: Marketplaces.JP}


# --- Normalised shapes ---------------------------------------------------------------------------------------


@dataclass
class AmazonAddressData:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    line3: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country_code: str = ""
    phone: str = ""


@dataclass
class AmazonItemData:
    order_item_id: str
    seller_sku: str
    qty_ordered: int
    asin: str = ""
    title: str = ""
    condition: str = ""
    qty_shipped: int = 0
    item_price: Decimal = Decimal("0")
    item_tax: Decimal = Decimal("0")
    shipping_price: Decimal = Decimal("0")
    shipping_tax: Decimal = Decimal("0")
    shipping_discount: Decimal = Decimal("0")
    shipping_discount_tax: Decimal = Decimal("0")
    promotion_discount: Decimal = Decimal("0")
    promotion_discount_tax: Decimal = Decimal("0")
    buyer_requested_cancel: bool = False
    buyer_cancel_reason: str = ""


@dataclass
class AmazonPackageData:
    package_reference_id: str = ""
    carrier: str = ""
    tracking_number: str = ""
    shipping_method: str = ""
    ship_date: datetime | None = None
    items: list[tuple[str, int]] = field(default_factory=list)  # (order item id, qty)


@dataclass
class AmazonOrderData:
    """One Amazon order as both API versions describe it, in the shape of ``models.AmazonOrder``."""

    amazon_order_id: str
    status: str  # AmazonOrderStatus value: Pending, Unshipped, ...
    purchase_date: datetime
    last_update_date: datetime | None = None
    marketplace_id: str = ""
    sales_channel: str = ""
    fulfillment_channel: str = "MFN"
    ship_service_level: str = ""
    shipment_service_level_category: str = ""
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_company: str = ""
    currency: str = ""
    order_total: Decimal | None = None
    is_prime: bool = False
    is_premium: bool = False
    is_business: bool = False
    is_replacement: bool = False
    items_shipped: int = 0
    items_unshipped: int = 0
    latest_ship_date: datetime | None = None
    latest_delivery_date: datetime | None = None
    address: AmazonAddressData | None = None
    payment_method: str = ""
    items: list[AmazonItemData] = field(default_factory=list)
    packages: list[AmazonPackageData] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def buyer_requested_cancel(self) -> bool:
        return any(item.buyer_requested_cancel for item in self.items)


@dataclass
class OrdersPage:
    orders: list[AmazonOrderData]
    next_token: str | None
    last_updated_before: datetime | None


@dataclass
class FeedResult:
    feed_id: str
    status: str  # IN_QUEUE, IN_PROGRESS, DONE, FATAL, CANCELLED
    result_document_id: str = ""


# --- Parsing helpers -----------------------------------------------------------------------------------------


def parse_datetime(value) -> datetime | None:
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, float):  # JSON numbers: go through their shortest text, never binary float maths
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def _money_v0(money) -> Decimal:
    return _decimal((money or {}).get("Amount"))


def _money_2026(money) -> Decimal:
    return _decimal((money or {}).get("amount"))


def _truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


STATUS_2026 = {
    "PENDING": "Pending",
    "PENDING_AVAILABILITY": "PendingAvailability",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "CANCELED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
    "INVOICE_UNCONFIRMED": "InvoiceUnconfirmed",
}
STATUS_V0 = {
    value: value
    for value in (
        "Pending", "PendingAvailability", "Unshipped", "PartiallyShipped", "Shipped", "Canceled",
        "Unfulfillable", "InvoiceUnconfirmed",
    )
}
STATUS_V0["Cancelled"] = "Canceled"


def normalise_order_2026(data: dict) -> AmazonOrderData:
    fulfillment = data.get("fulfillment") or {}
    programs = set(data.get("programs") or [])
    proceeds = data.get("proceeds") or {}
    grand_total = proceeds.get("grandTotal")
    buyer = data.get("buyer") or {}
    address = ((data.get("recipient") or {}).get("deliveryAddress")) or None
    payments = (data.get("payment") or {}).get("paymentExecutions") or []
    associated = data.get("associatedOrders") or []
    items = [_normalise_item_2026(item) for item in data.get("orderItems") or []]
    packages = []
    for package in data.get("packages") or []:
        packages.append(AmazonPackageData(
            package_reference_id=str(package.get("packageReferenceId") or ""),
            carrier=package.get("carrier") or "",
            tracking_number=package.get("trackingNumber") or "",
            shipping_method=package.get("shippingService") or "",
            ship_date=parse_datetime(package.get("shipTime")),
            items=[(str(i.get("orderItemId")), int(i.get("quantity") or 0)) for i in package.get("packageItems") or []],
        ))
    sales_channel = data.get("salesChannel") or {}
    level = fulfillment.get("fulfillmentServiceLevel") or ""
    return AmazonOrderData(
        amazon_order_id=data["orderId"],
        status=STATUS_2026.get(str(fulfillment.get("fulfillmentStatus") or "").upper(), "Pending"),
        purchase_date=parse_datetime(data.get("createdTime")) or datetime.now(UTC),
        last_update_date=parse_datetime(data.get("lastUpdatedTime")),
        marketplace_id=sales_channel.get("marketplaceId") or "",
        sales_channel=sales_channel.get("marketplaceName") or sales_channel.get("channelName") or "",
        fulfillment_channel="AFN" if fulfillment.get("fulfilledBy") == "AMAZON" else "MFN",
        ship_service_level=level,
        shipment_service_level_category=level.replace("_", " ").title() if level else "",
        buyer_name=buyer.get("buyerName") or "",
        buyer_email=buyer.get("buyerEmail") or "",
        buyer_company=buyer.get("buyerCompanyName") or "",
        currency=(grand_total or {}).get("currencyCode") or "",
        order_total=_money_2026(grand_total) if grand_total else None,
        is_prime="PRIME" in programs,
        is_premium="PREMIUM" in programs,
        is_business="AMAZON_BUSINESS" in programs,
        is_replacement=any(a.get("associationType") == "REPLACEMENT_ORIGINAL_ID" for a in associated),
        items_shipped=sum(i.qty_shipped for i in items),
        items_unshipped=sum(max(i.qty_ordered - i.qty_shipped, 0) for i in items),
        latest_ship_date=parse_datetime((fulfillment.get("shipByWindow") or {}).get("latestDateTime")),
        latest_delivery_date=parse_datetime((fulfillment.get("deliverByWindow") or {}).get("latestDateTime")),
        address=_address_2026(address) if address else None,
        payment_method=(payments[0].get("paymentMethod") or "") if payments else "",
        items=items,
        packages=packages,
        raw=data,
    )


def _address_2026(address: dict) -> AmazonAddressData:
    return AmazonAddressData(
        name=address.get("name") or "",
        company=address.get("companyName") or "",
        line1=address.get("addressLine1") or "",
        line2=address.get("addressLine2") or "",
        line3=address.get("addressLine3") or "",
        city=address.get("city") or "",
        region=address.get("stateOrRegion") or "",
        postal_code=address.get("postalCode") or "",
        country_code=address.get("countryCode") or "",
        phone=address.get("phone") or "",
    )


def _normalise_item_2026(item: dict) -> AmazonItemData:
    product = item.get("product") or {}
    condition = product.get("condition") or {}
    fulfillment = item.get("fulfillment") or {}
    request = ((item.get("cancellation") or {}).get("cancellationRequest")) or {}
    result = AmazonItemData(
        order_item_id=str(item["orderItemId"]),
        seller_sku=product.get("sellerSku") or "",
        qty_ordered=int(item.get("quantityOrdered") or 0),
        asin=product.get("asin") or "",
        title=product.get("title") or "",
        condition=" ".join(filter(None, [condition.get("conditionType"), condition.get("conditionSubtype")])).title(),
        qty_shipped=int(fulfillment.get("quantityFulfilled") or 0),
        buyer_requested_cancel=request.get("requester") == "BUYER",
        buyer_cancel_reason=request.get("cancelReason") or "",
    )
    # Proceeds breakdowns: ITEM and SHIPPING are prices; TAX and DISCOUNT split into ITEM / SHIPPING subtypes.
    for breakdown in (item.get("proceeds") or {}).get("breakdowns") or []:
        kind = breakdown.get("type")
        amount = _money_2026(breakdown.get("subtotal"))
        details = {d.get("subtype"): _money_2026(d.get("value")) for d in breakdown.get("detailedBreakdowns") or []}
        if kind == "ITEM":
            result.item_price = amount
        elif kind == "SHIPPING":
            result.shipping_price = amount
        elif kind == "TAX":
            if details:
                result.item_tax = details.get("ITEM", Decimal("0"))
                result.shipping_tax = details.get("SHIPPING", Decimal("0"))
            else:
                result.item_tax = amount
        elif kind == "DISCOUNT":
            if details:
                result.promotion_discount = abs(details.get("ITEM", Decimal("0")))
                result.shipping_discount = abs(details.get("SHIPPING", Decimal("0")))
            else:
                result.promotion_discount = abs(amount)
    return result


def normalise_order_v0(order: dict, items: list[dict], address: dict | None = None,
                       buyer: dict | None = None) -> AmazonOrderData:
    total = order.get("OrderTotal")
    buyer = buyer or order.get("BuyerInfo") or {}
    address = address or order.get("ShippingAddress")
    normal_items = [_normalise_item_v0(item) for item in items]
    return AmazonOrderData(
        amazon_order_id=order["AmazonOrderId"],
        status=STATUS_V0.get(order.get("OrderStatus") or "", "Pending"),
        purchase_date=parse_datetime(order.get("PurchaseDate")) or datetime.now(UTC),
        last_update_date=parse_datetime(order.get("LastUpdateDate")),
        marketplace_id=order.get("MarketplaceId") or "",
        sales_channel=order.get("SalesChannel") or "",
        fulfillment_channel="AFN" if order.get("FulfillmentChannel") == "AFN" else "MFN",
        ship_service_level=order.get("ShipServiceLevel") or "",
        shipment_service_level_category=order.get("ShipmentServiceLevelCategory") or "",
        buyer_name=buyer.get("BuyerName") or "",
        buyer_email=buyer.get("BuyerEmail") or "",
        buyer_company=buyer.get("BuyerCompanyName") or "",
        currency=(total or {}).get("CurrencyCode") or "",
        order_total=_money_v0(total) if total else None,
        is_prime=_truthy(order.get("IsPrime")),
        is_premium=_truthy(order.get("IsPremiumOrder")),
        is_business=_truthy(order.get("IsBusinessOrder")),
        is_replacement=_truthy(order.get("IsReplacementOrder")),
        items_shipped=int(order.get("NumberOfItemsShipped") or 0),
        items_unshipped=int(order.get("NumberOfItemsUnshipped") or 0),
        latest_ship_date=parse_datetime(order.get("LatestShipDate")),
        latest_delivery_date=parse_datetime(order.get("LatestDeliveryDate")),
        address=AmazonAddressData(
            name=address.get("Name") or "",
            company=address.get("CompanyName") or "",
            line1=address.get("AddressLine1") or "",
            line2=address.get("AddressLine2") or "",
            line3=address.get("AddressLine3") or "",
            city=address.get("City") or "",
            region=address.get("StateOrRegion") or "",
            postal_code=address.get("PostalCode") or "",
            country_code=address.get("CountryCode") or "",
            phone=address.get("Phone") or "",
        ) if address else None,
        payment_method=order.get("PaymentMethod") or "",
        items=normal_items,
        raw={"order": order, "items": items},
    )


def _normalise_item_v0(item: dict) -> AmazonItemData:
    cancel = item.get("BuyerRequestedCancel") or {}
    return AmazonItemData(
        order_item_id=str(item["OrderItemId"]),
        seller_sku=item.get("SellerSKU") or "",
        qty_ordered=int(item.get("QuantityOrdered") or 0),
        asin=item.get("ASIN") or "",
        title=item.get("Title") or "",
        condition=" ".join(filter(None, [item.get("ConditionId"), item.get("ConditionSubtypeId")])),
        qty_shipped=int(item.get("QuantityShipped") or 0),
        item_price=_money_v0(item.get("ItemPrice")),
        item_tax=_money_v0(item.get("ItemTax")),
        shipping_price=_money_v0(item.get("ShippingPrice")),
        shipping_tax=_money_v0(item.get("ShippingTax")),
        shipping_discount=abs(_money_v0(item.get("ShippingDiscount"))),
        shipping_discount_tax=abs(_money_v0(item.get("ShippingDiscountTax"))),
        promotion_discount=abs(_money_v0(item.get("PromotionDiscount"))),
        promotion_discount_tax=abs(_money_v0(item.get("PromotionDiscountTax"))),
        buyer_requested_cancel=_truthy(cancel.get("IsBuyerRequestedCancel")),
        buyer_cancel_reason=cancel.get("BuyerCancelReason") or "",
    )


# --- The gateway ---------------------------------------------------------------------------------------------

ORDER_STATUSES_2026 = ["PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE",
                       "PENDING_AVAILABILITY"]
INCLUDED_DATA_2026 = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                      "PAYMENT"]
ORDER_STATUSES_V0 = ["Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
                     "InvoiceUnconfirmed", "PendingAvailability"]


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    max_total_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to base × 2^attempt (capped), so retrying workers spread out."""
        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** attempt)))


class Gateway:
    """SP-API for one Amazon store. Create with ``Gateway.for_store(store)``; cheap; not thread-safe."""

    def __init__(self, *, seller_id: str, region: str, endpoint: str, token_url: str, credentials: LwaCredentials,
                 marketplace_ids: list[str], api_version: str = ApiVersion.V2026, pacing_factor: float = 1.0,
                 retry: RetryPolicy | None = None, timeout: float = 30.0, max_pacing_wait: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.seller_id = seller_id
        self.endpoint = endpoint.rstrip("/")
        self.token_url = token_url
        self.marketplace_ids = list(marketplace_ids)
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.max_pacing_wait = max_pacing_wait
        self.pacer = Pacer(seller_id=seller_id, factor=pacing_factor)
        self._sleep = sleep
        self._credentials = credentials
        self._marketplace = _REGION_MARKETPLACE.get(Region(region), Marketplaces.US)
        self._clients: dict[type, object] = {}
        self._ahead: ThreadPoolExecutor | None = None  # reads the next page while a page is imported
        self.calls = 0  # SP-API calls made (attempts included), for sync runs and the benchmark

    def __repr__(self) -> str:
        return f"<Gateway seller={self.seller_id} endpoint={self.endpoint}>"

    @classmethod
    def for_store(cls, store: AmazonStore, **kwargs) -> Gateway:
        return cls(
            seller_id=store.seller_id,
            region=store.region,
            endpoint=store.endpoint,
            token_url=store.token_url,
            credentials=store.credentials(),
            marketplace_ids=list(store.marketplace_ids or []),
            api_version=store.api_version,
            pacing_factor=float(store.time_scale) if store.pacing_enabled else 0.0,
            **kwargs,
        )

    # Plumbing ---------------------------------------------------------------------------------------------
    def _client(self, cls: type):
        client = self._clients.get(cls)
        if client is None:
            if not self._credentials.complete:
                raise AmazonError("The Amazon store has no complete credentials (client id, client secret, "
                                  "refresh token).", "MissingCredentials", None, False)
            creds = self._credentials
            client = _configured(cls)(
                self._marketplace,
                refresh_token=creds.refresh_token,
                credentials={"lwa_app_id": creds.client_id, "lwa_client_secret": creds.client_secret},
                timeout=self.timeout,
                auth_token_client_class=partial(_TokenClient, token_url=self.token_url),
            )
            client.endpoint = self.endpoint
            self._clients[cls] = client
        return client

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead.shutdown(wait=True, cancel_futures=True)
            self._ahead = None
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                logger.debug("closing an SP-API client failed", exc_info=True)
        self._clients.clear()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, operation: str, fn: Callable[[], ApiResponse], *, retry_unknown_outcome: bool = True):
        """Run one SP-API operation with pacing and bounded retries; return its response or raise AmazonError.

        ``retry_unknown_outcome=False`` is for calls that must not be made twice (creating a feed): a timeout, a
        broken connection or a 5xx may mean Amazon did it anyway, so those errors are raised at once (retryable)
        for the caller to find out what happened; refusals such as 429 are still retried.
        """
        started = time.monotonic()
        attempt = 0
        auth_retried = False
        while True:
            try:
                self.pacer.take(operation, max_wait=self.max_pacing_wait)
            except PacingTimeout as exc:
                raise AmazonError(
                    f"Amazon's rate limit for {operation} allows the next call in {exc.wait:.0f} seconds; try later.",
                    "Paced", None, True,
                )
            self.calls += 1
            try:
                return fn()
            except AmazonError as exc:
                error = exc
            except AuthorizationError as exc:
                status = getattr(exc, "status_code", None)
                error = AmazonError(
                    "Amazon's login service refused the credentials (client id, client secret or refresh token).",
                    "Unauthorized", status, bool(status and (status == 429 or status >= 500)),
                )
            except httpx.TimeoutException:
                error = AmazonError("Amazon did not answer in time.", "Timeout", None, True)
            except httpx.TransportError as exc:
                error = AmazonError(f"Cannot reach Amazon ({type(exc).__name__}).", "Network", None, True)
            except SellingApiException as exc:  # raised by the library itself (e.g. an upload it makes)
                error = AmazonError(redact(f"Amazon refused the request: {getattr(exc, 'message', '')}"),
                                    getattr(exc, "amzn_code", "") or "", getattr(exc, "code", None), False)
            if error.status in (401, 403) and not auth_retried:
                # An access token cached before the other side forgot it (e.g. a restarted sandbox): get a new one.
                auth_retried = True
                self._forget_tokens()
                continue
            if error.code == "QuotaExceeded":
                self.pacer.drain(operation)
            elif not retry_unknown_outcome and error.retryable and (
                    error.code in ("Timeout", "Network") or (error.status or 0) >= 500):
                error.unknown_outcome = True
                raise error
            attempt += 1
            elapsed = time.monotonic() - started
            if not error.retryable or attempt >= self.retry.max_attempts:
                if error.retryable:
                    error.message = f"{error.message} (gave up after {attempt} attempts)"
                    error.args = (error.message,)
                raise error
            delay = self.retry.delay(attempt)
            if elapsed + delay > self.retry.max_total_seconds:
                error.message = f"{error.message} (gave up after {elapsed:.0f} s)"
                error.args = (error.message,)
                raise error
            logger.info("SP-API %s failed (%s, HTTP %s); retry %d in %.2f s", operation, error.code, error.status,
                        attempt, delay)
            self._sleep(delay)

    def _forget_tokens(self) -> None:
        from sp_api.auth.access_token_client import cache

        for client in self._clients.values():
            try:
                cache.pop(client._auth._get_cache_key(), None)
            except AttributeError:
                pass

    # Connection -------------------------------------------------------------------------------------------
    def test_connection(self) -> str:
        """Fetch one page of recent orders; return a plain-words success message or raise AmazonError."""
        now = datetime.now(UTC)
        page = self.search_orders(last_updated_after=now.replace(microsecond=0) - timedelta(days=1),
                                  last_updated_before=now - timedelta(minutes=3), max_results=1)
        return f"Connected to Amazon as seller {self.seller_id} ({len(page.orders)} recent order(s) visible)."

    # Orders -----------------------------------------------------------------------------------------------
    def search_orders(self, *, last_updated_after: datetime, last_updated_before: datetime | None = None,
                      next_token: str | None = None, max_results: int = 100,
                      created: bool = False) -> OrdersPage:
        """One page of orders updated (or ``created``) in the window, in the store's API version."""
        if self.api_version == ApiVersion.V0:
            return self._get_orders_v0(last_updated_after, last_updated_before, next_token, max_results, created)
        request = self._search_orders_request(last_updated_after, last_updated_before, next_token, max_results,
                                              created)
        return _orders_page_2026(self.call("searchOrders", request))

    def next_page_ahead(self, *, next_token: str) -> Callable[[], OrdersPage]:
        """Start fetching the page after ``next_token`` in the background while the caller works on the current one;
        return a function that gives that page (or raises ``AmazonError``).

        Only the HTTP exchange and the parsing run in the background thread: the pacing token is taken here, in
        the caller's thread (it is a database row), and a failed background attempt is simply made again the
        ordinary way, with its retries, when the page is asked for. Orders API 2026 only (v0 pages need more
        calls per order): otherwise the page is fetched when asked for.
        """
        if self.api_version == ApiVersion.V0:
            return lambda: self.search_orders(last_updated_after=datetime.now(UTC), next_token=next_token)
        request = self._search_orders_request(None, None, next_token, 100, False)
        try:
            self.pacer.take("searchOrders", max_wait=self.max_pacing_wait)
        except PacingTimeout:
            return lambda: self.search_orders(last_updated_after=datetime.now(UTC), next_token=next_token)
        self.calls += 1
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sp-api-ahead")
        future = self._ahead.submit(lambda: _orders_page_2026(request()))

        def page() -> OrdersPage:
            try:
                return future.result()
            except (AmazonError, AuthorizationError, httpx.HTTPError, SellingApiException) as error:
                logger.info("SP-API searchOrders read ahead failed (%s); asking again", type(error).__name__)
                return self.search_orders(last_updated_after=datetime.now(UTC), next_token=next_token)

        return page

    def _search_orders_request(self, last_updated_after, last_updated_before, next_token, max_results,
                               created) -> Callable[[], ApiResponse]:
        client = self._client(OrdersV20260101)
        if next_token:
            params = {"paginationToken": next_token}
        else:
            params = {
                "marketplaceIds": self.marketplace_ids,
                "fulfillmentStatuses": ORDER_STATUSES_2026,
                "includedData": INCLUDED_DATA_2026,
                "maxResultsPerPage": max_results,
            }
            after, before = ("createdAfter", "createdBefore") if created else ("lastUpdatedAfter", "lastUpdatedBefore")
            params[after] = format_datetime(last_updated_after)
            if last_updated_before:
                params[before] = format_datetime(last_updated_before)
        return lambda: client.search_orders(**params)

    def get_order(self, amazon_order_id: str) -> AmazonOrderData:
        if self.api_version == ApiVersion.V0:
            return self._get_order_v0(amazon_order_id)
        client = self._client(OrdersV20260101)
        response = self.call("getOrder2026", lambda: client.get_order(amazon_order_id, includedData=INCLUDED_DATA_2026))
        body = response.raw_json or {}
        return normalise_order_2026(body.get("order") or body)

    # v0 fallback (deprecated by Amazon; kept per store for accounts not yet on 2026-01-01)
    def _rdt(self, path: str, elements: list[str]) -> str:
        tokens = self._client(Tokens)
        response = self.call("createRestrictedDataToken", lambda: tokens.create_restricted_data_token(
            restrictedResources=[{"method": "GET", "path": path, "dataElements": elements}]))
        return (response.raw_json or {}).get("restrictedDataToken") or ""

    def _get_orders_v0(self, after, before, next_token, max_results, created) -> OrdersPage:
        client = self._client(OrdersV0)
        if next_token:
            params = {"NextToken": next_token, "MarketplaceIds": self.marketplace_ids}
        else:
            params = {"MarketplaceIds": self.marketplace_ids, "MaxResultsPerPage": max_results,
                      "OrderStatuses": ORDER_STATUSES_V0}
            a, b = ("CreatedAfter", "CreatedBefore") if created else ("LastUpdatedAfter", "LastUpdatedBefore")
            params[a] = format_datetime(after)
            if before:
                params[b] = format_datetime(before)
        client.restricted_data_token = self._rdt("/orders/v0/orders", ["buyerInfo", "shippingAddress"])
        try:
            response = self.call("getOrders", lambda: client.get_orders(**params))
        finally:
            client.restricted_data_token = None
        payload = (response.raw_json or {}).get("payload") or {}
        orders = []
        for order in payload.get("Orders") or []:
            items = self._order_items_v0(order["AmazonOrderId"])
            orders.append(normalise_order_v0(order, items))
        return OrdersPage(orders=orders, next_token=payload.get("NextToken") or None,
                          last_updated_before=parse_datetime(payload.get("LastUpdatedBefore")
                                                             or payload.get("CreatedBefore")))

    def _order_items_v0(self, amazon_order_id: str) -> list[dict]:
        client = self._client(OrdersV0)
        items: list[dict] = []
        token = None
        while True:
            kwargs = {"NextToken": token} if token else {}
            response = self.call("getOrderItems", partial(client.get_order_items, amazon_order_id, **kwargs))
            payload = (response.raw_json or {}).get("payload") or {}
            items.extend(payload.get("OrderItems") or [])
            token = payload.get("NextToken")
            if not token:
                return items

    def _get_order_v0(self, amazon_order_id: str) -> AmazonOrderData:
        client = self._client(OrdersV0)
        client.restricted_data_token = self._rdt(f"/orders/v0/orders/{amazon_order_id}",
                                                 ["buyerInfo", "shippingAddress"])
        try:
            order = self.call("getOrder", lambda: client.get_order(amazon_order_id))
        finally:
            client.restricted_data_token = None
        payload = (order.raw_json or {}).get("payload") or {}
        return normalise_order_v0(payload, self._order_items_v0(amazon_order_id))

    def confirm_shipment(self, *, amazon_order_id: str, marketplace_id: str, package_reference_id: int,
                         carrier_code: str, carrier_name: str = "", shipping_method: str = "", tracking_number: str,
                         ship_date: datetime, items: list[tuple[str, int]]) -> None:
        """confirmShipment (Orders v0) for one package; 204 on success."""
        client = self._client(OrdersV0)
        package = {
            "packageReferenceId": str(package_reference_id),
            "carrierCode": carrier_code,
            "trackingNumber": tracking_number,
            "shipDate": format_datetime(ship_date),
            "orderItems": [{"orderItemId": item_id, "quantity": qty} for item_id, qty in items],
        }
        if carrier_name:
            package["carrierName"] = carrier_name
        if shipping_method:
            package["shippingMethod"] = shipping_method
        self.call("confirmShipment", lambda: client.confirm_shipment(
            amazon_order_id, marketplaceId=marketplace_id, packageDetail=package))

    # Feeds ------------------------------------------------------------------------------------------------
    def submit_feed(self, *, feed_type: str, content: bytes | str, marketplace_ids: list[str] | None = None,
                    content_type: str = "text/xml; charset=UTF-8") -> str:
        """createFeedDocument → upload → createFeed; returns the feed id."""
        client = self._client(FeedsV20210630)
        if isinstance(content, str):
            content = content.encode("utf-8")
        document = self.call("createFeedDocument", lambda: client.create_feed_document(
            None, content_type, marketplaceIds=marketplace_ids or self.marketplace_ids))
        body = document.raw_json or {}
        document_id, url = body.get("feedDocumentId"), body.get("url")
        if not document_id or not url:
            raise AmazonError("Amazon did not return a feed document to upload to.", "Malformed", None, True)
        self._transfer("PUT", url, content=content, headers={"Content-Type": content_type})
        feed = self.call("createFeed", lambda: client.create_feed(
            feed_type, document_id, marketplaceIds=marketplace_ids or self.marketplace_ids),
            retry_unknown_outcome=False)
        feed_id = (feed.raw_json or {}).get("feedId")
        if not feed_id:
            raise AmazonError("Amazon did not return a feed id.", "Malformed", None, True)
        return str(feed_id)

    def list_feeds(self, *, feed_type: str, created_since: datetime,
                   marketplace_ids: list[str] | None = None) -> list[FeedResult]:
        """getFeeds: the feeds of ``feed_type`` created since ``created_since`` (every page)."""
        client = self._client(FeedsV20210630)
        found: list[FeedResult] = []
        token = None
        for _page in range(20):  # 2,000 feeds: far more than a store creates in the minutes this is asked about
            if token:
                params = {"nextToken": token}
            else:
                params = {"feedTypes": [feed_type], "pageSize": 100,
                          "marketplaceIds": marketplace_ids or self.marketplace_ids,
                          "createdSince": format_datetime(created_since)}
            response = self.call("getFeeds", lambda params=params: client.get_feeds(**params))
            body = response.raw_json or {}
            found += [FeedResult(feed_id=str(feed.get("feedId") or ""), status=str(feed.get("processingStatus") or ""),
                                 result_document_id=str(feed.get("resultFeedDocumentId") or ""))
                      for feed in body.get("feeds") or [] if feed.get("feedId")]
            token = body.get("nextToken")
            if not token:
                break
        return found

    def get_feed(self, feed_id: str) -> FeedResult:
        client = self._client(FeedsV20210630)
        response = self.call("getFeed", lambda: client.get_feed(feed_id))
        body = response.raw_json or {}
        return FeedResult(feed_id=str(body.get("feedId") or feed_id), status=str(body.get("processingStatus") or ""),
                          result_document_id=str(body.get("resultFeedDocumentId") or ""))

    def get_feed_document(self, document_id: str) -> bytes:
        """getFeedDocument, then download its URL, un-GZIP if Amazon says so; returns the raw bytes."""
        client = self._client(FeedsV20210630)
        path = f"/feeds/2021-06-30/documents/{document_id}"
        response = self.call("getFeedDocument", lambda: client._request(path, params={}, add_marketplace=False))
        body = response.raw_json or {}
        if not body.get("url"):
            raise AmazonError("Amazon did not return the feed result's location.", "Malformed", None, True)
        content = self._transfer("GET", body["url"])
        if str(body.get("compressionAlgorithm") or "").upper() == "GZIP":
            try:
                content = gzip.decompress(content)
            except OSError:
                raise AmazonError("Amazon's feed result could not be decompressed.", "Malformed", None, True)
        return content

    def _transfer(self, method: str, url: str, **kwargs) -> bytes:
        """Upload/download against a pre-signed URL (no access token, no pacing; retried like the rest)."""

        def run():
            try:
                response = httpx.request(method, url, timeout=self.timeout, **kwargs)
            except httpx.TimeoutException:
                raise AmazonError("The document transfer timed out.", "Timeout", None, True)
            except httpx.TransportError as exc:
                raise AmazonError(f"Cannot reach the document store ({type(exc).__name__}).", "Network", None, True)
            if response.status_code >= 500 or response.status_code == 429:
                raise AmazonError(f"The document store failed (HTTP {response.status_code}).", "ServerError",
                                  response.status_code, True)
            if response.status_code >= 400:
                raise AmazonError(f"The document store refused the transfer (HTTP {response.status_code}).",
                                  f"HTTP{response.status_code}", response.status_code, False)
            return response.content

        started, attempt = time.monotonic(), 0
        while True:
            try:
                return run()
            except AmazonError as error:
                attempt += 1
                delay = self.retry.delay(attempt)
                if (not error.retryable or attempt >= self.retry.max_attempts
                        or time.monotonic() - started + delay > self.retry.max_total_seconds):
                    raise
                self._sleep(delay)


def _orders_page_2026(response: ApiResponse) -> OrdersPage:
    body = response.raw_json or {}
    watermark = body.get("lastUpdatedBefore") or body.get("createdBefore")
    return OrdersPage(
        orders=[normalise_order_2026(order) for order in body.get("orders") or []],
        next_token=((body.get("pagination") or {}).get("nextToken")) or None,
        last_updated_before=parse_datetime(watermark),
    )
