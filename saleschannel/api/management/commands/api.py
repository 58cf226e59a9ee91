"""``saleschannel api ...``: personal API tokens from the command line.

    saleschannel api token create --user alice --name "Warehouse" [--expires-in-days 90]
    saleschannel api token list [--user alice]
    saleschannel api token revoke 12 | sc_1a2b3c4d
    saleschannel api webhooks list
    saleschannel api webhooks add https://wms.example.com/hooks --events order.created,shipment.created
    saleschannel api webhooks disable 3
    saleschannel api webhooks deliveries [--endpoint 3] [--state dead]
    saleschannel api webhooks redeliver 42

``create`` prints the token once: it is stored hashed and cannot be shown again. A token acts as its user, with
the user's role (Administrator, Operator or Viewer). ``webhooks add`` prints the endpoint's signing secret once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from saleschannel.api import tokens, webhooks
from saleschannel.api.models import WebhookDelivery, WebhookEndpoint
from saleschannel.core import events
from saleschannel.core.roles import role_of


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Personal API tokens (create, list, revoke) and webhooks (list, add, disable, deliveries, redeliver)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{token,webhooks}")
        token = sub.add_parser("token", help="Create, list or revoke personal API tokens.")
        token_sub = token.add_subparsers(dest="token_action", required=True, metavar="{create,list,revoke}")
        create = token_sub.add_parser("create", help="Create a token (printed once).")
        create.add_argument("--user", required=True, help="User name the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for, e.g. Warehouse.")
        create.add_argument("--expires-in-days", "--expires-days", dest="expires_days", type=int, default=None,
                            help="Days until the token expires (default: never).")
        listing = token_sub.add_parser("list", help="List tokens (never their secret).")
        listing.add_argument("--user", default=None, help="Only this user's tokens.")
        revoke = token_sub.add_parser("revoke", help="Revoke tokens by id or prefix.")
        revoke.add_argument("tokens", nargs="+", metavar="ID_OR_PREFIX")
        self._add_webhook_arguments(sub)

    def _add_webhook_arguments(self, sub):
        hooks = sub.add_parser("webhooks", help="Webhook endpoints and their deliveries.")
        hooks_sub = hooks.add_subparsers(dest="webhook_action", required=True,
                                         metavar="{list,add,disable,deliveries,redeliver}")
        hooks_sub.add_parser("list", help="List webhook endpoints.")
        add = hooks_sub.add_parser("add", help="Add an endpoint (its signing secret is printed once).")
        add.add_argument("url", metavar="URL")
        add.add_argument("--events", default="", help="Comma-separated event kinds (default: all): "
                         + ", ".join(events.KINDS) + ".")
        add.add_argument("--description", default="")
        disable = hooks_sub.add_parser("disable", help="Stop sending to an endpoint.")
        disable.add_argument("endpoint", metavar="ID")
        deliveries = hooks_sub.add_parser("deliveries", help="The delivery log, newest first.")
        deliveries.add_argument("--endpoint", default=None, metavar="ID")
        deliveries.add_argument("--state", default="", choices=["", *WebhookDelivery.State.values])
        deliveries.add_argument("--limit", type=int, default=50)
        redeliver = hooks_sub.add_parser("redeliver", help="Queue a delivery's event again (same event id).")
        redeliver.add_argument("delivery", metavar="DELIVERY_ID")

    def handle(self, *args, action, **options):
        if action == "webhooks":
            run = {"list": self._hooks_list, "add": self._hooks_add, "disable": self._hooks_disable,
                   "deliveries": self._hooks_deliveries, "redeliver": self._hooks_redeliver}[options["webhook_action"]]
        else:
            run = {"create": self._create, "list": self._list, "revoke": self._revoke}[options["token_action"]]
        try:
            run(options)
        except (tokens.ApiTokenError, webhooks.WebhookError) as error:
            raise CommandError(error.message) from None

    def _create(self, options):
        user = tokens.user_named(options["user"])
        new = tokens.token_create(user=user, name=options["name"], expires_days=options["expires_days"])
        token = new.token
        self.stdout.write(f"Created API token {token.pk} \"{token.name}\" for {user.get_username()} "
                          f"({role_of(user) or 'no role'}), "
                          + (f"expires {_when(token.expires_at)}." if token.expires_at else "never expires."))
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

    # --- webhooks ----------------------------------------------------------------------------------------------

    def _hooks_list(self, options):
        rows = list(WebhookEndpoint.objects.all())
        if not rows:
            self.stdout.write("No webhook endpoints.")
            return
        self.stdout.write(f"{'ID':>5}  {'STATE':<8}  {'EVENTS':<40}  URL")
        for endpoint in rows:
            state = "active" if endpoint.active else "disabled"
            kinds = ",".join(endpoint.events) or "all"
            self.stdout.write(f"{endpoint.pk:>5}  {state:<8}  {kinds[:40]:<40}  {endpoint.url}")

    def _hooks_add(self, options):
        new = webhooks.webhook_endpoint_create(url=options["url"], events=options["events"],
                                               description=options["description"], actor=None)
        endpoint = new.endpoint
        self.stdout.write(f"Added webhook endpoint {endpoint.pk} {endpoint.url} "
                          f"({', '.join(endpoint.events) or 'all events'}).")
        self.stdout.write("Signing secret (copy it now: it will not be shown again):")
        self.stdout.write(new.secret)

    def _hooks_disable(self, options):
        endpoint = webhooks.webhook_endpoint_find(ident=options["endpoint"])
        webhooks.webhook_endpoint_disable(endpoint=endpoint)
        self.stdout.write(f"Disabled webhook endpoint {endpoint.pk} {endpoint.url}.")

    def _hooks_deliveries(self, options):
        endpoint = webhooks.webhook_endpoint_find(ident=options["endpoint"]) if options["endpoint"] else None
        rows = list(webhooks.webhook_deliveries(endpoint=endpoint, state=options["state"])[:max(1, options["limit"])])
        if not rows:
            self.stdout.write("No webhook deliveries.")
            return
        self.stdout.write(f"{'ID':>6}  {'ENDPOINT':>8}  {'EVENT':<22}  {'STATE':<9}  {'CODE':>4}  {'TRIES':>5}  "
                          f"{'CREATED':<16}  EVENT ID")
        for delivery in rows:
            code = delivery.last_status_code or "-"
            self.stdout.write(f"{delivery.pk:>6}  {delivery.endpoint_id:>8}  {delivery.kind:<22}  "
                              f"{delivery.state:<9}  {code:>4}  {delivery.attempts:>5}  "
                              f"{_when(delivery.created_at):<16}  {delivery.event_id}")

    def _hooks_redeliver(self, options):
        delivery = webhooks.webhook_delivery_find(ident=options["delivery"])
        again = webhooks.webhook_delivery_redeliver(delivery=delivery, actor="command line")
        self.stdout.write(f"Queued event {again.event_id} ({again.kind}) again as delivery {again.pk}.")
