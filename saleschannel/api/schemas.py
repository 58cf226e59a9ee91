"""Request and response bodies of the API (OpenAPI 3 comes from these).

Money is a decimal string in the order's currency ("19.99"; input may also be a JSON number, never NaN or
infinity). Quantities are JSON integers. ``quantities`` maps order item ids (as strings, JSON keys) to units;
leave it out to take every unit left. Responses read the models directly (``from_attributes``); nothing here
decides anything: the services and rules do.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from saleschannel.catalog.rules import MAX_QTY
from saleschannel.sales import rules


def _storable(value: str) -> str:
    """Text every database keeps: PostgreSQL refuses NUL characters, and no database takes lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# What ``_storable`` refuses, said in the schema (JSON Schema patterns are ECMA regular expressions).
NO_NUL = {"pattern": "^[^\\u0000]*$"}
# An ISO 8601 date and time filter, or empty for none.
DATETIME_OR_EMPTY = {"anyOf": [{"format": "date-time"}, {"maxLength": 0}]}


def text(max_length: int):
    return Annotated[str, Field(max_length=max_length, json_schema_extra=NO_NUL), AfterValidator(_storable)]


def _whole_number(value):
    """JSON Schema's "integer" takes 3.0 too (a number whose fraction is zero); nothing else becomes one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Units: a JSON integer (3, or 3.0); never text, a boolean or a fraction.
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
Quantities = dict[str, WholeNumber]
# An amount given as text: a plain decimal ("19.99", "-2", ".5"). The schema says so, and the validator refuses the
# rest before the Decimal parser sees it (no exponent, spaces, "NaN" or "1_000": what the schema does not promise).
MONEY_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def _money_text(value):
    if isinstance(value, str) and not re.fullmatch(MONEY_PATTERN, value):
        raise ValueError("must be a decimal number such as 19.99")
    return value


Money = Annotated[Decimal, BeforeValidator(_money_text),
                  WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": MONEY_PATTERN}]})]
STOCK_LINES_MAX = 1000
Text = text(65535)


# --- Output ------------------------------------------------------------------------------------------------------


class Out(BaseModel):
    """The base of every response schema: a plain pydantic model, filled from the dicts the endpoints build.

    Not ninja's ``Schema``: it wraps every nested value in an object that reads Django model attributes, which the
    API never hands it; on a page of 100 orders with their items, that wrapping was a third of the CPU time of the
    request (bench/api_list.py).
    """

    model_config = ConfigDict(from_attributes=True)


class StoreOut(Out):
    id: int
    code: str
    name: str


class CustomerOut(Out):
    id: int | None
    email: str
    first_name: str
    last_name: str
    is_guest: bool


class AddressOut(Out):
    address_type: str
    first_name: str
    last_name: str
    company: str
    street1: str
    street2: str
    street3: str
    city: str
    region: str
    postcode: str
    country_code: str
    phone: str
    email: str


class ItemOut(Out):
    id: int
    sku: str
    name: str
    product_id: int | None
    external_item_id: str
    qty_ordered: int
    qty_invoiced: int
    qty_shipped: int
    qty_refunded: int
    qty_canceled: int
    qty_to_invoice: int
    qty_to_ship: int
    qty_to_refund: int
    original_price: Decimal
    price: Decimal
    row_total: Decimal
    tax_amount: Decimal
    tax_percent: Decimal
    discount_amount: Decimal


class TotalsOut(Out):
    subtotal: Decimal
    shipping_amount: Decimal
    shipping_tax_amount: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    grand_total: Decimal
    total_invoiced: Decimal
    total_paid: Decimal
    total_refunded: Decimal
    total_canceled: Decimal
    total_due: Decimal
    shipping_invoiced: Decimal
    shipping_refunded: Decimal


class ShippingMethodOut(Out):
    code: str
    title: str


class AmazonOut(Out):
    amazon_order_number: str
    status: str = Field(description="What the Amazon grids show: Amazon's status, or the local Error / Completed.")
    amazon_status: str = Field(description="The status Amazon reported last.")
    fulfillment_channel: str
    marketplace_id: str
    buyer_cancel_requested: bool
    latest_ship_date: datetime | None


class OrderSummaryOut(Out):
    id: int
    number: str
    store: StoreOut
    state: str
    status: str
    origin: str
    external_order_number: str
    currency: str
    customer: CustomerOut
    shipping_method: ShippingMethodOut
    totals: TotalsOut
    items: list[ItemOut]
    billing_address: AddressOut | None
    shipping_address: AddressOut | None
    amazon: AmazonOut | None
    created_at: datetime
    updated_at: datetime


class PaymentOut(Out):
    method_code: str
    method_title: str
    additional_information: dict


class HistoryOut(Out):
    id: int
    kind: str
    comment: str
    status: str
    author: str
    is_customer_notified: bool | None
    is_visible_on_front: bool
    created_at: datetime


class TrackOut(Out):
    carrier_code: str
    title: str
    number: str


class DocumentLineOut(Out):
    order_item_id: int
    sku: str
    qty: int


class InvoiceOut(Out):
    id: int
    number: str
    order_id: int
    order_number: str
    subtotal: Decimal
    shipping_amount: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    grand_total: Decimal
    created_at: datetime
    created_by: str
    items: list[DocumentLineOut]


class ShipmentOut(Out):
    id: int
    number: str
    order_id: int
    order_number: str
    total_qty: int
    created_at: datetime
    created_by: str
    items: list[DocumentLineOut]
    tracks: list[TrackOut]


class CreditMemoOut(Out):
    id: int
    number: str
    order_id: int
    order_number: str
    subtotal: Decimal
    shipping_amount: Decimal
    shipping_tax_amount: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    adjustment_refund: Decimal
    adjustment_fee: Decimal
    grand_total: Decimal
    reason: str
    created_at: datetime
    created_by: str
    items: list[DocumentLineOut]


class DocumentRefOut(Out):
    id: int
    number: str
    created_at: datetime


class ShipmentRefOut(DocumentRefOut):
    total_qty: int
    tracks: list[TrackOut]


class ActionOut(Out):
    allowed: bool
    reason: str


class OrderOut(OrderSummaryOut):
    payment: PaymentOut | None
    history: list[HistoryOut]
    invoices: list[DocumentRefOut]
    shipments: list[ShipmentRefOut]
    creditmemos: list[DocumentRefOut]
    actions: dict[str, ActionOut] = Field(
        description="What may be done to the order now (" + ", ".join(a.value for a in rules.Action)
        + "), with the reason when not: the buttons of the order view.")


class InvoicePageOut(Out):
    items: list[InvoiceOut]
    next_cursor: str | None


class ShipmentPageOut(Out):
    items: list[ShipmentOut]
    next_cursor: str | None


class CreditMemoPageOut(Out):
    items: list[CreditMemoOut]
    next_cursor: str | None


class OrderPageOut(Out):
    items: list[OrderSummaryOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class ProblemOut(Out):
    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str
    instance: str
    errors: list[dict] | None = None



# --- Output: Amazon orders, outbox, stores, products ---------------------------------------------------------


class AmazonStoreRefOut(Out):
    id: int
    name: str


class CommerceOrderRefOut(Out):
    id: int
    number: str


class AmazonBuyerOut(Out):
    name: str
    email: str
    company: str


class AmazonAddressOut(Out):
    name: str
    company: str
    line1: str
    line2: str
    line3: str
    city: str
    region: str
    postal_code: str
    country_code: str
    phone: str


class AmazonItemOut(Out):
    order_item_id: str
    asin: str
    seller_sku: str
    title: str
    condition: str
    qty_ordered: int
    qty_shipped: int
    item_price: Decimal = Field(description="Amazon's ItemPrice: unit price × quantity.")
    item_tax: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    promotion_discount: Decimal
    buyer_requested_cancel: bool


class AmazonOrderSummaryOut(Out):
    amazon_order_number: str
    store: AmazonStoreRefOut
    marketplace_id: str
    status: str = Field(description="What the Amazon grids show: Amazon's status, or the local Error / Completed.")
    amazon_status: str = Field(description="The status Amazon reported last.")
    fulfillment_channel: str = Field(description="MFN (shipped by the merchant) or AFN (by Amazon, FBA).")
    currency: str
    order_total: Decimal | None = Field(description="Null while Pending (Amazon gives no prices yet).")
    is_prime: bool
    is_business: bool
    is_replacement: bool
    purchase_date: datetime
    latest_ship_date: datetime | None
    latest_delivery_date: datetime | None
    items_shipped: int
    items_unshipped: int
    buyer_cancel_requested: bool
    buyer_cancel_reason: str
    buyer: AmazonBuyerOut | None = Field(description="Null once the personal data was redacted.")
    shipping_address: AmazonAddressOut | None = Field(description="Null once the personal data was redacted.")
    personal_data_redacted_at: datetime | None
    commerce_order: CommerceOrderRefOut | None = Field(description="The Commerce order it was imported as.")
    import_error: str = Field(description="Why the Commerce order could not be created (status Error).")
    items: list[AmazonItemOut]
    created_at: datetime
    updated_at: datetime


class OutboxMessageOut(Out):
    id: int
    amazon_order_number: str
    store_id: int = Field(description="The Amazon store.")
    kind: str = Field(description="shipment, cancel or refund.")
    state: str = Field(description="queued, sending, sent (feed submitted), accepted, failed (retried at "
                                   "next_attempt_at) or dead (gave up).")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    outcome_unknown: bool = Field(description="Amazon may have done it: it is looked for before anything is sent "
                                              "again.")
    feed_id: str
    feed_status: str
    package_reference_id: int | None
    shipment_id: int | None
    creditmemo_id: int | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None


class OutboxSummaryOut(Out):
    counts: dict[str, int] = Field(description="Messages per state.")
    messages: list[OutboxMessageOut] = Field(description="Newest first.")


class AmazonOrderOut(AmazonOrderSummaryOut):
    sales_channel: str
    ship_service_level: str
    shipment_service_level_category: str
    payment_method: str
    notes: str
    is_reserved: bool = Field(description="Whether stock is reserved for it (before its import).")
    address_corrected_at: datetime | None
    outbox: OutboxSummaryOut


class AmazonOrderPageOut(Out):
    items: list[AmazonOrderSummaryOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class OutboxPageOut(Out):
    items: list[OutboxMessageOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class SyncHealthOut(Out):
    last_successful_sync_at: datetime | None
    synced_up_to: datetime | None = Field(description="The watermark: Amazon's changes up to here are imported.")
    lag_seconds: int | None = Field(description="How far behind now the watermark is.")
    failing_since: datetime | None = Field(description="Start of the current streak of failed syncs, or null.")
    failures_in_row: int
    alerted_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    errors_24h: int = Field(description="Failed syncs and order errors in the last 24 hours.")
    orders_in_error: int
    queued_outbound: int = Field(description="Messages on their way to Amazon.")
    dead_outbound: int = Field(description="Messages Amazon never took (dead letters).")


class AmazonStoreOut(Out):
    id: int
    name: str
    seller_id: str
    region: str
    marketplace_ids: list[str]
    is_active: bool
    import_enabled: bool
    import_store_id: int | None = Field(description="The Commerce store orders are imported into (null: this one).")
    invoice_on_import: bool
    import_fba: bool
    sync_frequency_minutes: int
    health: SyncHealthOut


class CommerceStoreOut(Out):
    id: int
    code: str
    name: str
    currency: str
    locale: str
    order_number_prefix: str
    is_active: bool
    amazon_stores: list[AmazonStoreOut]


class StoreListOut(Out):
    items: list[CommerceStoreOut]


class ProductOut(Out):
    id: int
    sku: str
    name: str
    price: Decimal
    enabled: bool
    manage_stock: bool
    qty: int = Field(description="Units physically in stock.")
    qty_reserved: int = Field(description="Units promised to orders that have not shipped yet.")
    salable_qty: int = Field(description="qty - qty_reserved (never below 0).")
    is_in_stock: bool = Field(description="Stock status set by staff.")
    created_at: datetime
    updated_at: datetime


class ProductPageOut(Out):
    items: list[ProductOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class StockUpdateOut(Out):
    items: list[ProductOut] = Field(description="The products, in the order of the lines.")


# --- Input -------------------------------------------------------------------------------------------------------


class InvoiceIn(Schema):
    quantities: Quantities | None = Field(None, description="{order item id: units}; leave out for every unit left.")
    comment: Text = ""
    notify_customer: StrictBool = False


class TrackIn(Schema):
    carrier_code: text(32) = Field(
        description="dhl, fedex, ups, usps, royal_mail, dpd, gls, colissimo, chronopost or custom (needs title).")
    title: text(128) = ""
    number: text(128)


class ShipmentIn(Schema):
    quantities: Quantities | None = Field(None, description="{order item id: units}; leave out for every unit left.")
    tracks: list[TrackIn] = Field(default_factory=list, max_length=100)
    comment: Text = ""
    notify_customer: StrictBool = False


class CreditMemoIn(Schema):
    quantities: Quantities | None = Field(None, description="{order item id: units}; leave out for every unit "
                                                            "invoiced and not refunded.")
    return_to_stock: list[WholeNumber] | StrictBool = Field(
        default_factory=list, description="Order item ids whose shipped units go back to stock, or true for all.")
    shipping_refund: Money | None = Field(None, description="Leave out for all the shipping not refunded yet.")
    adjustment_refund: Money = Decimal("0")
    adjustment_fee: Money = Decimal("0")
    comment: Text = ""
    notify_customer: StrictBool = False


class CancelIn(Schema):
    reason: text(64) = Field(
        "", description="Required for an Amazon order: one of Amazon's cancel reasons (NoInventory, "
                        "ShippingAddressUndeliverable, CustomerExchange, BuyerCanceled, GeneralAdjustment, "
                        "CarrierCreditDecision, RiskAssessmentInformationNotValid, CarrierCoverageFailure, "
                        "CustomerReturn, MerchandiseNotReceived).")
    comment: Text = ""


class CommentIn(Schema):
    comment: Text = ""
    status: text(32) | None = None
    notify_customer: StrictBool = False
    visible_on_front: StrictBool = False


class StockLineIn(Schema):
    sku: text(64) = Field(min_length=1)
    quantity: WholeNumber = Field(ge=0, le=MAX_QTY, description="Units physically in stock; never below the units "
                                                              "reserved for orders (`qty_reserved`).")


class StockUpdateIn(Schema):
    lines: list[StockLineIn] = Field(min_length=1, max_length=STOCK_LINES_MAX,
                                     description=f"1 to {STOCK_LINES_MAX} lines, one per SKU.")
