"""Notifications API v1 in the sandbox and ORDER_CHANGE delivery to a real SQS server (moto in server mode, reached
with boto3 as AWS would be). Plain httpx on the wire; every rule both ways."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

pytest.importorskip("moto.server", reason="moto[server] is not installed: no local SQS for the notification tests")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")

from saleschannel.sandbox import cli  # noqa: E402
from saleschannel.sandbox.sqs import run_moto  # noqa: E402
from saleschannel.sandbox.testing import run_sandbox  # noqa: E402

from .fixtures import contract_models, spapi_models_dir  # noqa: E402
from .helpers import api  # noqa: E402

US, UK = "ATVPDKIKX0DER", "A1F83G8C2ARO7P"
DESTINATIONS = "/notifications/v1/destinations"
SUBSCRIPTIONS = "/notifications/v1/subscriptions/ORDER_CHANGE"
SCHEMA_FILE = spapi_models_dir() / "OrderChangeNotification.json"


# ---- fixtures: moto, then a sandbox that knows it -------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto_url(tmp_path_factory):
    with run_moto(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory, moto_url):
    """Overrides the package's fixture: the same sandbox, with ``--sqs-endpoint`` pointing at moto."""
    with run_sandbox(tmp_path_factory.mktemp("sandbox"), time_scale=60, pending_delay_seconds=60, seed=7,
                     contract_models=contract_models(), extra_args=["--sqs-endpoint", moto_url]) as handle:
        yield handle


@pytest.fixture
def sqs(moto_url):
    return boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture
def queue(sqs):
    """A fresh queue: (url, arn)."""
    url = sqs.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield url, arn
    sqs.delete_queue(QueueUrl=url)


# ---- helpers ----------------------------------------------------------------------------------------------------

