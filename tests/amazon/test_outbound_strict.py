"""The outbox against a strict Amazon (DESIGN §8.1): a package reference is used once per order, refunds only on
shipped orders, within each item's remaining proceeds, in the order's currency and decimals. After an unknown
outcome, or a refusal of the package, the product looks at the order first. Real HTTP against the sandbox."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from saleschannel.amazon import delivery
from saleschannel.amazon.models import AmazonOrder, ApiVersion, OutboxKind, OutboxMessage, OutboxState
from saleschannel.amazon.services import amazon_store_create
from saleschannel.amazon.spapi.gateway import Gateway, RetryPolicy
from saleschannel.amazon.spapi.normalise import parse_datetime
from saleschannel.sales.services import creditmemo_create, shipment_create
from tests.amazon.conftest import TIME_SCALE, connect_store
from tests.amazon.test_outbound import UPS, deliver_until_done, import_orders, two_line_order
from tests.sandbox.helpers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _skus(catalog):
    assert "SANDBOX-SKU-001" in catalog


def confirmations(sandbox) -> list[int]:
    return [r["status"] for r in sandbox.requests(operation="confirmShipment")]


def shipment_message(sandbox, amazon_store, staff_user) -> OutboxMessage:
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    return OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.SHIPMENT)


def send_behind_our_back(store, message: OutboxMessage, *, tracking: str | None = None) -> None:
    """What Amazon has when our answer was lost: this message's package, already confirmed."""
    payload = message.payload
    with Gateway.for_store(store) as gateway:
        gateway.confirm_shipment(
            amazon_order_id=message.amazon_order.amazon_order_id, marketplace_id=payload["marketplace_id"],
            package_reference_id=message.package_reference_id, carrier_code=payload["carrier_code"],
            tracking_number=tracking or payload["tracking_number"], ship_date=parse_datetime(payload["ship_date"]),
            items=[(code, qty) for code, qty in payload["items"]])


# --- confirmShipment: look first --------------------------------------------------------------------------------


def test_an_unreadable_answer_is_not_repeated_and_the_next_attempt_finds_the_package(sandbox, amazon_store,
                                                                                     staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"confirmShipment": {"malformed": 1.0}})  # Amazon shipped it; its answer is cut

    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    assert confirmations(sandbox) == [200]  # not repeated within the attempt
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert confirmations(sandbox) == [200]  # looked (getOrder) instead of sending again
    assert sandbox.requests(operation="getOrder")
    assert "already had this package" in message.amazon_order.events.latest("pk").message
    assert len(sandbox.order(message.amazon_order.amazon_order_id)["packages"]) == 1


