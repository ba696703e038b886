"""Trading data: order intents (the order path's truth), the exchange's orders, fills, balances."""

import base64
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

MONEY = {"max_digits": 36, "decimal_places": 18}
SYMBOL_VALIDATOR = RegexValidator(
    r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$", "Use BASE/QUOTE, e.g. BTC/USDT."
)


def client_order_id_for(intent_id: uuid.UUID) -> str:
    """Derive the exchange client order id from an intent id: 'kt' + base32, 28 chars [a-z2-7]."""
    return "kt" + base64.b32encode(intent_id.bytes).decode().rstrip("=").lower()


class OrderIntent(models.Model):
    """One request keytrade made (or will make) to an exchange, and what became of it."""

    class Kind(models.TextChoices):
        PLACE = "place", "Place"
        AMEND = "amend", "Amend"
        CANCEL = "cancel", "Cancel"

    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Type(models.TextChoices):
        LIMIT = "limit", "Limit"
        MARKET = "market", "Market"

    class Status(models.TextChoices):
        NEW = "NEW", "Queued"
        SUBMITTING = "SUBMITTING", "Sending"
        OPEN = "OPEN", "Open"
        FILLED = "FILLED", "Filled"
        CANCELED = "CANCELED", "Cancelled"
        REJECTED = "REJECTED", "Rejected"
        UNKNOWN = "UNKNOWN", "Checking"
        FAILED_UNCONFIRMED = "FAILED_UNCONFIRMED", "Unconfirmed"
        CANCELLED_BY_HALT = "CANCELLED_BY_HALT", "Stopped by halt"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        BOT = "bot", "Bot"

    UNFINISHED = (Status.NEW, Status.SUBMITTING, Status.UNKNOWN)
    FINAL = (
        Status.FILLED,
        Status.CANCELED,
        Status.REJECTED,
        Status.FAILED_UNCONFIRMED,
        Status.CANCELLED_BY_HALT,
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_intents"
    )
    key = models.ForeignKey(
        "accounts.ExchangeKey", on_delete=models.PROTECT, related_name="order_intents"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PLACE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    # The exchange order an amend or cancel acts on.
    target_order = models.ForeignKey(
        "trading.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    symbol = models.CharField(max_length=41, validators=[SYMBOL_VALIDATOR])
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=8, choices=Type.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    price = models.DecimalField(**MONEY, null=True, blank=True)
    client_order_id = models.CharField(max_length=32, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    attempt = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    # A NEW intent waiting out a rate limit is not re-sent by the sweeper before this time.
    retry_at = models.DateTimeField(null=True, blank=True)
    exchange_order_id = models.CharField(max_length=64, null=True, blank=True)
    filled = models.DecimalField(**MONEY, default=0)
    average = models.DecimalField(**MONEY, null=True, blank=True)
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    fee_currency = models.CharField(max_length=20, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "exchange_order_id"],
                condition=Q(exchange_order_id__isnull=False),
                name="orderintent_unique_exchange_order_per_key",
            ),
            models.CheckConstraint(
                condition=Q(type="market") | Q(price__isnull=False) | ~Q(kind="place"),
                name="orderintent_limit_needs_price",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["user", "created_at"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.side} {self.amount} {self.symbol} ({self.status})"

    def save(self, *args, **kwargs):
        if not self.client_order_id:
            self.client_order_id = client_order_id_for(self.id)
        super().save(*args, **kwargs)

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Order(models.Model):
    """An order as the exchange reports it (placed by keytrade or elsewhere), kept by sync."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Filled"
        CANCELED = "canceled", "Cancelled"
        EXPIRED = "expired", "Expired"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.ForeignKey("accounts.ExchangeKey", on_delete=models.CASCADE, related_name="orders")
    intent = models.ForeignKey(
        OrderIntent, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    exchange_order_id = models.CharField(max_length=64)
    client_order_id = models.CharField(max_length=64, blank=True)
    symbol = models.CharField(max_length=41)
    side = models.CharField(max_length=4)
    type = models.CharField(max_length=16)
    status = models.CharField(max_length=10, choices=Status.choices)
    price = models.DecimalField(**MONEY, null=True, blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    filled = models.DecimalField(**MONEY, default=0)
    average = models.DecimalField(**MONEY, null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "exchange_order_id"], name="order_unique_exchange_id_per_key"
            )
        ]
        indexes = [models.Index(fields=["key", "status"])]

    def __str__(self):
        return f"{self.side} {self.amount} {self.symbol} @ {self.price} ({self.status})"

    @property
    def remaining(self):
        return None if self.amount is None else self.amount - self.filled


class Fill(models.Model):
    """One execution on the exchange; unique by the exchange's trade id per key."""

    key = models.ForeignKey("accounts.ExchangeKey", on_delete=models.CASCADE, related_name="fills")
    trade_id = models.CharField(max_length=64)
    exchange_order_id = models.CharField(max_length=64, blank=True)
    intent = models.ForeignKey(
        OrderIntent, null=True, blank=True, on_delete=models.SET_NULL, related_name="fills"
    )
    symbol = models.CharField(max_length=41)
    side = models.CharField(max_length=4)
    price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    cost = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    fee_currency = models.CharField(max_length=20, blank=True)
    taker_or_maker = models.CharField(max_length=5, blank=True)
    executed_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-executed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["key", "trade_id"], name="fill_unique_trade_per_key")
        ]
        indexes = [
            models.Index(fields=["key", "-executed_at"]),
            models.Index(fields=["key", "symbol", "-executed_at"]),
            # The Fills page's order (newest first, id breaks ties): read in index order, and
            # deep pages skip through the index alone (see selectors_dashboard.fills_page).
            models.Index(fields=["key", "-executed_at", "-id"], name="fill_key_time_id_desc"),
            models.Index(fields=["key", "exchange_order_id"]),
        ]

    def __str__(self):
        return f"{self.side} {self.amount} {self.symbol} @ {self.price}"


class Balance(models.Model):
    """The latest known balance of one asset on one key."""

    key = models.ForeignKey(
        "accounts.ExchangeKey", on_delete=models.CASCADE, related_name="balances"
    )
    asset = models.CharField(max_length=20)
    free = models.DecimalField(**MONEY, default=0)
    used = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY, default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["key", "asset"], name="balance_unique_asset_per_key")
        ]

    def __str__(self):
        return f"{self.asset} {self.total}"