def grantless_token(sandbox, scope: str = "sellingpartnerapi::notifications") -> str:
    creds = sandbox.credentials
    response = httpx.post(sandbox.token_url, timeout=10, data={
        "grant_type": "client_credentials", "scope": scope, "client_id": creds["client_id"],
        "client_secret": creds["client_secret"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def grantless(sandbox) -> httpx.Client:
    return api(sandbox, grantless_token(sandbox))


def destination(sandbox, arn: str, name: str = "orders") -> str:
    response = grantless(sandbox).post(DESTINATIONS, json={"name": name, "resourceSpecification": {"sqs": {
        "arn": arn}}})
    assert response.status_code == 200, response.text
    return response.json()["payload"]["destinationId"]


def subscribe(sandbox, destination_id: str, event_filter: dict | None = None) -> str:
    body = {"payloadVersion": "1.0", "destinationId": destination_id}
    if event_filter is not None:
        body["processingDirective"] = {"eventFilter": {"eventFilterType": "ORDER_CHANGE", **event_filter}}
    response = api(sandbox).post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 200, response.text
    return response.json()["payload"]["subscriptionId"]


def error_code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["code"]


def receive(sqs, queue_url: str, count: int, timeout: float = 15.0) -> list[dict]:
    """Receive (and delete) until ``count`` messages arrived; long polls of 1 s, bounded by ``timeout``."""
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        assert time.monotonic() < deadline, f"{len(out)} of {count} message(s) within {timeout} s: {out}"
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in batch.get("Messages", []):
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return out


def queue_is_empty(sqs, queue_url: str) -> bool:
    """Nothing left in the queue (one long poll of 1 s, for late messages)."""
    return not sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")


def settled(sandbox) -> dict:
    """The sandbox's records once its delivery thread left nothing pending or held (bounded wait)."""
    return sandbox.wait_until(lambda: (report := sandbox.notifications()) and not {"pending", "held"} &
                              set(report["counts"]) and report, timeout=15, message="notification delivery")


def validate(messages: list[dict]) -> None:
    """Against OrderChangeNotification.json (draft of its $schema) when Amazon's models are there."""
    if not SCHEMA_FILE.exists():
        return
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    for message in messages:
        errors = sorted(validator.iter_errors(message), key=lambda e: list(e.absolute_path))
        assert not errors, f"{errors[0].message} at {list(errors[0].absolute_path)}"


def change(message: dict) -> tuple[str, str, str]:
    notice = message["Payload"]["OrderChangeNotification"]
    return notice["AmazonOrderId"], notice["OrderChangeType"], notice["Summary"]["OrderStatus"]


# ---- tokens: grantless vs seller ----------------------------------------------------------------------------------

def test_destinations_need_a_grantless_token(sandbox, queue):
    _url, arn = queue
    body = {"name": "orders", "resourceSpecification": {"sqs": {"arn": arn}}}
    seller = api(sandbox)
    for response in (seller.post(DESTINATIONS, json=body), seller.get(DESTINATIONS),
                     httpx.post(f"{sandbox.url}{DESTINATIONS}", json=body),
                     api(sandbox, grantless_token(sandbox, "sellingpartnerapi::migration")).get(DESTINATIONS)):
        assert response.status_code == 403, response.text
        assert error_code(response) == "Unauthorized"
    client = grantless(sandbox)
    created = client.post(DESTINATIONS, json=body)
    assert created.status_code == 200
    payload = created.json()["payload"]
    assert payload["name"] == "orders" and payload["resource"] == {"sqs": {"arn": arn}}
    assert client.get(DESTINATIONS).json() == {"payload": [payload]}
    assert client.get(f"{DESTINATIONS}/{payload['destinationId']}").json() == {"payload": payload}
    assert seller.get(f"{DESTINATIONS}/{payload['destinationId']}").status_code == 403
    assert seller.delete(f"{DESTINATIONS}/{payload['destinationId']}").status_code == 403
    assert client.delete(f"{DESTINATIONS}/{payload['destinationId']}").status_code == 200
    missing = client.get(f"{DESTINATIONS}/{payload['destinationId']}")
    assert missing.status_code == 404 and error_code(missing) == "NotFound"
    assert client.delete(f"{DESTINATIONS}/{payload['destinationId']}").status_code == 404


def test_subscriptions_need_the_sellers_token_and_by_id_either(sandbox, queue):
    destination_id = destination(sandbox, queue[1])
    body = {"payloadVersion": "1.0", "destinationId": destination_id}
    client = grantless(sandbox)
    for response in (client.post(SUBSCRIPTIONS, json=body), client.get(SUBSCRIPTIONS)):
        assert response.status_code == 403 and error_code(response) == "Unauthorized"
    subscription_id = subscribe(sandbox, destination_id)
    expected = {"payload": {"subscriptionId": subscription_id, "payloadVersion": "1.0",
                            "destinationId": destination_id}}
    assert api(sandbox).get(SUBSCRIPTIONS).json() == expected
    assert api(sandbox).get(SUBSCRIPTIONS, params={"payloadVersion": "1.0"}).json() == expected
    assert api(sandbox).get(f"{SUBSCRIPTIONS}/{subscription_id}").json() == expected
    assert client.get(f"{SUBSCRIPTIONS}/{subscription_id}").json() == expected
    # a restricted data token is for restricted operations only
    rdt = api(sandbox).post("/tokens/2021-03-01/restrictedDataToken", json={"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo"]}]}).json()["restrictedDataToken"]
    assert api(sandbox, rdt).get(SUBSCRIPTIONS).status_code == 403
    # a grantless token does not open seller data
    assert client.get("/orders/2026-01-01/orders/111-1111111-1111111").status_code == 403
    # the destination cannot go while it has a subscription
    busy = client.delete(f"{DESTINATIONS}/{destination_id}")
    assert busy.status_code == 409 and error_code(busy) == "StateConflict"
    assert client.delete(f"{SUBSCRIPTIONS}/{subscription_id}").json() == {}
    for response in (client.get(f"{SUBSCRIPTIONS}/{subscription_id}"), api(sandbox).get(SUBSCRIPTIONS),
                     api(sandbox).delete(f"{SUBSCRIPTIONS}/{subscription_id}")):
        assert response.status_code == 404 and error_code(response) == "NotFound"
    assert client.delete(f"{DESTINATIONS}/{destination_id}").status_code == 200


# ---- input rules --------------------------------------------------------------------------------------------------

