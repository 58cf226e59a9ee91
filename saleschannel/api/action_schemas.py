"""Request bodies of the Amazon actions (cancel with a reason, address correction, outbox retry) and of the product
writes (create, update). ``schemas.py`` holds the others; the same conventions apply (text without NUL characters,
money as a decimal string or a JSON number, whole numbers as JSON integers). Nothing here decides anything: the
services and rules do.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field, StrictBool, StrictInt

from saleschannel.amazon.feeds import CANCEL_REASONS
from saleschannel.api.schemas import Money, _whole_number, text
from saleschannel.catalog.rules import MAX_QTY, NAME_MAX_LENGTH, SKU_MAX_LENGTH

CancelReason = Literal[CANCEL_REASONS]
# A stock quantity: ``WholeNumber`` with its bounds, said in the schema inside a "| None" too.
Units = Annotated[StrictInt, Field(ge=0, le=MAX_QTY), BeforeValidator(_whole_number)]


class AmazonCancelIn(Schema):
    reason: CancelReason = Field(description="One of Amazon's cancel reasons (CancelReason of the "
                                             "OrderAcknowledgement feed): " + ", ".join(CANCEL_REASONS) + ".")


# API name → AmazonOrder field (``amazon.services.ADDRESS_FIELDS``), as ``AmazonAddressOut`` names them.
ADDRESS_FIELDS = {"line1": "ship_address_line1", "line2": "ship_address_line2", "line3": "ship_address_line3",
                  "city": "ship_city", "region": "ship_region", "postal_code": "ship_postal_code",
                  "country_code": "ship_country_code"}


class AmazonAddressIn(Schema):
    """Only the fields given change; the name, company and phone are Amazon's and are not corrected here."""

    line1: text(255) | None = Field(None, description="Cannot be emptied.")
    line2: text(255) | None = None
    line3: text(255) | None = None
    city: text(128) | None = None
    region: text(128) | None = None
    postal_code: text(32) | None = None
    country_code: text(2) | None = Field(None, description="Two letters (US, GB, DE ...).")


class OutboxRetryIn(Schema):
    confirm_may_duplicate: StrictBool = Field(
        False, description="Send it again even though Amazon may already have applied it (a refund whose "
                           "submission got no clear answer): true only after checking Seller Central. Without it, "
                           "such a retry is refused (409 `confirmation_required`) with the exact risk.")


class ProductCreateIn(Schema):
    sku: text(SKU_MAX_LENGTH) = Field(min_length=1, description="Unique, without regard to case.")
    name: text(NAME_MAX_LENGTH) = Field(min_length=1)
    price: Money
    qty: Units = Field(0, description="Units physically in stock.")
    enabled: StrictBool = True
    manage_stock: StrictBool = True
    is_in_stock: StrictBool = Field(True, description="Stock status set by staff.")


class ProductUpdateIn(Schema):
    """Only the fields given change (and only what differs is recorded in the product's change log)."""

    sku: text(SKU_MAX_LENGTH) | None = Field(None, min_length=1, description="Changing the SKU changes which "
                                                                              "Amazon orders find this product.")
    name: text(NAME_MAX_LENGTH) | None = Field(None, min_length=1)
    price: Money | None = None
    qty: Units | None = Field(None, description="Units physically in stock; never below the units reserved for "
                                                "orders.")
    enabled: StrictBool | None = None
    manage_stock: StrictBool | None = None
    is_in_stock: StrictBool | None = None
