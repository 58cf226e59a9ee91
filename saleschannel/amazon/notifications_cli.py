"""``saleschannel amazon notifications configure|setup|status|test|disable|consume``: the command's side of real-time
notifications (notifications.py, notification_consumer.py); ``management/commands/amazon.py`` adds the parsers and
calls ``run``."""

from __future__ import annotations

import os
import signal
import threading

from django.core.management.base import CommandError

from saleschannel.amazon import notification_consumer, notifications
from saleschannel.amazon.notification_models import NotificationMode

ACTIONS = ("configure", "setup", "status", "test", "disable", "consume")


def add_parsers(sub) -> None:
    parser = sub.add_parser("notifications", help="Real-time ORDER_CHANGE notifications through SQS.")
    actions = parser.add_subparsers(dest="notifications_action", required=True, metavar="{" + ",".join(ACTIONS) + "}")
    configure = actions.add_parser("configure", help="Choose off / sandbox / aws and the SQS queue.")
    configure.add_argument("--store", dest="store_name", required=True, help="Amazon store (name or id).")
    configure.add_argument("--mode", required=True, choices=NotificationMode.values)
    configure.add_argument("--queue-url", help="SQS queue URL (sandbox: the local SQS's, e.g. moto's).")
    configure.add_argument("--region", help="AWS region of the queue.")
    configure.add_argument("--access-key-id-env", metavar="VAR", help="Read the AWS access key id from this variable.")
    configure.add_argument("--secret-access-key-env", metavar="VAR",
                           help="Read the AWS secret access key from this variable.")
    for name, text in (("setup", "Create (or find) the destination and the ORDER_CHANGE subscription."),
                       ("status", "Destination, subscription, queue and consumer health."),
                       ("test", "Send a test notification (when Amazon or the sandbox can), check the queue."),
                       ("disable", "Delete the store's ORDER_CHANGE subscription.")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--store", dest="store_name", required=True, help="Amazon store (name or id).")
    consume = actions.add_parser("consume", help="Run the consumer in the foreground (instead of the worker's).")
    consume.add_argument("--store", dest="store_name", help="Only this Amazon store (name or id).")


def _env(name: str | None) -> str | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise CommandError(f"The environment variable {name} is not set.")
    return value


def run(command, *, notifications_action: str, store_name: str | None = None, **options) -> None:
    store = command._find(store_name) if store_name else None
    try:
        if notifications_action == "configure":
            settings = notifications.configure(
                store, mode=options["mode"], queue_url=options.get("queue_url"), region=options.get("region"),
                access_key_id=_env(options.get("access_key_id_env")),
                secret_access_key=_env(options.get("secret_access_key_env")))
            command.stdout.write(f"Real-time notifications of {store.name}: {settings.mode}.")
            return None
        if notifications_action == "consume":
            return _consume(command, store)
        report = getattr(notifications, notifications_action)(store)
    except notifications.NotificationSetupError as error:
        raise CommandError(error.message)
    for line in report.lines:
        command.stdout.write(line)
    if not report.ok:
        raise CommandError(f"notifications {notifications_action}: see above.")
    return None


def _consume(command, store) -> None:
    supervisor = notification_consumer.ConsumerSupervisor(store_ids=[store.pk] if store else None)
    stopped = threading.Event()

    def stop(*_args):
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.start()
    command.stdout.write("Consuming ORDER_CHANGE notifications (Ctrl-C to stop).")
    stopped.wait()
    supervisor.shutdown()
