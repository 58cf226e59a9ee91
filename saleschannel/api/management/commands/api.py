"""``saleschannel api ...``: personal API tokens from the command line.

    saleschannel api token create --user alice --name "Warehouse" [--expires-days 90]
    saleschannel api token list [--user alice]
    saleschannel api token revoke 12 | sc_1a2b3c4d

``create`` prints the token once: it is stored hashed and cannot be shown again. A token acts as its user, with
the user's role (Administrator, Operator or Viewer).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from saleschannel.api import tokens
from saleschannel.core.roles import role_of


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Personal API tokens: create, list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{token}")
        token = sub.add_parser("token", help="Create, list or revoke personal API tokens.")
        token_sub = token.add_subparsers(dest="token_action", required=True, metavar="{create,list,revoke}")
        create = token_sub.add_parser("create", help="Create a token (printed once).")
        create.add_argument("--user", required=True, help="User name the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for, e.g. Warehouse.")
        create.add_argument("--expires-days", type=int, default=None,
                            help="Days until the token expires (default: never).")
        listing = token_sub.add_parser("list", help="List tokens (never their secret).")
        listing.add_argument("--user", default=None, help="Only this user's tokens.")
        revoke = token_sub.add_parser("revoke", help="Revoke tokens by id or prefix.")
        revoke.add_argument("tokens", nargs="+", metavar="ID_OR_PREFIX")

    def handle(self, *args, action, token_action, **options):
        run = {"create": self._create, "list": self._list, "revoke": self._revoke}[token_action]
        try:
            run(options)
        except tokens.ApiTokenError as error:
            raise CommandError(error.message) from None

    def _create(self, options):
        user = tokens.user_named(options["user"])
        new = tokens.token_create(user=user, name=options["name"], expires_days=options["expires_days"])
        token = new.token
        self.stdout.write(f"Created API token {token.pk} \"{token.name}\" for {user.get_username()} "
                          f"({role_of(user) or 'no role'}), expires {_when(token.expires_at)}.")
        self.stdout.write("Copy it now: it will not be shown again.")
        self.stdout.write(new.secret)

    def _list(self, options):
        user = tokens.user_named(options["user"]) if options["user"] else None
        now = timezone.now()
        rows = list(tokens.token_list(user=user))
        if not rows:
            self.stdout.write("No API tokens.")
            return
        self.stdout.write(f"{'ID':>5}  {'PREFIX':<12}  {'USER':<20}  {'NAME':<24}  {'EXPIRES':<16}  "
                          f"{'LAST USED':<16}  STATE")
        for token in rows:
            if token.revoked_at:
                state = "revoked"
            elif token.expires_at and token.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            self.stdout.write(f"{token.pk:>5}  {token.prefix:<12}  {token.user.get_username()[:20]:<20}  "
                              f"{token.name[:24]:<24}  {_when(token.expires_at):<16}  "
                              f"{_when(token.last_used_at):<16}  {state}")

    def _revoke(self, options):
        found = [tokens.token_find(ident=ident) for ident in options["tokens"]]
        for token in found:
            tokens.token_revoke(token=token)
            self.stdout.write(f"Revoked API token {token.pk} ({token.prefix}) \"{token.name}\".")