class SyncCursor(models.Model):
    """How far account sync has read one kind of history for one symbol on one key."""

    class Kind(models.TextChoices):
        TRADES = "trades", "Trades"

    key = models.ForeignKey(
        "accounts.ExchangeKey", on_delete=models.CASCADE, related_name="sync_cursors"
    )
    symbol = models.CharField(max_length=41)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRADES)
    # The next exchange id to ask for (Binance fromId) and the newest time seen.
    next_id = models.CharField(max_length=64, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "symbol", "kind"], name="synccursor_unique_per_key_symbol_kind"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.symbol} from {self.next_id or 'start'}"


class AccountLimits(models.Model):
    """Per-user trading limits: the user may tighten them; an admin sets the ceilings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_limits"
    )
    # Chosen by the user; None means "up to the ceiling".
    max_order_notional = models.DecimalField(**MONEY, null=True, blank=True)
    max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Upper-case BASE/QUOTE symbols; empty means every symbol the ceiling allows.
    allowed_symbols = models.JSONField(default=list, blank=True)
    # Set by an admin.
    ceiling_max_order_notional = models.DecimalField(**MONEY, null=True, blank=True)
    ceiling_max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True)
    ceiling_allowed_symbols = models.JSONField(default=list, blank=True)
    # The per-user kill switch (set by an admin): nothing of this user's reaches an exchange.
    trading_halted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account limits"

    def __str__(self):
        return f"limits for {self.user}"


class TradingHalt(models.Model):
    """The global kill switch (a single row): while active, no order reaches an exchange."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    active = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return "trading halted" if self.active else "trading allowed"


# Public market data for the dashboard pages (prices, market rules, candles, order books).
from trading.market_models import (  # noqa: E402,F401
    Candle,
    FillDailyTotal,
    MarketInfo,
    MarketPrice,
    OrderBookSnapshot,
)
