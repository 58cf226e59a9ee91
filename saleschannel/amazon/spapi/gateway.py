"""The one module that talks to Amazon (SP-API): the operations, over python-amazon-sp-api (``sp_api``).

What it adds to the library:

* the library's clients configured for the store's endpoint and LWA token URL (sandbox, proxy), with strict
  response checks: ``client.py``, which holds every use of the library's internals;
* pacing from Amazon's published rates, shared across processes (``pacing.py``), so our own calls do not cause 429s;
* retries with exponential back-off and full jitter on 429, 5xx, timeouts and malformed JSON, bounded in attempts
  and in total time (the policy: ``saleschannel.amazon.retrying``);
* one error type, ``AmazonError``, with a message in plain words; secrets and personal data never in it;
* one internal shape for orders whatever the API version (``normalise.AmazonOrderData``): money as ``Decimal``,
  statuses as shown in the grids (DESIGN.md §4.3).
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from sp_api.api import Tokens
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.api.orders.orders_v0 import OrdersV0
from sp_api.api.reports.reports import Reports
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse
from sp_api.base.exceptions import SellingApiException
from tenacity import RetryCallState

from saleschannel.amazon.models import AmazonStore, ApiVersion, LwaCredentials
from saleschannel.amazon.pacing import Pacer, PacingTimeout
from saleschannel.amazon.retrying import GATEWAY_RETRY, RetryPolicy
from saleschannel.amazon.spapi import client as sp_client
from saleschannel.amazon.spapi.errors import AmazonError, UnreadableOrder
from saleschannel.amazon.spapi.normalise import (
    AmazonOrderData,
    OrdersPage,
    OrdersQuery,
    format_datetime,
    normalise_order_2026,
    normalise_order_v0,
    orders_page_2026,
    parse_datetime,
)
from saleschannel.amazon.spapi.reports import AmazonReport, report_text

logger = logging.getLogger(__name__)


# --- Feeds ----------------------------------------------------------------------------------------------------


@dataclass
class FeedResult:
    feed_id: str
    status: str  # IN_QUEUE, IN_PROGRESS, DONE, FATAL, CANCELLED
    result_document_id: str = ""


# --- The gateway ---------------------------------------------------------------------------------------------

ORDER_STATUSES_2026 = ["PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE",
                       "PENDING_AVAILABILITY"]
INCLUDED_DATA_2026 = ["BUYER", "RECIPIENT", "PROCEEDS", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                      "PAYMENT"]
ORDER_STATUSES_V0 = ["Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
                     "InvoiceUnconfirmed", "PendingAvailability"]


class Gateway:
    """SP-API for one Amazon store. Create with ``Gateway.for_store(store)``; cheap; not thread-safe."""

    def __init__(self, *, seller_id: str, region: str, endpoint: str, token_url: str, credentials: LwaCredentials,
                 marketplace_ids: list[str], api_version: str = ApiVersion.V2026, pacing_factor: float = 1.0,
                 retry: RetryPolicy | None = None, timeout: float = 30.0, max_pacing_wait: float = 300.0,
                 page_size: int = 100, sleep: Callable[[float], None] = time.sleep) -> None:
        self.seller_id = seller_id
        self.endpoint = endpoint.rstrip("/")
        self.token_url = token_url
        self.marketplace_ids = list(marketplace_ids)
        self.api_version = api_version
        self.retry = retry or GATEWAY_RETRY
        self.timeout = timeout
        self.max_pacing_wait = max_pacing_wait
        self.page_size = page_size  # orders per search page (Amazon: 1-100; fewer only in tests)
        self.pacer = Pacer(seller_id=seller_id, factor=pacing_factor)
        self._sleep = sleep
        self._credentials = credentials
        self._marketplace = sp_client.region_marketplace(region)
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
            client = sp_client.make_client(cls, marketplace=self._marketplace, endpoint=self.endpoint,
                                           token_url=self.token_url, credentials=self._credentials,
                                           timeout=self.timeout)
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
        tokens_renewed = False

        def attempt():
            nonlocal tokens_renewed
            while True:
                try:
                    self.pacer.take(operation, max_wait=self.max_pacing_wait)
                except PacingTimeout as exc:
                    raise AmazonError(
                        f"Amazon's rate limit for {operation} allows the next call in {exc.wait:.0f} seconds; "
                        "try later.", "Paced", None, True,
                    )
                self.calls += 1
                error = _outcome_of(fn)
                if not isinstance(error, AmazonError):
                    return error  # the response
                if error.status in (401, 403) and not tokens_renewed:
                    # An access token cached before the other side forgot it (e.g. a restarted sandbox): get a new
                    # one and call again at once (not an attempt of the retry policy).
                    tokens_renewed = True
                    sp_client.forget_tokens(self._clients.values())
                    continue
                if error.code == "QuotaExceeded":
                    self.pacer.drain(operation)
                elif not retry_unknown_outcome and error.retryable and (
                        error.code in ("Timeout", "Network") or (error.status or 0) >= 500
                        or (error.code == "Malformed" and 200 <= (error.status or 0) < 300)):  # done, unreadable
                    error.unknown_outcome = True  # raised at once: _worth_retrying refuses it
                raise error

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception()
            logger.info("SP-API %s failed (%s, HTTP %s); retry %d in %.2f s", operation, error.code, error.status,
                        state.attempt_number, state.upcoming_sleep)

        def give_up(state: RetryCallState):
            error = state.outcome.exception()
            if state.attempt_number >= self.retry.max_attempts:
                error.message = f"{error.message} (gave up after {state.attempt_number} attempts)"
            else:
                error.message = f"{error.message} (gave up after {state.seconds_since_start:.0f} s)"
            error.args = (error.message,)
            raise error

        retrying = self.retry.retrying(retry_if=_worth_retrying, sleep=self._sleep_float, before_sleep=log_retry,
                                       give_up=give_up)
        return retrying(attempt)

    def _sleep_float(self, seconds: float) -> None:
        # tenacity sleeps a float subclass; ``_sleep`` is replaced at times (sync's heartbeat, tests): looked up now.
        self._sleep(float(seconds))

    # Connection -------------------------------------------------------------------------------------------
    def test_connection(self) -> str:
        """Fetch one page of recent orders; return a plain-words success message or raise AmazonError."""
        now = datetime.now(UTC)
        page = self.search_orders(last_updated_after=now.replace(microsecond=0) - timedelta(days=1),
                                  last_updated_before=now - timedelta(minutes=3), max_results=1)
        return f"Connected to Amazon as seller {self.seller_id} ({len(page.orders)} recent order(s) visible)."

    # Orders -----------------------------------------------------------------------------------------------
    def search_orders(self, *, last_updated_after: datetime, last_updated_before: datetime | None = None,
                      max_results: int = 100, created: bool = False) -> OrdersPage:
        """The first page of orders updated (or ``created``) in the window, in the store's API version.

        Later pages: ``next_page(page)`` or ``next_page_ahead(page)``, which repeat this query exactly.
        """
        query = OrdersQuery(after=last_updated_after, before=last_updated_before, created=created,
                            max_results=max_results)
        return self.orders_page(query)

    def orders_page(self, query: OrdersQuery, next_token: str | None = None) -> OrdersPage:
        """One page of ``query``: the first one, or the one ``next_token`` points at."""
        if self.api_version == ApiVersion.V0:
            return self._get_orders_v0(query, next_token)
        response = self.call("searchOrders", self._search_orders_request(query, next_token))
        return orders_page_2026(response.raw_json or {}, query)

    def next_page(self, page: OrdersPage) -> OrdersPage:
        """The page after ``page`` (which must have a ``next_token``), asked with the same query."""
        return self.orders_page(page.query, page.next_token)

    def next_page_ahead(self, page: OrdersPage) -> Callable[[], OrdersPage]:
        """Start fetching the page after ``page`` in the background while the caller works on ``page``; return a
        function that gives that page (or raises ``AmazonError``).

        Only the HTTP exchange and the parsing run in the background thread: the pacing token is taken here, in
        the caller's thread (it is a database row), and a failed background attempt is simply made again the
        ordinary way, with its retries, when the page is asked for. Orders API 2026 only (v0 pages need more
        calls per order): otherwise the page is fetched when asked for.
        """
        if self.api_version == ApiVersion.V0:
            return lambda: self.next_page(page)
        request = self._search_orders_request(page.query, page.next_token)
        try:
            self.pacer.take("searchOrders", max_wait=self.max_pacing_wait)
        except PacingTimeout:
            return lambda: self.next_page(page)
        self.calls += 1
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sp-api-ahead")
        query = page.query
        future = self._ahead.submit(lambda: orders_page_2026(request().raw_json or {}, query))

        def ahead() -> OrdersPage:
            try:
                return future.result()
            except (AmazonError, AuthorizationError, httpx.HTTPError, SellingApiException) as error:
                logger.info("SP-API searchOrders read ahead failed (%s); asking again", type(error).__name__)
                return self.next_page(page)

        return ahead

    def search_orders_params(self, query: OrdersQuery, next_token: str | None = None) -> dict:
        """The query parameters of one page of ``query``, in the store's API version: the same for every page, plus
        the token (``paginationToken`` in 2026-01-01, ``NextToken`` in v0). Marketplaces are always explicit."""
        after_name, before_name = ("createdAfter", "createdBefore") if query.created else (
            "lastUpdatedAfter", "lastUpdatedBefore")
        if self.api_version == ApiVersion.V0:
            params = {"MarketplaceIds": list(self.marketplace_ids), "MaxResultsPerPage": query.max_results,
                      "OrderStatuses": list(ORDER_STATUSES_V0)}
            after_name, before_name = after_name[0].upper() + after_name[1:], before_name[0].upper() + before_name[1:]
            page_param = "NextToken"
        else:
            params = {"marketplaceIds": list(self.marketplace_ids), "fulfillmentStatuses": list(ORDER_STATUSES_2026),
                      "includedData": list(INCLUDED_DATA_2026), "maxResultsPerPage": query.max_results}
            page_param = "paginationToken"
        params[after_name] = format_datetime(query.after)
        if query.before is not None:
            params[before_name] = format_datetime(query.before)
        if next_token:
            params[page_param] = next_token
        return params

    def _search_orders_request(self, query: OrdersQuery, next_token: str | None) -> Callable[[], ApiResponse]:
        client = self._client(OrdersV20260101)
        params = self.search_orders_params(query, next_token)
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

    def _get_orders_v0(self, query: OrdersQuery, next_token: str | None) -> OrdersPage:
        client = self._client(OrdersV0)
        params = self.search_orders_params(query, next_token)
        client.restricted_data_token = self._rdt("/orders/v0/orders", ["buyerInfo", "shippingAddress"])
        try:
            response = self.call("getOrders", lambda: client.get_orders(**params))
        finally:
            client.restricted_data_token = None
        payload = (response.raw_json or {}).get("payload") or {}
        orders, unreadable = [], []
        for order in payload.get("Orders") or []:
            order_id = order.get("AmazonOrderId") if isinstance(order, dict) else None
            try:
                items = self._order_items_v0(order_id) if order_id else []
                orders.append(normalise_order_v0(order, items))
            except UnreadableOrder as error:
                unreadable.append(error)
        return OrdersPage(orders=orders, next_token=payload.get("NextToken") or None,
                          last_updated_before=parse_datetime(payload.get("LastUpdatedBefore")
                                                             or payload.get("CreatedBefore")), query=query,
                          unreadable=unreadable)

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
        """confirmShipment (Orders v0) for one package; 204 on success.

        Never repeated on an unknown outcome (Amazon refuses a package reference it already has): the error is
        raised with ``unknown_outcome`` for the caller to look at the order first (``outbound._send_shipment``).
        """
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
            amazon_order_id, marketplaceId=marketplace_id, packageDetail=package), retry_unknown_outcome=False)

    # Feeds ------------------------------------------------------------------------------------------------
    def submit_feed(self, *, feed_type: str, content: bytes | str, marketplace_ids: list[str] | None = None,
                    content_type: str = "text/xml; charset=UTF-8",
                    on_step: Callable[[str], None] | None = None) -> str:
        """createFeedDocument → upload → createFeed; returns the feed id. ``on_step`` is told each step done
        ("document", "uploaded", "created"): the outbox's crash tests stop the process there."""
        client = self._client(FeedsV20210630)
        if isinstance(content, str):
            content = content.encode("utf-8")
        document = self.call("createFeedDocument", lambda: sp_client.post(client, "/feeds/2021-06-30/documents",
                                                                 {"contentType": content_type}))
        body = document.raw_json or {}
        document_id, url = body.get("feedDocumentId"), body.get("url")
        if not document_id or not url:
            raise AmazonError("Amazon did not return a feed document to upload to.", "Malformed", None, True)
        if on_step:
            on_step("document")
        self._transfer("PUT", url, content=content, headers={"Content-Type": content_type})
        if on_step:
            on_step("uploaded")
        specification = {"feedType": feed_type, "marketplaceIds": list(marketplace_ids or self.marketplace_ids),
                         "inputFeedDocumentId": document_id}
        feed = self.call("createFeed", lambda: sp_client.post(client, "/feeds/2021-06-30/feeds", specification),
                         retry_unknown_outcome=False)
        if on_step:
            on_step("created")
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
        response = self.call("getFeedDocument", lambda: sp_client.get(client, path))
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
        return self._transfer_response(method, url, **kwargs).content

    def _transfer_response(self, method: str, url: str, **kwargs) -> httpx.Response:
        """The answer of a pre-signed document URL (feeds and reports), with bounded retries on failures."""

        def run() -> httpx.Response:
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
            return response

        return self.retry.retrying(retry_if=_worth_retrying, sleep=self._sleep_float)(run)

    # --- Reports 2021-06-30 (catalog onboarding, seller metrics) ------------------------------------------------
    # createReport → getReport until DONE / CANCELLED (no data) / FATAL → getReportDocument → download, un-GZIP,
    # decode per the document's charset (reports.py). Rates in pacing.py.
    def create_report(self, *, report_type: str, marketplace_ids: list[str] | None = None,
                      data_start: datetime | None = None, data_end: datetime | None = None,
                      options: dict[str, str] | None = None) -> str:
        """createReport; returns the report id. Marketplaces are always explicit (the store's when not given);
        for GET_MERCHANT_LISTINGS_ALL_DATA Amazon uses only the first one."""
        client = self._client(Reports)
        specification: dict = {"reportType": report_type,
                               "marketplaceIds": list(marketplace_ids or self.marketplace_ids)}
        if data_start is not None:
            specification["dataStartTime"] = format_datetime(data_start)
        if data_end is not None:
            specification["dataEndTime"] = format_datetime(data_end)
        if options:
            specification["reportOptions"] = {str(k): str(v) for k, v in options.items()}
        response = self.call("createReport",
                             lambda: sp_client.post(client, "/reports/2021-06-30/reports", specification))
        report_id = (response.raw_json or {}).get("reportId")
        if not report_id:
            raise AmazonError("Amazon did not return a report id.", "Malformed", None, True)
        return str(report_id)

    def get_report(self, report_id: str) -> AmazonReport:
        """getReport: the report's status and, once DONE (or FATAL), its document id."""
        client = self._client(Reports)
        response = self.call("getReport", lambda: client.get_report(report_id))
        return AmazonReport.from_json(response.raw_json or {}, report_id)

    def wait_for_report(self, report_id: str, *, timeout: float = 3600.0, poll_seconds: float = 30.0) -> AmazonReport:
        """Poll getReport every ``poll_seconds`` (Amazon seconds: divided by the store's time scale, like pacing)
        until the report is DONE, CANCELLED or FATAL; returns it (the caller decides what CANCELLED and FATAL
        mean). Raises a retryable AmazonError when it is still not finished after ``timeout`` Amazon seconds."""
        scale = self.pacer.factor if self.pacer.factor > 0 else 1.0
        deadline = time.monotonic() + timeout / scale
        while True:
            report = self.get_report(report_id)
            if report.finished:
                return report
            if time.monotonic() + poll_seconds / scale > deadline:
                raise AmazonError(f"Amazon's report {report_id} is still {report.status}; try again later.",
                                  "ReportNotReady", None, True)
            self._sleep(poll_seconds / scale)

    def get_report_document(self, document_id: str) -> str:
        """getReportDocument, download its pre-signed URL, un-GZIP when Amazon says so and decode with the charset
        the download's Content-Type names (Cp1252 in Europe, Shift_JIS or UTF-8 in Japan...; never assumed)."""
        client = self._client(Reports)
        path = f"/reports/2021-06-30/documents/{document_id}"
        response = self.call("getReportDocument", lambda: sp_client.get(client, path))
        body = response.raw_json or {}
        if not body.get("url"):
            raise AmazonError("Amazon did not return the report's location.", "Malformed", None, True)
        content, content_type = self._download_report(body["url"])
        if str(body.get("compressionAlgorithm") or "").upper() == "GZIP":
            try:
                content = gzip.decompress(content)
            except (OSError, EOFError):
                raise AmazonError("Amazon's report could not be decompressed.", "Malformed", None, True)
        return report_text(content, content_type)

    def _download_report(self, url: str) -> tuple[bytes, str]:
        """GET a pre-signed report URL (no access token, no pacing), retried like ``_transfer``; (bytes, type)."""
        response = self._transfer_response("GET", url)
        return response.content, response.headers.get("content-type", "")
    # --- end of Reports ------------------------------------------------------------------------------------------