def test_usage_plan_is_one_per_second_burst_five(sandbox):
    sandbox.configure(time_scale=1)  # a token per real second: the burst shows
    client = grantless(sandbox)
    statuses = [client.get(DESTINATIONS).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = client.get(DESTINATIONS)
    assert response.headers["x-amzn-RateLimit-Limit"] == "1"


def test_create_destination_rules(sandbox, queue):
    _url, arn = queue
    sandbox.configure(rate_limits=False)
    client = grantless(sandbox)
    sqs_spec = {"sqs": {"arn": arn}}
    bad = [
        None, [], {"resourceSpecification": sqs_spec}, {"name": "", "resourceSpecification": sqs_spec},
        {"name": 5, "resourceSpecification": sqs_spec}, {"name": "x" * 257, "resourceSpecification": sqs_spec},
        {"name": "orders"}, {"name": "orders", "resourceSpecification": {}},
        {"name": "orders", "resourceSpecification": {**sqs_spec, "eventBridge": {"region": "us-east-1",
                                                                                 "accountId": "123456789012"}}},
        {"name": "orders", "resourceSpecification": {"sqs": {}}},
        {"name": "orders", "resourceSpecification": {"sqs": {"arn": "arn:aws:sns:us-east-1:123456789012:x"}}},
        {"name": "orders", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:" + "1" * 1000}}},
        {"name": "orders", "resourceSpecification": {"eventBridge": {"region": "us-east-1"}}},
        # the queue does not exist: Amazon could not write to it
        {"name": "orders", "resourceSpecification": {"sqs": {"arn": "arn:aws:sqs:us-east-1:123456789012:none"}}},
    ]
    for body in bad:
        response = client.post(DESTINATIONS, json=body)
        assert response.status_code == 400, (body, response.text)
        assert error_code(response) == "InvalidInput"
    not_json = client.post(DESTINATIONS, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    destination(sandbox, arn)
    again = client.post(DESTINATIONS, json={"name": "other name", "resourceSpecification": sqs_spec})
    assert again.status_code == 409 and error_code(again) == "Conflict"
    assert arn in again.json()["errors"][0]["details"]


def test_create_subscription_rules(sandbox, queue, sqs):
    sandbox.configure(rate_limits=False)
    destination_id = destination(sandbox, queue[1])
    client = api(sandbox)

    def refused(body, path=SUBSCRIPTIONS):
        response = client.post(path, json=body)
        assert response.status_code == 400, (body, response.text)
        assert error_code(response) == "InvalidInput"

    ok = {"payloadVersion": "1.0", "destinationId": destination_id}

    def directive(**event_filter):
        return {**ok, "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE", **event_filter}}}

    refused(ok, "/notifications/v1/subscriptions/NOT_A_TYPE")
    for body in [None, {"destinationId": destination_id}, {"payloadVersion": "1.0"},
                 {**ok, "payloadVersion": "2.0"}, {**ok, "payloadVersion": 1.0}, {**ok, "destinationId": "missing"},
                 {**ok, "processingDirective": "all"},
                 {**ok, "processingDirective": {"eventFilter": {"marketplaceIds": [US]}}},
                 directive(eventFilterType="ANY_OFFER_CHANGED"), directive(eventFilterType="EVERYTHING"),
                 {**ok, "processingDirective": {"eventFilter": {"eventFilterType": "ORDER_CHANGE"},
                                                "filterExpression": "x"}},
                 {**ok, "processingDirective": {"filterExpression": ""}},
                 directive(orderChangeTypes=["OrderCreated"]), directive(orderChangeTypes=[]),
                 directive(orderChangeTypes="OrderStatusChange"), directive(marketplaceIds=[]),
                 directive(marketplaceIds=["A2EUQ1WTGCTBG2X"]), directive(marketplaceIds=[US, 7]),
                 directive(aggregationSettings={"aggregationTimePeriod": "FiveMinutes"}),
                 directive(aggregationSettings={"aggregationTimePeriod": "OneMinute"})]:
        refused(body)
    created = client.post(SUBSCRIPTIONS, json=directive(marketplaceIds=[US], orderChangeTypes=["OrderStatusChange"]))
    assert created.status_code == 200, created.text
    payload = created.json()["payload"]
    assert payload["processingDirective"] == {"eventFilter": {"eventFilterType": "ORDER_CHANGE",
                                                              "marketplaceIds": [US],
                                                              "orderChangeTypes": ["OrderStatusChange"]}}
    # one subscription per notification type (and payload version) for the seller, whatever the destination
    other_queue = sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for body in (ok, {**ok, "destinationId": destination(sandbox, other_arn, "other")}):
        conflict = client.post(SUBSCRIPTIONS, json=body)
        assert conflict.status_code == 409, conflict.text
        error = conflict.json()["errors"][0]
        assert error["code"] == "StateConflict" and payload["subscriptionId"] in error["details"]
    sqs.delete_queue(QueueUrl=other_queue)


# ---- delivery -----------------------------------------------------------------------------------------------------

def test_unshipped_and_buyer_cancellation_reach_the_queue(sandbox, queue, sqs):
    queue_url, arn = queue
    subscription_id = subscribe(sandbox, destination(sandbox, arn))
    [order_id] = sandbox.create_orders(count=1, marketplace="US", fulfillment="MFN", lines=2)  # Pending
    # Pending → Unshipped after the pending delay (60 sandbox s = 1 s here)
    messages = receive(sqs, queue_url, 2)
    assert [change(m) for m in messages] == [(order_id, "OrderStatusChange", "Pending"),
                                             (order_id, "OrderStatusChange", "Unshipped")]
    sandbox.buyer_cancel(order_id, "Changed my mind")
    [cancel] = receive(sqs, queue_url, 1)
    assert change(cancel) == (order_id, "BuyerRequestedChange", "Unshipped")
    validate(messages + [cancel])
    notice = cancel["Payload"]["OrderChangeNotification"]
    assert notice["SellerId"] == sandbox.credentials["seller_id"]
    assert notice["OrderChangeTrigger"]["ChangeReason"] == "Buyer Requested Cancel"
    assert all(item["IsBuyerRequestedCancel"] for item in notice["Summary"]["OrderItems"])
    assert {i["OrderItemId"] for i in notice["Summary"]["OrderItems"]} == {
        i["orderItemId"] for i in sandbox.order(order_id)["items"]}
    assert notice["Summary"]["MarketplaceId"] == US and notice["Summary"]["FulfillmentType"] == "MFN"
    metadata = cancel["NotificationMetadata"]
    assert metadata["SubscriptionId"] == subscription_id
    assert len({m["NotificationMetadata"]["NotificationId"] for m in messages + [cancel]}) == 3
    assert cancel["NotificationType"] == "ORDER_CHANGE" and cancel["PayloadVersion"] == "1.0"
    # shipped from Seller Central, then nothing more once the subscription is gone
    sandbox.ship(order_id)
    [shipped] = receive(sqs, queue_url, 1)
    assert change(shipped) == (order_id, "OrderStatusChange", "Shipped")
    validate([shipped])
    grantless(sandbox).delete(f"{SUBSCRIPTIONS}/{subscription_id}")
    [other] = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    assert sandbox.notifications(order_id=other)["messages"] == []
    assert queue_is_empty(sqs, queue_url)


def test_an_event_filter_selects_marketplaces_and_change_types(sandbox, queue, sqs):
    queue_url, arn = queue
    subscribe(sandbox, destination(sandbox, arn), {"marketplaceIds": [US],
                                                   "orderChangeTypes": ["BuyerRequestedChange"]})
    us_order, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    uk_order, = sandbox.create_orders(count=1, marketplace="UK", status="Unshipped")
    sandbox.buyer_cancel(us_order)
    sandbox.buyer_cancel(uk_order)
    sandbox.amazon_cancel(us_order)
    [message] = receive(sqs, queue_url, 1)
    assert change(message) == (us_order, "BuyerRequestedChange", "Unshipped")
    validate([message])
    records = settled(sandbox)["messages"]
    assert [(r["order_id"], r["change_type"]) for r in records] == [(us_order, "BuyerRequestedChange")]
    assert queue_is_empty(sqs, queue_url)


def test_without_a_reachable_queue_the_failure_is_recorded(sandbox, sqs):
    url = sqs.create_queue(QueueName=f"gone-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscribe(sandbox, destination(sandbox, arn))
    sqs.delete_queue(QueueUrl=url)
    order_id, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    sandbox.deliver_notifications()  # the first attempt, done now (or waited for, if the thread was at it)
    record = sandbox.notifications(order_id=order_id)["messages"][0]
    assert record["state"] in ("pending", "failed") and arn in record["error"]


# ---- faults -------------------------------------------------------------------------------------------------------

def faulted_run(sandbox, sqs, queue, **faults) -> tuple[list[tuple], list[dict], list[str]]:
    queue_url, arn = queue
    subscribe(sandbox, destination(sandbox, arn))
    sandbox.set_notification_faults(**faults)
    ids = sandbox.create_orders(count=30, seed=3, marketplace="US", status="Unshipped")
    records = settled(sandbox)["messages"]
    expected = sum(r["copies"] for r in records if r["state"] == "sent")
    messages = receive(sqs, queue_url, expected)
    assert queue_is_empty(sqs, queue_url)
    pattern = [(ids.index(r["order_id"]), r["state"], r["copies"]) for r in records]
    return pattern, messages, ids


def test_loss_and_duplicates_are_seeded_and_observable(sandbox, sqs, queue):
    pattern, messages, ids = faulted_run(sandbox, sqs, queue, loss=0.2, duplicate=0.3, seed=11)
    lost = {ids[i] for i, state, _ in pattern if state == "lost"}
    doubled = {ids[i] for i, state, copies in pattern if state == "sent" and copies == 2}
    assert lost and doubled and len(pattern) == 30
    received = [m["Payload"]["OrderChangeNotification"]["AmazonOrderId"] for m in messages]
    assert not lost & set(received)
    assert {o for o in received if received.count(o) == 2} == doubled
    for order_id in doubled:  # a duplicate is the same notification
        assert len({m["NotificationMetadata"]["NotificationId"] for m in messages
                    if m["Payload"]["OrderChangeNotification"]["AmazonOrderId"] == order_id}) == 1
    validate(messages)
    # the same seed replays the same faults
    sandbox.reset()
    again, _messages, _ids = faulted_run(sandbox, sqs, queue, loss=0.2, duplicate=0.3, seed=11)
    assert again == pattern


def test_reorder_holds_a_message_until_a_later_one_went_out(sandbox, sqs, queue):
    queue_url, arn = queue
    subscribe(sandbox, destination(sandbox, arn))
    sandbox.set_notification_faults(reorder=1.0, reorder_hold_seconds=600, seed=1)  # held up to 10 s
    first, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    assert sandbox.notifications(order_id=first)["messages"][0]["state"] == "held"
    sandbox.set_notification_faults()
    second, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    messages = receive(sqs, queue_url, 2)
    assert [change(m)[0] for m in messages] == [second, first]
    records = {r["order_id"]: r for r in settled(sandbox)["messages"]}
    assert records[first]["fault"] == "reorder" and records[first]["sent_ms"] >= records[second]["sent_ms"]


def test_a_held_message_goes_out_after_the_hold_time_alone(sandbox, sqs, queue):
    queue_url, arn = queue
    subscribe(sandbox, destination(sandbox, arn))
    sandbox.set_notification_faults(reorder=1.0, reorder_hold_seconds=60, seed=1)  # 1 s at time scale 60
    order_id, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    sandbox.advance_clock(60)  # the hold time passes: the message goes out before this returns
    [message] = receive(sqs, queue_url, 1, timeout=10)
    assert change(message)[0] == order_id


def test_delay_is_scaled(sandbox, sqs, queue):
    queue_url, arn = queue
    subscribe(sandbox, destination(sandbox, arn))
    sandbox.set_notification_faults(delay=1.0, delay_seconds=120, seed=2)  # 2 real seconds at time scale 60
    order_id, = sandbox.create_orders(count=1, marketplace="US", status="Unshipped")
    sandbox.advance_clock(120)  # the delay passes: the message goes out before this returns
    [message] = receive(sqs, queue_url, 1, timeout=15)
    [record] = sandbox.notifications(order_id=order_id)["messages"]
    assert record["fault"] == "delay" and record["sent_ms"] - record["event_ms"] >= 2000
    assert record["due_ms"] - record["event_ms"] == 2000
    validate([message])


def test_fault_settings_are_checked_and_the_cli_sets_them(sandbox, capsys):
    from saleschannel.sandbox.client import SandboxControlError

    for spec in ({"loss": 2}, {"duplicate": "often"}, {"delay": 0.5}, {"jitter": 0.1}, {"seed": "x"},
                 {"delay_seconds": -1}):
        with pytest.raises(SandboxControlError) as refused:
            sandbox.set_notification_faults(**spec)
        assert refused.value.status == 400
    assert cli.main(["notifications-faults", "--url", sandbox.url, "--loss", "0.05", "--duplicate", "0.1",
                     "--seed", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == 0.05
    assert sandbox.notifications()["faults"]["duplicate"] == 0.1
    assert cli.main(["notifications", "--url", sandbox.url]) == 0
    assert "SQS endpoint: http://127.0.0.1:" in capsys.readouterr().out
    sandbox.reset()
    assert sandbox.notifications()["faults"]["loss"] == 0


@pytest.mark.skipif(not (spapi_models_dir() / "notifications.json").exists(), reason="Amazon's models are not there")
def test_the_contract_closes_an_all_of_filter_as_a_whole():
    """EventFilter is allOf of several objects: the contract accepts their union and nothing else."""
    from saleschannel.sandbox.contract import Contract

    contract = Contract(spapi_models_dir())

    def violations(body):
        _op, found = contract.check_request("POST", SUBSCRIPTIONS, "", {"content-type": "application/json"},
                                            json.dumps(body).encode())
        return [v.message for v in found]

    event_filter = {"eventFilterType": "ORDER_CHANGE", "marketplaceIds": [US],
                    "orderChangeTypes": ["OrderStatusChange"]}
    ok = {"payloadVersion": "1.0", "destinationId": "d", "processingDirective": {"eventFilter": event_filter}}
    assert violations(ok) == []
    [unknown] = violations({**ok, "processingDirective": {"eventFilter": {**event_filter, "bogus": 1}}})
    assert "bogus" in unknown
    [missing] = violations({**ok, "processingDirective": {"eventFilter": {"marketplaceIds": [US]}}})
    assert "eventFilterType" in missing
