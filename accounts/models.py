import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from accounts.fields import VaultTextField


class UserManager(DjangoUserManager):
    """Django's UserManager, with `User.objects.get(pk=<int>)` read by one written statement.

    Authentication runs that lookup on every logged-in request (ModelBackend.get_user, and
    allauth's backend through it); building it through the ORM cost ~1 ms of CPU, a tenth of
    a dashboard page (bench/pages_inprocess.py), for a primary-key read SQLite answers in
    0.02 ms. accounts.sql.user_by_pk returns the same instance the ORM would (every field,
    converted by the fields). Any other call, and the relation managers built on this class
    (group.user_set...), take the ORM's path unchanged.
    """

    def get(self, *args, **kwargs):
        # Not for subclasses (relation managers filter), nor historical models in migrations.
        if not args and len(kwargs) == 1 and type(self) is UserManager and self.model is User:
            pk = kwargs.get("pk", kwargs.get("id"))
            if type(pk) is int:
                from accounts.sql import user_by_pk

                user = user_by_pk(model=User, using=self.db, pk=pk)
                if user is None:
                    raise self.model.DoesNotExist(
                        f"{self.model._meta.object_name} matching query does not exist."
                    )
                return user
        return super().get(*args, **kwargs)


class User(AbstractUser):
    """A keytrade user; roles are Django groups (trader, viewer) plus is_staff for admins."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    objects = UserManager()

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


KEY_EXPIRED_REASON = (
    "Expired: the exchange no longer accepts this key because it reached its expiry date. "
    "Rotate it (paste a new key from the exchange) to use it again."
)


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
    # When the credentials were last swapped by key_rotate; the rotation period counts from here.
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Reminder bookkeeping for the current rotate-by cycle (reset whenever rotate_by changes).
    rotation_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotation_reminder_stage = models.CharField(max_length=16, blank=True, editable=False)
    rotation_snoozed_until = models.DateTimeField(null=True, blank=True, editable=False)
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
        """True once the rotate-by date (or the exchange's expiry, if sooner) has passed."""
        due = self.replace_by
        return due is not None and timezone.now() >= due

    @property
    def age_days(self) -> int:
        return (timezone.now() - self.created_at).days

    @property
    def credentials_since(self):
        """When the credentials now stored were put in: the last rotation, else the connection."""
        return self.rotated_at or self.created_at

    @property
    def credentials_age_days(self) -> int:
        return (timezone.now() - self.credentials_since).days

    @property
    def replace_by(self):
        """When the credentials must be replaced: rotate-by, or the exchange expiry if sooner."""
        dates = [d for d in (self.rotate_by, self.exchange_expires_at) if d is not None]
        return min(dates) if dates else None

    @property
    def rotation_days_left(self) -> int | None:
        """Whole days until replace_by (negative when overdue), counted in UTC calendar days."""
        due = self.replace_by
        return None if due is None else (due.date() - timezone.now().date()).days

    @property
    def rotation_days_overdue(self) -> int:
        days_left = self.rotation_days_left
        return -days_left if days_left is not None and days_left < 0 else 0

    @property
    def rotation_snoozed(self) -> bool:
        snoozed = self.rotation_snoozed_until
        return snoozed is not None and snoozed > timezone.now()

    @property
    def exchange_expiry_passed(self) -> bool:
        """True when the expiry the exchange reported for this key has passed."""
        expires = self.exchange_expires_at
        return expires is not None and expires <= timezone.now()

    @property
    def is_expired(self) -> bool:
        """True when keytrade disabled the key because the exchange says it expired."""
        return self.status == self.Status.DISABLED and self.status_reason == KEY_EXPIRED_REASON


class EncryptionCanary(models.Model):
    """One known value encrypted with the vault's keys; /healthz fails when it stops decrypting."""

    PLAINTEXT = "keytrade encryption canary"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = VaultTextField()
    enc_key_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return "encryption canary"


class Notification(models.Model):
    """One message to a user: shown in-app, emailed, and posted to their webhook if they set one."""

    class Kind(models.TextChoices):
        KEY_REMINDER = "key_reminder", "Key rotation reminder"
        KEY_ROTATED = "key_rotated", "Key rotated"
        KEY_VERIFICATION_FAILED = "key_verification_failed", "Key verification failed"
        KEY_WITHDRAW_ENABLED = "key_withdraw_enabled", "Key can withdraw"
        KEY_REJECTED = "key_rejected", "Key rejected by the exchange"
        KEY_EXPIRED = "key_expired", "Key expired"
        BOT_ERROR = "bot_error", "Bot error"
        RISK_STOP = "risk_stop", "Risk stop"
        KILL_SWITCH = "kill_switch", "Kill switch"
        ORDER_ALERT = "order_alert", "Order alert"
        WEBHOOK_TEST = "webhook_test", "Webhook test"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # With dedupe_day, at most one notification per user, key and UTC day (e.g. per key reminder).
    dedupe_key = models.CharField(max_length=200, blank=True)
    dedupe_day = models.DateField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key", "dedupe_day"],
                condition=~models.Q(dedupe_key=""),
                name="notification_unique_dedupe_per_user_day",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationWebhook(models.Model):
    """A user's outgoing webhook: where to POST notifications and the secret that signs them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_webhook"
    )
    url = models.URLField(max_length=500, blank=True)
    # HMAC-SHA256 signing secret; encrypted like exchange credentials, shown once when generated.
    secret = VaultTextField(blank=True, default="")
    secret_created_at = models.DateTimeField(null=True, blank=True)
    enc_key_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"webhook of {self.user}"

    @property
    def has_secret(self) -> bool:
        return self.secret_created_at is not None

    @property
    def is_active(self) -> bool:
        return bool(self.url) and self.has_secret
