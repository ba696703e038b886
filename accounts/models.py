import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from accounts.fields import VaultTextField


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


class ExchangeKey(models.Model):
    """A user's API key for one exchange; credentials are encrypted and never shown again."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        REVOKED = "revoked", "Revoked"
        UNDECRYPTABLE = "undecryptable", "Undecryptable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exchange_keys"
    )
    exchange = models.CharField(
        max_length=64,
        validators=[RegexValidator(r"^[a-z0-9_]+$", "Not an exchange id.")],
    )
    label = models.CharField(max_length=100)
    # Write-only credentials: encrypted at rest, decrypted only by services.keys.key_credentials.
    api_key = VaultTextField()
    secret = VaultTextField()
    passphrase = VaultTextField(blank=True, default="")
    # Keyed HMAC of the API key: finds duplicates without decrypting anything.
    api_key_digest = models.CharField(max_length=64, editable=False)
    fingerprint = models.CharField(max_length=16, editable=False)
    scope_read = models.BooleanField("read", default=True)
    scope_trade = models.BooleanField("trade", default=False)
    scope_withdraw = models.BooleanField("withdraw", default=False)
    withdraw_confirmed = models.BooleanField(default=False)
    ip_whitelist = models.JSONField("IP whitelist", default=list, blank=True)
    # Filled by the exchange connector when it checks the key against the exchange.
    verified_scopes = models.JSONField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_ip_restricted = models.BooleanField(null=True, blank=True)
    exchange_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotation_period_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    rotate_by = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    # Which (SECRET_KEY, CRYPTOGRAPHY_KEY) pair encrypted this row; see encryption.VaultKeys.
    enc_key_version = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "exchange", "api_key_digest"],
                name="exchangekey_unique_api_key_per_user",
                violation_error_message="You already connected this API key.",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.exchange} {self.fingerprint})"

    @property
    def has_ip_whitelist(self) -> bool:
        return bool(self.ip_whitelist)

    @property
    def rotation_due(self) -> bool:
        return self.rotate_by is not None and timezone.now() >= self.rotate_by

    @property
    def age_days(self) -> int:
        return (timezone.now() - self.created_at).days


class EncryptionCanary(models.Model):
    """One known value encrypted with the vault's keys; /healthz fails when it stops decrypting."""

    PLAINTEXT = "keytrade encryption canary"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = VaultTextField()
    enc_key_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return "encryption canary"
