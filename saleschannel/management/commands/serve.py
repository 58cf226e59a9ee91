"""Serve the back office with waitress (a production WSGI server; static files through WhiteNoise)."""

from django.core.management.base import BaseCommand
from waitress import serve


class Command(BaseCommand):
    help = "Serve the back office over HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host, port, threads, **options):
        # Not at module level: importing saleschannel.wsgi builds the WSGI application (django.setup(), the
        # middleware chain) as a side effect, which only serving needs — not `help serve` or loading the command.
        from saleschannel.wsgi import application

        self.stdout.write(f"Back office on http://{host}:{port}/  (Ctrl-C to stop)")
        serve(application, host=host, port=port, threads=threads, ident="saleschannel")
