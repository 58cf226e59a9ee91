"""One command for the demo: migrate, create the demo admin, load demo data, serve the back office."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from saleschannel.config import persistent_secret


class Command(BaseCommand):
    help = "Set up and run the demo: database, admin login, demo catalog and orders, back office."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then exit.")

    def handle(self, *args, host, port, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        # The demo password is generated once and kept in the data folder, so it is the same on every start.
        password = persistent_secret("demo_admin_password", "SALESCHANNEL_DEMO_PASSWORD", nbytes=9)
        call_command("createadmin", username="admin", password=password, verbosity=0, stdout=_Null())
        from saleschannel.sales.demo import load_demo_data

        summary = load_demo_data()
        self.stdout.write(summary)
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSales Channel demo: {url}\n  login: admin\n  password: {password}\n"))
        self.stdout.write(f"  data folder: {settings.DATA_DIR}")
        self.stdout.write(f"  customer emails are written as files to {settings.EMAIL_FILE_PATH}")
        if not no_serve:
            call_command("serve", host=host, port=port)


class _Null:
    def write(self, *_args, **_kwargs):
        pass

    def flush(self):
        pass
