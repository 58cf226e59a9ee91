"""``saleschannel sandbox``: the SP-API sandbox (its own process and storage; see saleschannel.sandbox.cli)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from saleschannel.sandbox.cli import main


class Command(BaseCommand):
    help = "Run the SP-API sandbox, or drive a running one (orders, faults, config, requests, reset)."

    def run_from_argv(self, argv):
        # The sandbox has its own argument parser and never touches the product's database.
        sys.exit(main(argv[2:]))

    def handle(self, *args, **options):  # only reached through call_command("sandbox")
        if main(list(args)):
            raise CommandError("the sandbox command failed")
