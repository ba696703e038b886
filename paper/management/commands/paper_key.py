"""manage.py paper_key create|list|disable|enable|delete: paper API keys for scripts and tests."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from paper.models import PaperApiKey
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create, key_delete, key_set_enabled


class Command(BaseCommand):
    help = "Create, list, disable, enable or delete paper exchange API keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key; prints the key and secret once")
        create.add_argument("--user", required=True)
        create.add_argument("--label", default="cli")
        create.add_argument("--trade", action="store_true", help="enable spot trading")
        create.add_argument("--withdraw", action="store_true", help="enable withdrawals")
        create.add_argument("--ip", nargs="+", default=[], metavar="CIDR")
        create.add_argument("--expires", type=float, metavar="DAYS")
        listing = sub.add_parser("list", help="list keys (fingerprints only)")
        listing.add_argument("--user")
        for name in ("disable", "enable", "delete"):
            sub.add_parser(name).add_argument("api_key", help="the full API key")

    def handle(self, *args, **options):
        getattr(self, f"_{options['action']}")(options)

    def _user(self, username):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _create(self, options):
        account = account_get_or_create(user=self._user(options["user"]))
        expires = options["expires"]
        try:
            key, secret = key_create(
                account=account,
                label=options["label"],
                can_trade=options["trade"],
                can_withdraw=options["withdraw"],
                ip_whitelist=options["ip"],
                expires_at=timezone.now() + timedelta(days=expires)
                if expires is not None
                else None,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"api_key {key.api_key}\nsecret {secret}\n")

    def _list(self, options):
        keys = PaperApiKey.objects.select_related("account__user").order_by("created_at")
        if options.get("user"):
            keys = keys.filter(account__user=self._user(options["user"]))
        for k in keys:
            perms = (
                "read" + (",trade" if k.can_trade else "") + (",withdraw" if k.can_withdraw else "")
            )
            self.stdout.write(
                f"{k.fingerprint}  {k.account.user.get_username():<16} {perms:<20} "
                f"{'enabled' if k.is_enabled else 'disabled':<9} "
                f"ip={','.join(k.ip_whitelist) or '-'} "
                f"expires={k.expires_at.isoformat() if k.expires_at else '-'}  {k.label}"
            )

    def _key(self, api_key):
        key = PaperApiKey.objects.filter(api_key=api_key).first()
        if key is None:
            raise CommandError("No such key.")
        return key

    def _disable(self, options):
        key_set_enabled(key=self._key(options["api_key"]), enabled=False)
        self.stdout.write("disabled")

    def _enable(self, options):
        key_set_enabled(key=self._key(options["api_key"]), enabled=True)
        self.stdout.write("enabled")

    def _delete(self, options):
        key_delete(key=self._key(options["api_key"]))
        self.stdout.write("deleted")
