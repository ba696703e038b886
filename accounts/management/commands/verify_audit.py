from django.core.management.base import BaseCommand, CommandError

from accounts.models import AuditEvent
from accounts.services.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain and report the first broken link."

    def handle(self, *args, **options):
        broken = audit_verify()
        if broken is not None:
            raise CommandError(f"audit chain broken at seq {broken.seq}: {broken.reason}")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {count} events verified"))
