"""Real-time notifications of an Amazon store (DESIGN.md §8.3): settings, and the setup / status / test / disable
services behind ``saleschannel amazon notifications`` (notifications_cli.py).

* **off**: nothing; the polling sweep alone imports orders.
* **sandbox**: the queue is on a local SQS (moto in server mode, which the sandbox writes to); its URL gives the
  endpoint; any key works.
* **aws**: a queue of the merchant's AWS account: queue URL, region, access key id and secret (encrypted at rest
  like the LWA secrets). The queue policy must let Amazon's notification principal send to it (docs/amazon.md).

``setup`` is idempotent: it finds the destination of the queue's ARN (getDestinations, grantless) or creates it,
then the store's ORDER_CHANGE subscription (getSubscription) or creates it, and says what existed. The consumer
that reads the queue is notification_consumer.py; the health and the sweep's frequency notification_health.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.db import transaction

from saleschannel.amazon.notification_health import health
from saleschannel.amazon.notification_models import NotificationMode, StoreNotifications
from saleschannel.amazon.spapi.errors import AmazonError
from saleschannel.amazon.spapi.gateway import Gateway
from saleschannel.amazon.spapi.notifications import NotificationsGateway

LOCAL_KEY = "sandbox"  # a local SQS (moto) wants credentials, any will do
DEFAULT_REGION = "us-east-1"
DESTINATION_NAME = "saleschannel-{store}"


class NotificationSetupError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Report:
    """What a service did, in lines for the command (and the page)."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def add(self, line: str) -> None:
        self.lines.append(line)


# --- settings ------------------------------------------------------------------------------------------------

def settings_of(store) -> StoreNotifications:
    settings, _created = StoreNotifications.objects.get_or_create(store=store)
    return settings


def configure(store, *, mode: str, queue_url: str | None = None, region: str | None = None,
              access_key_id: str | None = None, secret_access_key: str | None = None) -> StoreNotifications:
    """Change a store's notification settings (None = keep). AWS needs a queue URL, a region and both keys."""
    if mode not in NotificationMode.values:
        raise NotificationSetupError(f"Unknown mode {mode!r} (one of {', '.join(NotificationMode.values)}).")
    with transaction.atomic():
        settings = StoreNotifications.objects.select_for_update().filter(store=store).first() or settings_of(store)
        settings.mode = mode
        if queue_url is not None:
            settings.queue_url = queue_url.strip()
        if region is not None:
            settings.aws_region = region.strip()
        settings.set_aws_keys(access_key_id=access_key_id, secret_access_key=secret_access_key)
        problem = settings_problem(settings)
        if problem:
            raise NotificationSetupError(problem)
        settings.save()
    return settings


def settings_problem(settings: StoreNotifications) -> str:
    if settings.mode == NotificationMode.OFF:
        return ""
    parts = urlsplit(settings.queue_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(parts.path.strip("/").split("/")) != 2:
        return "The SQS queue URL must look like https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE."
    if settings.mode == NotificationMode.AWS:
        if parts.scheme != "https":
            return "An AWS queue URL is https://."
        if not settings.aws_region:
            return "AWS needs the queue's region (e.g. eu-west-1)."
        if not (settings.access_key_id_encrypted and settings.secret_access_key_encrypted):
            return "AWS needs an access key id and its secret (allowed to receive and delete the queue's messages)."
    return ""


def queue_region(settings: StoreNotifications) -> str:
    if settings.aws_region:
        return settings.aws_region
    host = urlsplit(settings.queue_url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 3 and parts[0] == "sqs":
        return parts[1]
    return DEFAULT_REGION


def sqs_client(settings: StoreNotifications, *, timeout: float = 30.0):
    """boto3's SQS client for the store's queue: AWS, or the local endpoint of the queue URL in sandbox mode.
    ``timeout`` must exceed the long-polling wait (20 s)."""
    # Imported on first use: boto3 costs about 20 MB and half a second in every process that loads the Amazon app,
    # and only stores with notifications on need it.
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=timeout, retries={"max_attempts": 2})
    if settings.mode == NotificationMode.SANDBOX:
        parts = urlsplit(settings.queue_url)
        return boto3.client("sqs", region_name=queue_region(settings), endpoint_url=f"{parts.scheme}://{parts.netloc}",
                            aws_access_key_id=LOCAL_KEY, aws_secret_access_key=LOCAL_KEY, config=config)
    key_id, secret = settings.aws_keys()
    return boto3.client("sqs", region_name=queue_region(settings), aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=config)


def queue_attributes(settings: StoreNotifications) -> dict:
    """QueueArn and the message counts; raises NotificationSetupError when the queue cannot be reached."""
    try:
        return sqs_client(settings, timeout=10).get_queue_attributes(
            QueueUrl=settings.queue_url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages",
                                                         "ApproximateNumberOfMessagesNotVisible",
                                                         "VisibilityTimeout"])["Attributes"]
    except Exception as exc:  # noqa: BLE001 - botocore's many errors, said in words
        raise NotificationSetupError(f"The SQS queue {settings.queue_url} cannot be reached: {exc}")


def _enabled(store) -> StoreNotifications:
    settings = settings_of(store)
    if settings.mode == NotificationMode.OFF:
        raise NotificationSetupError(f"Real-time notifications are off for {store.name}: choose sandbox or AWS "
                                     "first (store page, or `amazon notifications configure`).")
    problem = settings_problem(settings)
    if problem:
        raise NotificationSetupError(problem)
    return settings


