"""The request contract, end to end: every SP-API operation the gateway can call is sent to the sandbox in contract
mode, and every request and answer follows Amazon's models (saleschannel/sandbox/contract.py).

The gateway's operations are listed once, in ``gateway.SP_API_OPERATIONS``; a test checks that list against the
names the gateway's code actually gives to ``Gateway.call`` (and to the pacer), so a new call cannot go unlisted;
another drives every public operation of the gateway (both Orders API versions, several pages each) and requires
that the sandbox saw exactly that list from the gateway, with no violation.
"""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from saleschannel.amazon.models import ApiVersion, LwaCredentials
from saleschannel.amazon.pacing import PUBLISHED_RATES
from saleschannel.amazon.spapi import gateway as gateway_module
from saleschannel.amazon.spapi.gateway import SP_API_OPERATIONS, Gateway, RetryPolicy
from tests.amazon.conftest import TIME_SCALE, US, advance, settle
from tests.sandbox.fixtures import contract_models, spapi_models_dir

pytestmark = pytest.mark.skipif(contract_models() is None,
                                reason=f"Amazon's SP-API models are not at {spapi_models_dir()} (or jsonschema is "
                                       "missing): no request contract to check")

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def gateway_sources() -> list[Path]:
    """gateway.py and the other modules of its package, ``saleschannel.amazon.spapi`` (where gateway code may move)."""
    gateway_file = Path(gateway_module.__file__)
    return [gateway_file, *sorted(p for p in gateway_file.parent.glob("*.py") if p != gateway_file)]


def gateway_operation_names() -> set[str]:
    """The operation names in the gateway's code: the first argument of every ``self.call(...)`` (it must be a literal
    string, or the list could not be checked) and every literal one given to ``....pacer.take(...)``."""
    names = set()
    for source in gateway_sources():
        names |= _operation_names(source)
    return names


def _operation_names(source: Path) -> set[str]:
    tree = ast.parse(source.read_text())
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        is_call = node.func.attr == "call" and isinstance(target, ast.Name) and target.id == "self"
        is_take = node.func.attr == "take" and isinstance(target, ast.Attribute) and target.attr == "pacer"
        first = node.args[0] if node.args else None
        if is_take and isinstance(first, ast.Constant):
            names.add(first.value)
        elif is_call:
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"{source.name} line {node.lineno}: the operation name is not a literal string")
            names.add(first.value)
    return names


def test_every_operation_the_gateway_calls_is_listed_and_is_amazons():
    from saleschannel.sandbox.contract import Contract

    in_code = gateway_operation_names()
    assert in_code == set(SP_API_OPERATIONS), (
        f"gateway.SP_API_OPERATIONS is out of step with the code: not listed {sorted(in_code - set(SP_API_OPERATIONS))}"
        f", listed but never called {sorted(set(SP_API_OPERATIONS) - in_code)}")
    models = Contract(contract_models()).operations
    assert set(SP_API_OPERATIONS.values()) <= set(models), set(SP_API_OPERATIONS.values()) - set(models)
    assert set(SP_API_OPERATIONS) <= set(PUBLISHED_RATES)  # and each one is paced


def make_gateway(sandbox, **kwargs) -> Gateway:
    creds = sandbox.credentials
    return Gateway(seller_id=creds["seller_id"], region="NA", endpoint=sandbox.url, token_url=sandbox.token_url,
                   credentials=LwaCredentials(creds["client_id"], creds["client_secret"], creds["refresh_token"]),
                   marketplace_ids=[US], retry=FAST, pacing_factor=TIME_SCALE, **kwargs)


def window() -> dict:
    now = timezone.now()  # the test's clock, which settle() moves with the sandbox's
    return {"last_updated_after": now - timedelta(days=1), "last_updated_before": now - timedelta(seconds=0.25)}


def all_pages(gateway: Gateway, *, ahead: bool = False, **query) -> list:
    page = gateway.search_orders(**window(), **query)
    pages = [page]
    while page.next_token:
        page = gateway.next_page_ahead(page)() if ahead else gateway.next_page(page)
        pages.append(page)
    return pages


