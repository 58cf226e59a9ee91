"""Request and response bodies of the API (OpenAPI 3 comes from these).

Money is a decimal string in the order's currency ("19.99"; input may also be a JSON number, never NaN or
infinity). Quantities are JSON integers. ``quantities`` maps order item ids (as strings, JSON keys) to units;
leave it out to take every unit left. Responses read the models directly (``from_attributes``); nothing here
decides anything: the services and rules do.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field, StrictBool, StrictInt

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


def text(max_length: int):
    return Annotated[str, Field(max_length=max_length), AfterValidator(_storable)]


Quantities = dict[str, StrictInt]
Text = text(65535)


# --- Output ------------------------------------------------------------------------------------------------------


class StoreOut(Schema):
    id: int
    code: str
    name: str


class CustomerOut(Schema):
    id: int | None
    email: str
    first_name: str
    last_name: str
    is_guest: bool


class AddressOut(Schema):
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


class ItemOut(Schema):
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


class TotalsOut(Schema):
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


class ShippingMethodOut(Schema):
    code: str
    title: str


class AmazonOut(Schema):
    amazon_order_number: str
    status: str = Field(description="What the Amazon grids show: Amazon's status, or the local Error / Completed.")
    amazon_status: str = Field(description="The status Amazon reported last.")
    fulfillment_channel: str
    marketplace_id: str
    buyer_cancel_requested: bool
    latest_ship_date: datetime | None


class OrderSummaryOut(Schema):
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


class PaymentOut(Schema):
    method_code: str
    method_title: str
    additional_information: dict


class HistoryOut(Schema):
    id: int
    kind: str
    comment: str
    status: str
    author: str
    is_customer_notified: bool | None
    is_visible_on_front: bool
    created_at: datetime


class TrackOut(Schema):
    carrier_code: str
    title: str
    number: str


class DocumentLineOut(Schema):
    order_item_id: int
    sku: str
    qty: int


class InvoiceOut(Schema):
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


class ShipmentOut(Schema):
    id: int
    number: str
    order_id: int
    order_number: str
    total_qty: int
    created_at: datetime
    created_by: str
    items: list[DocumentLineOut]
    tracks: list[TrackOut]


class CreditMemoOut(Schema):
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


class DocumentRefOut(Schema):
    id: int
    number: str
    created_at: datetime


class ShipmentRefOut(DocumentRefOut):
    total_qty: int
    tracks: list[TrackOut]


class ActionOut(Schema):
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


class InvoicePageOut(Schema):
    items: list[InvoiceOut]
    next_cursor: str | None


class ShipmentPageOut(Schema):
    items: list[ShipmentOut]
    next_cursor: str | None


class CreditMemoPageOut(Schema):
    items: list[CreditMemoOut]
    next_cursor: str | None


class OrderPageOut(Schema):
    items: list[OrderSummaryOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page; null on the last page.")


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str
    instance: str
    errors: list[dict] | None = None


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
    return_to_stock: list[StrictInt] | StrictBool = Field(
        default_factory=list, description="Order item ids whose shipped units go back to stock, or true for all.")
    shipping_refund: Decimal | None = Field(None, description="Leave out for all the shipping not refunded yet.")
    adjustment_refund: Decimal = Decimal("0")
    adjustment_fee: Decimal = Decimal("0")
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
