"""Generated orders (no server): realistic mix, consistent totals in both API versions, reproducible from a seed."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest

from saleschannel.sandbox import catalog, render
from saleschannel.sandbox.generator import SpecError, new_order, order_total
from saleschannel.sandbox.orders import become_paid

ALL = set(render.INCLUDED_DATA)
NOW = 1_795_000_000_000


def paid_orders(count: int, seed: int = 1, **spec) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        doc = new_order(rng, spec, seller_id="A1SANDBOXTEST", created_ms=NOW)
        become_paid(doc, NOW + 1000)
        docs.append(doc)
    return docs


def v0_total(doc: dict) -> Decimal:
    """The documented formula, applied to what the v0 API shows."""
    total = Decimal(0)
    for item in render.order_items_v0(doc):
        total += sum(Decimal(item[k]["Amount"]) for k in ("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax"))
        total -= sum(Decimal(item[k]["Amount"]) for k in ("PromotionDiscount", "ShippingDiscount"))
    return total


def test_totals_are_the_same_in_both_versions_and_rebuildable_to_the_cent():
    for doc in paid_orders(400):
        v0 = render.order_v0(doc)
        v2026 = render.order_2026(doc, ALL)
        assert Decimal(v0["OrderTotal"]["Amount"]) == v0_total(doc) == order_total(doc)
        grand = Decimal(v2026["proceeds"]["grandTotal"]["amount"])
        assert grand == Decimal(v0["OrderTotal"]["Amount"])
        assert grand == sum(Decimal(b["subtotal"]["amount"]) for b in v2026["proceeds"]["breakdowns"])
        assert grand == sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in v2026["orderItems"])
        for item in v2026["orderItems"]:
            unit = Decimal(item["product"]["price"]["unitPrice"]["amount"])
            item_breakdown = next(b for b in item["proceeds"]["breakdowns"] if b["type"] == "ITEM")
            assert unit * item["quantityOrdered"] == Decimal(item_breakdown["subtotal"]["amount"])


def test_jpy_amounts_have_no_minor_unit_and_others_have_two_decimals():
    for doc in paid_orders(50, marketplace="JP"):
        assert render.order_v0(doc)["OrderTotal"]["CurrencyCode"] == "JPY"
        for item in render.order_items_v0(doc):
            for key in ("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax", "PromotionDiscount"):
                assert "." not in item[key]["Amount"]
    for doc in paid_orders(20, marketplace="DE"):
        assert render.order_v0(doc)["OrderTotal"]["Amount"].split(".")[1].__len__() == 2
        assert render.order_v0(doc)["OrderTotal"]["CurrencyCode"] == "EUR"


def test_the_random_mix_covers_what_amazon_sends():
    docs = paid_orders(600)
    marketplaces = Counter(d["marketplaceId"] for d in docs)
    assert set(marketplaces) == {m.marketplace_id for m in catalog.MARKETPLACES.values()}
    assert {d["channel"] for d in docs} == {"MFN", "AFN"}
    assert any(d["prime"] for d in docs) and any(d["business"] for d in docs)
    assert any(d["replacedOrderId"] for d in docs)
    assert any(len(d["items"]) > 1 for d in docs)
    assert any(i["qty"] > 1 for d in docs for i in d["items"])
    assert any(i["promotionIds"] for d in docs for i in d["items"])
    assert any(Decimal(i["shippingDiscount"]) for d in docs for i in d["items"])
    assert any(i["gift"] for d in docs for i in d["items"])
    assert any(Decimal(i["itemTax"]) and Decimal(i["shippingTax"]) for d in docs for i in d["items"])
    assert any(not (d["buyer"]["name"] or "").isascii() for d in docs)
    assert any(not d["address"].get("addressLine1", "x").isascii() for d in docs)
    assert {i["sku"] for d in docs for i in d["items"]} <= {f"SANDBOX-SKU-{n:03d}" for n in range(1, 31)}


def test_fba_orders_carry_no_address_lines_name_or_phone():
    for doc in paid_orders(30, fulfillment="AFN"):
        assert doc["status"] == "Shipped"
        address = render.order_v0(doc, data_elements={"shippingAddress", "buyerInfo"})["ShippingAddress"]
        assert set(address) == {"City", "StateOrRegion", "PostalCode", "CountryCode"}
        recipient = render.order_2026(doc, ALL)["recipient"]["deliveryAddress"]
        assert "name" not in recipient and "addressLine1" not in recipient and "phone" not in recipient


def test_pending_orders_have_no_prices_and_no_address():
    rng = random.Random(5)
    doc = new_order(rng, {"marketplace": "US", "fulfillment": "MFN"}, seller_id="A1SANDBOXTEST", created_ms=NOW)
    assert doc["status"] == "Pending"
    v0 = render.order_v0(doc, data_elements={"shippingAddress", "buyerInfo"})
    assert "OrderTotal" not in v0 and "ShippingAddress" not in v0
    assert all("ItemPrice" not in i for i in render.order_items_v0(doc))
    v2026 = render.order_2026(doc, ALL)
    assert "proceeds" not in v2026 and "recipient" not in v2026
    assert all("price" not in i["product"] for i in v2026["orderItems"])
    assert v2026["fulfillment"]["fulfillmentStatus"] == "PENDING"


def test_same_seed_same_orders():
    first = paid_orders(20, seed=42)
    again = paid_orders(20, seed=42)
    other = paid_orders(20, seed=43)
    assert first == again
    assert [d["orderId"] for d in first] != [d["orderId"] for d in other]


def test_items_from_a_spec_are_used_as_given():
    [doc] = paid_orders(1, marketplace="UK", fulfillment="MFN", prime=False, promotion=False, replacement=False,
                        items=[{"sku": "MY-SKU", "qty": 3, "price": "9.99", "tax": "6.00", "shipping": "2.50",
                                "shipping_tax": "0.50", "discount": "1.00"}])
    [item] = doc["items"]
    assert (item["sku"], item["qty"], item["itemPrice"], item["itemTax"]) == ("MY-SKU", 3, "29.97", "6.00")
    assert order_total(doc) == Decimal("29.97") + Decimal("6.00") + Decimal("2.50") + Decimal("0.50") - 1


@pytest.mark.parametrize("spec, message", [
    ({"marketplace": "XX"}, "unknown marketplace"),
    ({"fulfillment": "DROPSHIP"}, "fulfillment"),
    ({"items": [{"qty": 1}]}, "sku is required"),
    ({"items": [{"sku": "A", "qty": 1, "price": "abc"}]}, "not a number"),
])
def test_bad_specs_are_refused_with_the_field(spec, message):
    with pytest.raises(SpecError, match=message):
        new_order(random.Random(1), spec, seller_id="A1SANDBOXTEST", created_ms=NOW)


def test_default_catalog_is_stable():
    assert [s.sku for s in catalog.DEFAULT_SKUS][:2] == ["SANDBOX-SKU-001", "SANDBOX-SKU-002"]
    assert len(catalog.DEFAULT_SKUS) == 30
    assert catalog.SKUS_BY_NAME["SANDBOX-SKU-001"].title == "Sandbox Ceramic Mug"
    assert catalog.SKUS_BY_NAME["SANDBOX-SKU-001"].price_in(catalog.MARKETPLACES["JP"]) % 10 == 0
