"""The paper exchange's own records: accounts, API keys, orders, trades and test controls."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from paper.fields import SecretCharField

AMOUNT = {"max_digits": 32, "decimal_places": 8}


class PaperAccount(models.Model):
    """A keytrade user's account on the paper exchange."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_account"
    )
    created_at = models.DateTimeField()
    # Bumped first in every ledger transaction: on SQLite this takes the write lock up front,
    # on PostgreSQL the row lock serialises writers of one account.
    write_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"paper account of user #{self.user_id}"


class PaperBalance(models.Model):
    """Free and locked amounts of one asset; the check constraints make overdraw impossible."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=16)
    free = models.DecimalField(default=0, **AMOUNT)
    locked = models.DecimalField(default=0, **AMOUNT)

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="paper_balance_unique"),
            models.CheckConstraint(condition=Q(free__gte=0), name="paper_balance_free_gte_0"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="paper_balance_locked_gte_0"),
        ]

    def __str__(self):
        return f"{self.asset} {self.free} (+{self.locked} locked)"

    @property
    def total(self):
        return self.free + self.locked


class PaperApiKey(models.Model):
    """An API key of the paper exchange; the secret is encrypted but recoverable (HMAC)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=64)
    api_key = models.CharField(max_length=64, unique=True)
    secret = SecretCharField(max_length=64)
    can_trade = models.BooleanField(default=False)
    can_withdraw = models.BooleanField(default=False)
    ip_whitelist = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label} ({self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        return f"{self.api_key[:4]}…{self.api_key[-4:]}"

    def is_expired(self, now) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class PaperOrder(models.Model):
    """An order; its id is Binance's orderId."""

    class Side(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"

    class Type(models.TextChoices):
        LIMIT = "LIMIT"
        LIMIT_MAKER = "LIMIT_MAKER"
        MARKET = "MARKET"

    class Status(models.TextChoices):
        NEW = "NEW"
        PARTIALLY_FILLED = "PARTIALLY_FILLED"
        FILLED = "FILLED"
        CANCELED = "CANCELED"
        EXPIRED = "EXPIRED"

    OPEN_STATUSES = (Status.NEW, Status.PARTIALLY_FILLED)

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    symbol = models.CharField(max_length=16)
    client_order_id = models.CharField(max_length=36)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=12, choices=Type.choices)
    time_in_force = models.CharField(max_length=3, blank=True)
    price = models.DecimalField(default=0, **AMOUNT)
    orig_qty = models.DecimalField(**AMOUNT)
    executed_qty = models.DecimalField(default=0, **AMOUNT)
    cumm_quote_qty = models.DecimalField(default=0, **AMOUNT)
    orig_quote_order_qty = models.DecimalField(default=0, **AMOUNT)
    status = models.CharField(max_length=16, choices=Status.choices)
    locked_asset = models.CharField(max_length=16, blank=True)
    locked_amount = models.DecimalField(default=0, **AMOUNT)
    created_ms = models.BigIntegerField()
    updated_ms = models.BigIntegerField()
    # Resting-order matching state: minutes before checked_minute are settled, and
    # checked_minute itself has already given minute_filled of its liquidity.
    checked_minute = models.BigIntegerField(default=0)
    minute_filled = models.DecimalField(default=0, **AMOUNT)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Binance refuses a newClientOrderId already used by an open order of the account.
            models.UniqueConstraint(
                fields=["account", "client_order_id"],
                condition=Q(status__in=["NEW", "PARTIALLY_FILLED"]),
                name="paper_open_client_order_id_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "symbol", "status"], name="paper_order_acct_sym_status"
            ),
            # An account's open orders without reading its whole history: every signed
            # request asks whether it has any, and every one that has reads them.
            models.Index(fields=["account", "status"], name="paper_order_acct_status"),
            models.Index(fields=["status", "symbol"], name="paper_order_status_symbol"),
            models.Index(fields=["account", "client_order_id"], name="paper_order_client_id"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.side} {self.orig_qty} {self.symbol} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def remaining(self):
        return self.orig_qty - self.executed_qty


class PaperTrade(models.Model):
    """One fill of an order; its id is Binance's trade id."""

    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="trades")
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="trades")
    symbol = models.CharField(max_length=16)
    price = models.DecimalField(**AMOUNT)
    qty = models.DecimalField(**AMOUNT)
    quote_qty = models.DecimalField(**AMOUNT)
    commission = models.DecimalField(**AMOUNT)
    commission_asset = models.CharField(max_length=16)
    time_ms = models.BigIntegerField()
    is_buyer = models.BooleanField()
    is_maker = models.BooleanField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "symbol", "id"], name="paper_trade_acct_sym")]

    def __str__(self):
        return f"trade #{self.pk} {self.qty} @ {self.price}"


class SimClock(models.Model):
    """The simulated market clock (a singleton row); the DB makes every process agree."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    frozen_ms = models.BigIntegerField(null=True, blank=True)
    offset_ms = models.BigIntegerField(default=0)
    # Shifts the server's own clock (timestamps, /time): simulates a skewed exchange clock.
    skew_ms = models.BigIntegerField(default=0)
    # Set while faults are injected, so that requests skip the fault lookup otherwise.
    faults_armed = models.BooleanField(default=False)

    def __str__(self):
        return "frozen" if self.frozen_ms is not None else f"running, offset {self.offset_ms} ms"


class PriceAnchor(models.Model):
    """A price pinned by a test control at a minute; the walk continues from it."""

    symbol = models.CharField(max_length=16)
    minute = models.BigIntegerField()
    price = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["symbol", "minute"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "minute"], name="paper_anchor_unique")
        ]

    def __str__(self):
        return f"{self.symbol} = {self.price} at minute {self.minute}"


class Fault(models.Model):
    """An injected fault for one endpoint (or all), optionally limited to a number of hits."""

    class Kind(models.TextChoices):
        LATENCY = "latency", "Added latency (ms)"
        ERROR_500 = "error_500", "HTTP 500 before processing"
        ERROR_503 = "error_503", "HTTP 503 before processing"
        UNKNOWN_AFTER = "unknown_after", "HTTP 503 'unknown' after processing"
        DELAY_AFTER = "delay_after", "Processed, then the response is delayed (ms)"
        RATE_LIMIT = "rate_limit", "HTTP 429 with Retry-After (s)"
        MALFORMED = "malformed", "Processed, then truncated JSON"

    endpoint = models.CharField(max_length=64, blank=True, help_text="e.g. api/v3/order; blank=all")
    method = models.CharField(max_length=8, blank=True, help_text="GET, POST, DELETE; blank=all")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.PositiveIntegerField(default=0)
    remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="blank = until cleared"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind}({self.value}) on {self.method or '*'} {self.endpoint or '*'}"