def _outcome_of(fn: Callable[[], ApiResponse]) -> ApiResponse | AmazonError:
    """What ``fn`` returned, or what it raised (an AmazonError or one of the library's errors) as an AmazonError."""
    try:
        return fn()
    except AmazonError as error:
        return error
    except sp_client.LIBRARY_ERRORS as error:
        return sp_client.amazon_error(error)


def _worth_retrying(error: BaseException) -> bool:
    """Trying again at once may succeed. Not after a call whose outcome is unknown (see ``Gateway.call``), nor when
    our own pacing would wait longer than the caller allows (``Paced``)."""
    return (isinstance(error, AmazonError) and error.retryable and not error.unknown_outcome
            and error.code != "Paced")


# --- SP-API operations this gateway calls (the request contract's list) ---------------------------------------
# Every name given to ``Gateway.call(...)`` (and to ``pacer.take``) → Amazon's operation, as
# "<model file>/<operationId>" of the models in ../shared/spapi-models. Keep it in step with the calls above:
# tests/amazon/test_gateway_contract.py fails when a call's name is missing here, and when the suite does not send
# every one of these operations to the sandbox in contract mode (saleschannel/sandbox/contract.py).
SP_API_OPERATIONS: dict[str, str] = {
    "searchOrders": "orders_2026-01-01/searchOrders",
    "getOrder2026": "orders_2026-01-01/getOrder",
    "getOrders": "ordersV0/getOrders",
    "getOrder": "ordersV0/getOrder",
    "getOrderItems": "ordersV0/getOrderItems",
    "confirmShipment": "ordersV0/confirmShipment",
    "createRestrictedDataToken": "tokens_2021-03-01/createRestrictedDataToken",
    "createFeedDocument": "feeds_2021-06-30/createFeedDocument",
    "createFeed": "feeds_2021-06-30/createFeed",
    "getFeeds": "feeds_2021-06-30/getFeeds",
    "getFeed": "feeds_2021-06-30/getFeed",
    "getFeedDocument": "feeds_2021-06-30/getFeedDocument",
    "createReport": "reports_2021-06-30/createReport",
    "getReport": "reports_2021-06-30/getReport",
    "getReportDocument": "reports_2021-06-30/getReportDocument",
}
