"""Order searches — searchOrders (Orders 2026-01-01) and getOrders (v0) — with Amazon's input rules, page after page.

The rules come from the words of Amazon's models (``orders_2026-01-01.json``, ``ordersV0.json``):

* exactly one of ``createdAfter`` / ``lastUpdatedAfter``, and no mixing of the created and updated filters;
* ``*Before`` at least two minutes before the request, not before ``*After``, and bounding the result;
* ``maxResultsPerPage`` 1–100, at most 50 marketplaces, dates in ISO 8601, enums from the model;
* ``Pagination``: "All other parameters must be provided with the same values that were provided with the request
  that generated this token, with the exception of ``maxResultsPerPage`` and ``includedData``". A token alone, or a
  token with other values, is refused; tokens expire after 24 hours. v0 asks for ``MarketplaceIds`` on every
  request, the token's included, and is held to the same rule (only ``MaxResultsPerPage`` may change).

Each handler returns ``(status, body)`` or raises ``ApiError`` with Amazon's status, code and message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from . import render
from .engine import ApiError, Sandbox, decode_token, encode_token
from .generator import STATUS_FROM_2026, V0_STATUSES
from .timeutil import iso, now_ms, parse_iso

MAX_PAGE_SIZE = 100
MAX_MARKETPLACES = 50
MAX_ORDER_IDS = 50

# Every query parameter of searchOrders, and those that may change from one page to the next.
PARAMS_2026 = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore", "fulfillmentStatuses",
               "marketplaceIds", "fulfilledBy", "maxResultsPerPage", "paginationToken", "includedData")
FREE_ON_LATER_PAGES_2026 = frozenset({"paginationToken", "maxResultsPerPage", "includedData"})
LIST_PARAMS_2026 = frozenset({"fulfillmentStatuses", "marketplaceIds", "fulfilledBy", "includedData"})
FULFILLED_BY = {"MERCHANT": "MFN", "AMAZON": "AFN"}

PARAMS_V0 = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore", "OrderStatuses",
             "MarketplaceIds", "FulfillmentChannels", "PaymentMethods", "BuyerEmail", "SellerOrderId",
             "MaxResultsPerPage", "EasyShipShipmentStatuses", "ElectronicInvoiceStatuses", "NextToken",
             "AmazonOrderIds", "ActualFulfillmentSupplySourceId", "IsISPU", "StoreChainStoreId",
             "EarliestDeliveryDateBefore", "EarliestDeliveryDateAfter", "LatestDeliveryDateBefore",
             "LatestDeliveryDateAfter")
FREE_ON_LATER_PAGES_V0 = frozenset({"NextToken", "MaxResultsPerPage"})
LIST_PARAMS_V0 = frozenset({"OrderStatuses", "MarketplaceIds", "FulfillmentChannels", "PaymentMethods",
                            "EasyShipShipmentStatuses", "ElectronicInvoiceStatuses", "AmazonOrderIds"})

PAGINATION_RULE_2026 = ("All parameters other than paginationToken, maxResultsPerPage and includedData must be "
                        "provided with the same values that were provided with the request that generated the "
                        "paginationToken.")
PAGINATION_RULE_V0 = ("All parameters other than NextToken and MaxResultsPerPage must be provided with the same "
                      "values that were provided with the request that generated the NextToken.")


@dataclass(frozen=True)
class Pagination:
    """How one API version pages a search: the token's name and what must stay the same from page to page."""

    version: str
    token: str
    params: tuple[str, ...]
    free: frozenset[str]  # may change on later pages
    lists: frozenset[str]  # array parameters (CSV or repeated)
    rule: str  # the refusal when a later page does not repeat the first


PAGINATION_2026 = Pagination("2026", "paginationToken", PARAMS_2026, FREE_ON_LATER_PAGES_2026, LIST_PARAMS_2026,
                             PAGINATION_RULE_2026)
PAGINATION_V0 = Pagination("v0", "NextToken", PARAMS_V0, FREE_ON_LATER_PAGES_V0, LIST_PARAMS_V0, PAGINATION_RULE_V0)


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


# --- Parameter readers ------------------------------------------------------------------------------------------


def list_arg(args: MultiDict, name: str) -> list[str]:
    """Array query parameters, sent as CSV (``a,b``) or repeated (``a&a``)."""
    values = []
    for raw in args.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values


def int_arg(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer.")
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}.")
    return value