def test_a_timeout_is_looked_at_before_sending_again(sandbox, amazon_store, staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    # Amazon answers after 1.5 s but ships the package: our side stops waiting after 0.3 s.
    sandbox.set_faults({"confirmShipment": {"timeout": 1.0}}, timeout_seconds=1.5)
    impatient = Gateway.for_store(amazon_store, timeout=0.3, retry=RetryPolicy(max_attempts=4, max_total_seconds=5))
    with impatient:
        assert delivery.deliver_message(message.pk, gateway=impatient) == OutboxState.FAILED
    message.refresh_from_db()
    assert "did not answer in time" in message.last_error
    order_id = message.amazon_order.amazon_order_id
    wait_for(lambda: sandbox.order(order_id)["packages"])
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert confirmations(sandbox) == [204]  # the one Amazon took during the timeout, never a second


def test_after_an_unknown_outcome_a_package_amazon_does_not_have_is_sent(sandbox, amazon_store, staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    sandbox.set_faults({"confirmShipment": {"500": 1.0}})
    assert delivery.deliver_message(message.pk) == OutboxState.FAILED
    assert confirmations(sandbox) == [500]  # a 5xx may mean Amazon did it: not repeated blindly
    sandbox.set_faults()

    message = deliver_until_done(message)
    assert message.state == OutboxState.ACCEPTED, message.last_error
    assert confirmations(sandbox) == [500, 204]  # looked, found nothing, sent once
    assert sandbox.order(message.amazon_order.amazon_order_id)["status"] == "Shipped"


def test_a_reference_refused_as_already_used_by_this_package_counts_as_delivered(sandbox, amazon_store, staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    send_behind_our_back(amazon_store, message)

    assert delivery.deliver_message(message.pk) == OutboxState.ACCEPTED
    assert confirmations(sandbox) == [204, 400]  # Amazon refused the duplicate; the order showed it was ours
    assert len(sandbox.order(message.amazon_order.amazon_order_id)["packages"]) == 1


def test_a_reference_taken_by_another_package_stops_with_amazons_view(sandbox, amazon_store, staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    send_behind_our_back(amazon_store, message, tracking="SOMEONE-ELSES-1")

    assert delivery.deliver_message(message.pk) == OutboxState.DEAD
    message.refresh_from_db()
    assert "another package with reference 1" in message.last_error and "SOMEONE-ELSES-1" in message.last_error


def test_a_refusal_for_another_reason_is_dead_lettered_with_amazons_message(sandbox, amazon_store, staff_user):
    message = shipment_message(sandbox, amazon_store, staff_user)
    sandbox.amazon_cancel(message.amazon_order.amazon_order_id)  # Amazon canceled it meanwhile

    assert delivery.deliver_message(message.pk) == OutboxState.DEAD
    message.refresh_from_db()
    assert "status Canceled" in message.last_error
    assert confirmations(sandbox) == [400]


def test_orders_v0_store_finds_the_package_by_shipped_quantities(sandbox, commerce_store, staff_user):
    store = connect_store(sandbox, commerce_store, api_version=ApiVersion.V0)
    message = shipment_message(sandbox, store, staff_user)
    send_behind_our_back(store, message)

    assert delivery.deliver_message(message.pk) == OutboxState.ACCEPTED
    assert confirmations(sandbox) == [204, 400]
    assert "already shows this package's items as shipped" in message.amazon_order.events.latest("pk").message


# --- refunds ----------------------------------------------------------------------------------------------------


def test_a_refund_behind_a_shipment_that_never_reached_amazon_is_not_sent(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, actor=staff_user)  # no tracking: Amazon cannot take it
    shipment = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.SHIPMENT)
    assert delivery.deliver_message(shipment.pk) == OutboxState.DEAD
    creditmemo_create(order=amazon.commerce_order, actor=staff_user)
    refund = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.REFUND)

    assert delivery.deliver_message(refund.pk) == OutboxState.DEAD
    refund.refresh_from_db()
    assert "has not shipped on Amazon" in refund.last_error and "Send the shipment first" in refund.last_error
    assert sandbox.feeds() == []  # Amazon would have refused it: nothing sent


def test_a_refund_in_another_currency_than_the_amazon_order_is_not_sent(sandbox, amazon_store, staff_user):
    amazon = two_line_order(sandbox, amazon_store)
    shipment_create(order=amazon.commerce_order, tracks=[UPS], actor=staff_user)
    assert deliver_until_done(OutboxMessage.objects.get(amazon_order=amazon)).state == OutboxState.ACCEPTED
    AmazonOrder.objects.filter(pk=amazon.pk).update(currency="CAD")  # as a store misconfigured before the check
    creditmemo_create(order=amazon.commerce_order, actor=staff_user)
    refund = OutboxMessage.objects.get(amazon_order=amazon, kind=OutboxKind.REFUND)

    assert delivery.deliver_message(refund.pk) == OutboxState.DEAD
    refund.refresh_from_db()
    assert "in USD but the Amazon order is in CAD" in refund.last_error
    assert sandbox.feeds() == []


def test_a_goodwill_refund_larger_than_one_items_proceeds_is_spread_so_amazon_accepts_it(
        sandbox, amazon_store, staff_user):
    (amazon,) = import_orders(sandbox, amazon_store, items=[
        {"sku": "SANDBOX-SKU-001", "qty": 1, "price": "10.00", "tax": "0", "shipping": "0", "shipping_tax": "0"},
        {"sku": "SANDBOX-SKU-002", "qty": 1, "price": "30.00", "tax": "0", "shipping": "0", "shipping_tax": "0"},
    ], prime=False, promotion=False, replacement=False)
    commerce = amazon.commerce_order
    shipment_create(order=commerce, tracks=[UPS], actor=staff_user)
    shirt = commerce.items.get(sku="SANDBOX-SKU-001")
    # The shirt (10.00) and 25.00 of goodwill: more than the shirt's 10.00 of proceeds.
    memo = creditmemo_create(order=commerce, quantities={shirt.pk: 1}, adjustment_refund="25.00", actor=staff_user)
    for message in OutboxMessage.objects.filter(amazon_order=amazon).order_by("pk"):
        assert deliver_until_done(message).state == OutboxState.ACCEPTED, message.last_error

    refunded = {i["sku"]: i["refunded"] for i in sandbox.order(amazon.amazon_order_id)["items"]}
    assert refunded == {"SANDBOX-SKU-001": {"Principal": "10.00"}, "SANDBOX-SKU-002": {"Principal": "25.00"}}
    assert memo.grand_total == Decimal("35.00")


def test_a_second_refund_counts_what_the_first_one_took(sandbox, amazon_store, staff_user):
    (amazon,) = import_orders(sandbox, amazon_store, items=[
        {"sku": "SANDBOX-SKU-001", "qty": 2, "price": "10.00", "tax": "0", "shipping": "0", "shipping_tax": "0"},
        {"sku": "SANDBOX-SKU-002", "qty": 1, "price": "30.00", "tax": "0", "shipping": "0", "shipping_tax": "0"},
    ], prime=False, promotion=False, replacement=False)
    commerce = amazon.commerce_order
    shipment_create(order=commerce, tracks=[UPS], actor=staff_user)
    shirt = commerce.items.get(sku="SANDBOX-SKU-001")
    creditmemo_create(order=commerce, quantities={shirt.pk: 1}, adjustment_refund="10.00", actor=staff_user)
    creditmemo_create(order=commerce, quantities={shirt.pk: 1}, adjustment_refund="5.00", actor=staff_user)
    for message in OutboxMessage.objects.filter(amazon_order=amazon).order_by("pk"):
        assert deliver_until_done(message).state == OutboxState.ACCEPTED, message.last_error
    second = OutboxMessage.objects.filter(amazon_order=amazon, kind=OutboxKind.REFUND).latest("pk")
    # The first refund took all of the shirts' 20.00: the second one's 15.00 can only go on the other item.
    assert {line["item_code"]: line["amounts"] for line in second.payload["lines"]} == {
        commerce.items.get(sku="SANDBOX-SKU-002").external_item_id: {"Principal": "15.00"}}
    refunded = {i["sku"]: i["refunded"] for i in sandbox.order(amazon.amazon_order_id)["items"]}
    assert refunded == {"SANDBOX-SKU-001": {"Principal": "20.00"}, "SANDBOX-SKU-002": {"Principal": "15.00"}}


def test_a_jpy_refund_has_no_decimals_and_is_accepted(sandbox, db, catalog, staff_user):
    from saleschannel.catalog.models import Store

    jp = Store.objects.create(code="jp", name="JP", currency="JPY")
    creds = sandbox.credentials
    store = amazon_store_create(
        name="Sandbox JP", seller_id=creds["seller_id"], region="FE", marketplace_ids=["A1VC38T7YXB528"], store=jp,
        client_id=creds["client_id"], client_secret=creds["client_secret"], refresh_token=creds["refresh_token"],
        endpoint_override=sandbox.url, token_url_override=sandbox.token_url, time_scale=Decimal(TIME_SCALE))
    (amazon,) = import_orders(sandbox, store, marketplace="JP", items=[
        {"sku": "SANDBOX-SKU-001", "qty": 3, "price": "1000", "tax": "300", "shipping": "450", "shipping_tax": "45"}],
        prime=False, promotion=False, replacement=False)
    commerce = amazon.commerce_order
    shipment_create(order=commerce, tracks=[UPS], actor=staff_user)
    item = commerce.items.get()
    creditmemo_create(order=commerce, quantities={item.pk: 1}, shipping_refund="100", actor=staff_user)
    for message in OutboxMessage.objects.filter(amazon_order=amazon).order_by("pk"):
        assert deliver_until_done(message).state == OutboxState.ACCEPTED, message.last_error
    (feed,) = [f for f in sandbox.feeds() if f["feedType"] == "POST_PAYMENT_ADJUSTMENT_DATA"]
    amounts = [a.split(">")[1] for a in feed["input"].split("<Amount")[1:]]
    assert amounts and all("." not in a.split("<")[0] for a in amounts), feed["input"]
    refunded = sandbox.order(amazon.amazon_order_id)["items"][0]["refunded"]
    assert refunded["Principal"] == "1000" and "." not in json.dumps(refunded)
