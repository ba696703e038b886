import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A keytrade user; roles are Django groups (trader, viewer) plus is_staff for admins."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        # Granted through the "trader" group; "viewer" has none of them (see migrations 0004).
        permissions = [
            ("connect_keys", "Can connect exchange keys"),
            ("place_orders", "Can place and cancel orders"),
            ("run_bots", "Can start and stop bots"),
        ]


class AuditEvent(models.Model):
    """One append-only, hash-chained audit record; written only by services.audit.audit_record."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    # seq is the chain order; it is never reused or rewritten.
    seq = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    # Plain columns, not foreign keys: deleting a user must not touch the audit trail.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    event_type = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["event_type", "created_at"])]

    def __str__(self):
        return f"#{self.seq} {self.event_type} by {self.actor_username or '-'}"


class AuditChainHead(models.Model):
    """Singleton row locked while appending, so concurrent writers extend the chain in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit head at #{self.last_seq}"