def date_arg(args: MultiDict, name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid(f"Invalid {name}: {raw!r} is not an ISO 8601 date-time.")


def check_enum(name: str, values: list[str], allowed) -> None:
    for value in values:
        if value not in allowed:
            raise invalid(f"Invalid value {value!r} for {name}.")


def query_fingerprint(args: MultiDict, names, free: frozenset[str], lists: frozenset[str]) -> str:
    """A digest of every parameter that must stay the same from page to page, as the client sent it."""
    fixed = {}
    for name in names:
        if name in free or name not in args:
            continue
        fixed[name] = list_arg(args, name) if name in lists else args.getlist(name)
    text = json.dumps(fixed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- Shared rules -----------------------------------------------------------------------------------------------


def marketplaces(sandbox: Sandbox, values: list[str], name: str) -> list[str]:
    if len(values) > MAX_MARKETPLACES:
        raise invalid(f"At most {MAX_MARKETPLACES} {name} are allowed.")
    allowed = set(sandbox.credentials["marketplace_ids"])
    for value in values:
        if value not in allowed:
            raise invalid(f"Invalid marketplace id {value!r}: the seller does not participate in it.")
    return values


def window(sandbox: Sandbox, after_name: str, before_name: str, after_raw: int, before_raw: int | None
           ) -> tuple[int, int]:
    """The 2-minute rule: a window end must be at least 2 minutes (scaled) before now; it defaults to that."""
    latest = now_ms() - sandbox.scaled_ms(120)
    if before_raw is None:
        before = latest
    elif before_raw > latest:
        raise invalid(f"{before_name} must be at least two minutes before the time of the request.")
    else:
        before = before_raw
    if after_raw > before:
        raise invalid(f"{after_name} must be before {before_name} ({iso(before)}).")
    return after_raw, before


def page_token(sandbox: Sandbox, text: str, seller_id: str, version: str, name: str) -> dict[str, Any]:
    state = decode_token(text)
    if state.get("s") != seller_id or state.get("v") != version:
        raise invalid(f"Invalid {name}.")
    if state["e"] < now_ms():
        raise invalid(f"The {name} has expired.")
    return state


def search_state(sandbox: Sandbox, seller_id: str, args: MultiDict, pagination: Pagination,
                 first_page: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The search a request asks for: a new one (``first_page`` checks its parameters), or the one its token carries
    when the request repeats the first page's parameters, as Amazon's Pagination rule demands."""
    fingerprint = query_fingerprint(args, pagination.params, pagination.free, pagination.lists)
    token_text = args.get(pagination.token)
    if not token_text:
        return {**first_page(), "q": fingerprint}
    state = page_token(sandbox, token_text, seller_id, pagination.version, pagination.token)
    if state.get("q") != fingerprint:
        raise invalid(pagination.rule)
    return state


def token_expiry(sandbox: Sandbox) -> int:
    return now_ms() + sandbox.scaled_ms(sandbox.settings.pagination_token_ttl_seconds)


def next_cursor(docs: list[dict[str, Any]], page_size: int, column: str) -> list | None:
    if len(docs) <= page_size:
        return None
    last = docs[page_size - 1]
    return [last["lastUpdatedMs"] if column == "updated_ms" else last["createdMs"], last["orderId"]]


def _find(sandbox: Sandbox, seller_id: str, state: dict[str, Any], page_size: int) -> list[dict[str, Any]]:
    sandbox.tick()
    return sandbox.store.search_orders(
        seller_id=seller_id, time_column=state["c"], after=state["a"], before=state["b"], statuses=state["st"],
        marketplace_ids=state["m"], channels=state["f"], limit=page_size + 1,
        cursor=tuple(state["k"]) if state["k"] else None, buyer_email=state.get("be"),
        seller_order_id=state.get("so"), order_ids=state.get("o"))


# --- searchOrders (2026-01-01) ----------------------------------------------------------------------------------


def search_orders_2026(sandbox: Sandbox, seller_id: str, args: MultiDict) -> tuple[int, dict[str, Any]]:
    included = list_arg(args, "includedData")
    check_enum("includedData", included, render.INCLUDED_DATA)
    page_size = int_arg(args, "maxResultsPerPage", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    state = search_state(sandbox, seller_id, args, PAGINATION_2026,
                         lambda: _first_search_2026(sandbox, seller_id, args))
    docs = _find(sandbox, seller_id, state, page_size)
    included_set = set(included)
    body: dict[str, Any] = {"orders": [render.order_2026(d, included_set) for d in docs[:page_size]]}
    cursor = next_cursor(docs, page_size, state["c"])
    if cursor:
        body["pagination"] = {"nextToken": encode_token({**state, "k": cursor})}
    body["lastUpdatedBefore" if state["c"] == "updated_ms" else "createdBefore"] = iso(state["b"])
    return 200, body


def _first_search_2026(sandbox: Sandbox, seller_id: str, args: MultiDict) -> dict[str, Any]:
    created_after = date_arg(args, "createdAfter")
    updated_after = date_arg(args, "lastUpdatedAfter")
    created_before = date_arg(args, "createdBefore")
    updated_before = date_arg(args, "lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        raise invalid("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    if created_after is not None and updated_before is not None:
        raise invalid("lastUpdatedBefore cannot be provided with createdAfter.")
    if updated_after is not None and created_before is not None:
        raise invalid("createdBefore cannot be provided with lastUpdatedAfter.")
    if created_after is not None:
        column = "created_ms"
        after, before = window(sandbox, "createdAfter", "createdBefore", created_after, created_before)
    else:
        column = "updated_ms"
        after, before = window(sandbox, "lastUpdatedAfter", "lastUpdatedBefore", updated_after, updated_before)
    statuses = list_arg(args, "fulfillmentStatuses")
    check_enum("fulfillmentStatuses", statuses, STATUS_FROM_2026)
    marketplace_ids = marketplaces(sandbox, list_arg(args, "marketplaceIds"), "marketplaceIds")
    fulfilled_by = list_arg(args, "fulfilledBy")
    check_enum("fulfilledBy", fulfilled_by, FULFILLED_BY)
    state = {"v": "2026", "s": seller_id, "c": column, "a": after, "b": before,
             "st": [STATUS_FROM_2026[s] for s in statuses], "m": marketplace_ids,
             "f": [FULFILLED_BY[f] for f in fulfilled_by], "k": None, "e": token_expiry(sandbox)}
    if "Unshipped" in state["st"]:
        state["st"].append("InvoiceUnconfirmed")  # shown as UNSHIPPED in this version
    return state


# --- getOrders (v0) ---------------------------------------------------------------------------------------------


def get_orders_v0(sandbox: Sandbox, seller_id: str, args: MultiDict, grants) -> tuple[int, dict[str, Any]]:
    marketplace_ids = marketplaces(sandbox, list_arg(args, "MarketplaceIds"), "MarketplaceIds")
    if not marketplace_ids:
        raise invalid("MarketplaceIds is required.")
    page_size = int_arg(args, "MaxResultsPerPage", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    state = search_state(sandbox, seller_id, args, PAGINATION_V0,
                         lambda: _first_search_v0(sandbox, seller_id, args, marketplace_ids))
    docs = _find(sandbox, seller_id, state, page_size)
    elements = grants or set()
    payload: dict[str, Any] = {"Orders": [render.order_v0(d, data_elements=elements) for d in docs[:page_size]]}
    cursor = next_cursor(docs, page_size, state["c"])
    if cursor:
        payload["NextToken"] = encode_token({**state, "k": cursor})
    if not state["o"]:
        payload["LastUpdatedBefore" if state["c"] == "updated_ms" else "CreatedBefore"] = iso(state["b"])
    return 200, {"payload": payload}


def _first_search_v0(sandbox: Sandbox, seller_id: str, args: MultiDict, marketplace_ids: list[str]
                     ) -> dict[str, Any]:
    order_ids = list_arg(args, "AmazonOrderIds")
    if len(order_ids) > MAX_ORDER_IDS:
        raise invalid(f"At most {MAX_ORDER_IDS} AmazonOrderIds are allowed.")
    created_after = date_arg(args, "CreatedAfter")
    updated_after = date_arg(args, "LastUpdatedAfter")
    if order_ids:
        column, after, before = "created_ms", 0, now_ms()
    elif (created_after is None) == (updated_after is None):
        raise invalid("Exactly one of CreatedAfter and LastUpdatedAfter must be provided.")
    elif created_after is not None:
        if args.get("LastUpdatedBefore"):
            raise invalid("LastUpdatedBefore cannot be provided with CreatedAfter.")
        column = "created_ms"
        after, before = window(sandbox, "CreatedAfter", "CreatedBefore", created_after,
                               date_arg(args, "CreatedBefore"))
    else:
        if args.get("CreatedBefore"):
            raise invalid("CreatedBefore cannot be provided with LastUpdatedAfter.")
        column = "updated_ms"
        after, before = window(sandbox, "LastUpdatedAfter", "LastUpdatedBefore", updated_after,
                               date_arg(args, "LastUpdatedBefore"))
    statuses = list_arg(args, "OrderStatuses")
    check_enum("OrderStatuses", statuses, V0_STATUSES)
    channels = list_arg(args, "FulfillmentChannels")
    check_enum("FulfillmentChannels", channels, ("MFN", "AFN"))
    return {"v": "v0", "s": seller_id, "c": column, "a": after, "b": before, "st": statuses,
            "m": marketplace_ids, "f": channels, "o": order_ids, "be": args.get("BuyerEmail"),
            "so": args.get("SellerOrderId"), "k": None, "e": token_expiry(sandbox)}
