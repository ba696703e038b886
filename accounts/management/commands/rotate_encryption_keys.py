from django.core.management.base import BaseCommand, CommandError

from accounts.encryption import current_keys, old_keys
from accounts.services.rotation import vault_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored exchange secret from the old keys (OLD_SECRET_KEY and/or "
        "OLD_CRYPTOGRAPHY_KEY in the environment) to the current SECRET_KEY and "
        "CRYPTOGRAPHY_KEY. Idempotent; safe to rerun after a crash."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        old = old_keys()
        if old is None:
            self.stdout.write(
                "OLD_SECRET_KEY and OLD_CRYPTOGRAPHY_KEY are unset: only checking that every "
                "secret decrypts with the current keys."
            )
        self.stdout.write(f"current key version: {current_keys().version}")

        def progress(label, report):
            self.stdout.write(f"  {label}: {report.total} rows processed", ending="\n")

        report = vault_rotate(old=old, batch_size=batch_size, on_batch=progress)
        self.stdout.write(
            f"re-encrypted: {report.reencrypted}, already current: {report.already_current}, "
            f"unreadable: {len(report.unreadable)}"
        )
        if report.unreadable:
            raise CommandError(
                "these rows decrypt with neither the old nor the current keys: "
                + ", ".join(report.unreadable)
            )
        self.stdout.write(self.style.SUCCESS("every stored secret is under the current keys"))
