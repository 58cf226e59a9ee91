"""Run the background worker (Huey consumer): queued tasks and the periodic schedule.

Several workers may run at once, on one machine or several, when they share a queue (``REDIS_URL``): each takes
tasks from the queue, and each runs the periodic schedule (the Amazon tick claims every due store in the database,
so a store is enqueued once per tick whatever the number of workers; see ``amazon/tasks.py``). ``--no-periodic``
leaves the schedule to the other workers.

The worker also consumes real-time ORDER_CHANGE notifications (amazon/notification_consumer.py): a supervisor
thread starts one consumer thread per active store whose notifications are on (checked every 30 s), so switching
them on needs no restart. ``--no-notifications`` leaves them to another worker or to
``saleschannel amazon notifications consume``.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from huey.contrib.djhuey import HUEY

from saleschannel.amazon.notification_consumer import ConsumerSupervisor


class Command(BaseCommand):
    help = "Run the background worker that executes queued tasks and periodic schedules."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--worker-type", default="thread", choices=["thread", "process", "greenlet"])
        parser.add_argument("--no-periodic", action="store_true",
                            help="Do not run the periodic schedule in this worker (another worker runs it).")
        parser.add_argument("--no-notifications", action="store_true",
                            help="Do not consume Amazon ORDER_CHANGE notifications in this worker.")

    def handle(self, *args, workers, worker_type, no_periodic, no_notifications=False, **options):
        if HUEY.immediate:
            raise CommandError("HUEY_IMMEDIATE=1 runs every task in the process that queues it: a worker would wait "
                               "for tasks that never come. Unset HUEY_IMMEDIATE to run a worker.")
        supervisor = None if no_notifications else ConsumerSupervisor().start()
        try:
            call_command("run_huey", workers=workers, worker_type=worker_type, periodic=not no_periodic)
        finally:
            if supervisor is not None:
                supervisor.shutdown(timeout=5)
