"""Run the background worker (Huey consumer): queued tasks and the periodic schedule."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker that executes queued tasks and periodic schedules."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--worker-type", default="thread", choices=["thread", "process", "greenlet"])

    def handle(self, *args, workers, worker_type, **options):
        call_command("run_huey", workers=workers, worker_type=worker_type)