# --- services ----------------------------------------------------------------------------------------------

def setup(store, *, gateway: Gateway | None = None) -> Report:
    """Create (or find) the destination and the ORDER_CHANGE subscription; idempotent."""
    settings = _enabled(store)
    arn = queue_attributes(settings)["QueueArn"]
    report = Report()
    report.add(f"Queue {settings.queue_url} reachable (ARN {arn}).")
    own = gateway is None
    gateway = gateway or Gateway.for_store(store)
    try:
        api = NotificationsGateway(gateway)
        destination = next((d for d in api.get_destinations()
                            if ((d.get("resource") or {}).get("sqs") or {}).get("arn") == arn), None)
        if destination:
            report.add(f"Destination {destination['destinationId']} exists for this queue.")
        else:
            destination = api.create_destination(name=DESTINATION_NAME.format(store=store.seller_id), queue_arn=arn)
            report.add(f"Destination {destination.get('destinationId')} created.")
        destination_id = destination.get("destinationId") or ""
        subscription = api.get_subscription()
        if subscription and subscription.get("destinationId") != destination_id:
            report.ok = False
            report.add(f"A subscription {subscription.get('subscriptionId')} exists to another destination "
                       f"({subscription.get('destinationId')}): run `disable`, then `setup` again.")
        elif subscription:
            report.add(f"ORDER_CHANGE subscription {subscription.get('subscriptionId')} exists.")
        else:
            subscription = api.create_subscription(destination_id=destination_id,
                                                   marketplace_ids=list(store.marketplace_ids or []))
            report.add(f"ORDER_CHANGE subscription {subscription.get('subscriptionId')} created.")
    except AmazonError as error:
        raise NotificationSetupError(error.message)
    finally:
        if own:
            gateway.close()
    StoreNotifications.objects.filter(pk=settings.pk).update(
        destination_id=destination_id,
        subscription_id=(subscription or {}).get("subscriptionId", "") if report.ok else "")
    return report


def status(store, *, gateway: Gateway | None = None) -> Report:
    """Settings, the queue's counts, the destination and subscription as Amazon has them, the consumer's health."""
    settings = settings_of(store)
    report = Report()
    report.add(f"Mode: {settings.mode}")
    if settings.mode == NotificationMode.OFF:
        return report
    try:
        attributes = queue_attributes(settings)
        report.add(f"Queue: {settings.queue_url} reachable, {attributes.get('ApproximateNumberOfMessages', '?')} "
                   f"waiting, {attributes.get('ApproximateNumberOfMessagesNotVisible', '?')} in flight.")
    except NotificationSetupError as error:
        report.ok = False
        report.add(f"Queue: {error.message}")
    own = gateway is None
    gateway = gateway or Gateway.for_store(store)
    try:
        subscription = NotificationsGateway(gateway).get_subscription()
        if subscription:
            report.add(f"Subscription: {subscription.get('subscriptionId')} to destination "
                       f"{subscription.get('destinationId')}.")
        else:
            report.ok = False
            report.add("Subscription: none (run `setup`).")
    except AmazonError as error:
        report.ok = False
        report.add(f"Subscription: cannot be read ({error.message})")
    finally:
        if own:
            gateway.close()
    state = health(store)
    report.add(f"Consumer: {'healthy' if state['healthy'] else 'NOT healthy'}; last poll {state['last_poll_at']}, "
               f"last message {state['last_received_at']}, lag {state['lag_seconds']} s.")
    report.add(f"Messages: {state['messages_received']} received, {state['orders_imported']} orders imported or "
               f"updated, {state['messages_skipped']} duplicates or older skipped, {state['dead_letters']} dead "
               "letters.")
    if state["queue_error"]:
        report.add(f"Queue error since {state['queue_error_since']}: {state['queue_error']}")
    report.add(f"Polling sweep every {state['sweep_minutes']} min; orders only the sweep found: "
               f"{state['sweep_unannounced']} last time, {state['sweep_unannounced_total']} in all.")
    return report


def test(store) -> Report:
    """Amazon's Notifications API v1 has no operation that sends a test notification, nor has the sandbox: say so,
    and check what can be checked (the queue)."""
    settings = _enabled(store)
    report = Report(ok=False)
    report.add("Cannot send a test notification: neither Amazon's Notifications API v1 nor the sandbox has an "
               "operation for it. Change an order's status (sandbox: its control API or CLI) and watch `status`.")
    attributes = queue_attributes(settings)
    report.add(f"Queue {settings.queue_url} reachable ({attributes.get('ApproximateNumberOfMessages', '?')} "
               "messages waiting).")
    return report


def disable(store, *, gateway: Gateway | None = None) -> Report:
    """Delete the store's ORDER_CHANGE subscription (the destination stays: other stores of the app may use it)."""
    settings = settings_of(store)
    report = Report()
    own = gateway is None
    gateway = gateway or Gateway.for_store(store)
    try:
        api = NotificationsGateway(gateway)
        subscription = api.get_subscription()
        if subscription is None:
            report.add("No ORDER_CHANGE subscription: nothing to delete.")
        else:
            api.delete_subscription(subscription["subscriptionId"])
            report.add(f"ORDER_CHANGE subscription {subscription['subscriptionId']} deleted.")
    except AmazonError as error:
        raise NotificationSetupError(error.message)
    finally:
        if own:
            gateway.close()
    StoreNotifications.objects.filter(pk=settings.pk).update(subscription_id="")
    report.add("The polling sweep runs at the store's own frequency again.")
    return report
