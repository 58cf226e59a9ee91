"""Create (or reset) an Administrator account and print its password once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from saleschannel.core.roles import ADMINISTRATOR, assign_role


class Command(BaseCommand):
    help = "Create an administrator (or reset its password) and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--password", help="Use this password instead of generating one.")
        parser.add_argument(
            "--if-missing", action="store_true", help="Leave an existing account untouched (demo start-up)."
        )

    def handle(self, *args, username, email, password, if_missing, **options):
        if not username.strip():
            raise CommandError("--username must not be empty.")
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            if user and if_missing:
                self.stdout.write(f"Administrator '{username}' already exists; password unchanged.")
                return
            password = password or secrets.token_urlsafe(12)
            if user is None:
                user = User(username=username, email=email)
            user.is_active = True
            user.set_password(password)
            user.save()
            # The role sets is_superuser and is_staff (saleschannel.core.roles): one rule for every way in.
            assign_role(user=user, role=ADMINISTRATOR)
        self.stdout.write(self.style.SUCCESS(f"Administrator ready. Login: {username}  Password: {password}"))