def acknowledgement(seller_id: str, order_id: str, item_id: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope><Header><DocumentVersion>1.01</DocumentVersion>'
            f"<MerchantIdentifier>{seller_id}</MerchantIdentifier></Header>"
            "<MessageType>OrderAcknowledgement</MessageType><Message><MessageID>1</MessageID><OrderAcknowledgement>"
            f"<AmazonOrderID>{order_id}</AmazonOrderID><StatusCode>Success</StatusCode><Item>"
            f"<AmazonOrderItemCode>{item_id}</AmazonOrderItemCode></Item></OrderAcknowledgement></Message>"
            "</AmazonEnvelope>")


@pytest.mark.django_db
def test_the_gateway_sends_every_operation_within_amazons_models(sandbox):
    ids = sandbox.create_orders(count=5, marketplace="US", fulfillment="MFN", status="Unshipped", lines=2)
    settle()
    new, old = make_gateway(sandbox), make_gateway(sandbox, api_version=ApiVersion.V0)

    # Orders 2026-01-01: connection test, three pages (read ahead too), one order, a shipment confirmation.
    assert "Connected to Amazon" in new.test_connection()
    pages = all_pages(new, max_results=2)
    assert len(pages) == 3 and {o.amazon_order_id for p in pages for o in p.orders} == set(ids)
    assert {o.amazon_order_id for p in all_pages(new, max_results=2, ahead=True) for o in p.orders} == set(ids)
    # Orders v0 (restricted data tokens, order items): three pages of the search, one order.
    pages = all_pages(old, max_results=2)
    assert len(pages) == 3 and {o.amazon_order_id for p in pages for o in p.orders} == set(ids)
    assert old.get_order(ids[1]).items

    order = new.get_order(ids[0])
    item = order.items[0]
    new.confirm_shipment(amazon_order_id=ids[0], marketplace_id=US, package_reference_id=1, carrier_code="UPS",
                         carrier_name="UPS", shipping_method="Ground", tracking_number="1Z999",
                         ship_date=datetime.now(UTC) - timedelta(minutes=5), items=[(item.order_item_id, 1)])

    # Feeds: submit, list, follow, read the processing report.
    started = datetime.now(UTC) - timedelta(minutes=1)
    other = new.get_order(ids[2])
    feed_id = new.submit_feed(feed_type="POST_ORDER_ACKNOWLEDGEMENT_DATA",
                              content=acknowledgement(sandbox.credentials["seller_id"], ids[2],
                                                      other.items[0].order_item_id))
    assert feed_id in {f.feed_id for f in new.list_feeds(feed_type="POST_ORDER_ACKNOWLEDGEMENT_DATA",
                                                         created_since=started)}
    deadline = time.monotonic() + 20
    while (feed := new.get_feed(feed_id)).status not in ("DONE", "FATAL", "CANCELLED"):
        assert time.monotonic() < deadline, feed
        advance(20)  # the sandbox processes the feed (20 sandbox seconds) before this returns
    assert feed.status == "DONE"
    assert b"ProcessingReport" in new.get_feed_document(feed.result_document_id)

    # Reports: a listings report, followed to DONE, its document downloaded and decoded (tests/amazon/
    # test_gateway_reports.py has the rest).
    report = new.wait_for_report(new.create_report(report_type="GET_MERCHANT_LISTINGS_ALL_DATA"))
    assert report.status == "DONE"
    assert new.get_report_document(report.document_id).startswith("item-name\titem-description\t")

    report = sandbox.contract()
    covered = report["operations"]
    print("SP-API operations the gateway sent (model operation: requests):")
    for name, model_operation in sorted(SP_API_OPERATIONS.items(), key=lambda kv: kv[1]):
        print(f"  {model_operation:50} {covered.get(model_operation, 0):4}  (Gateway.call name {name})")
    missing = set(SP_API_OPERATIONS.values()) - set(covered)
    unexpected = set(covered) - set(SP_API_OPERATIONS.values())
    assert not missing, f"operations the gateway can call but this test never sent: {sorted(missing)}"
    assert not unexpected, f"operations the gateway sent that gateway.SP_API_OPERATIONS does not list: {unexpected}"
    try:
        sandbox.assert_contract()  # the fixture checks at teardown too; here a violation fails this test's own call
    finally:
        sandbox.clear_contract()  # (and is reported once)
