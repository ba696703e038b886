"""Bots: a row per bot (not a process), its event log, its own fills and its P&L snapshots.

Defined here and imported at the bottom of trading/models.py, so their app is `trading`.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 36, "decimal_places": 18}


class Bot(models.Model):
    """A user's strategy running on one key and symbol, with its limits, mode and state."""

    class Mode(models.TextChoices):
        DRY_RUN = "dry_run", "Dry run"
        LIVE = "live", "Live"

    class Status(models.TextChoices):
        STOPPED = "stopped", "Stopped"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        ERROR = "error", "Error"
        RISK_STOPPED = "risk_stopped", "Risk stopped"

    class PositionUnit(models.TextChoices):
        BASE = "base", "Base amount"
        QUOTE = "quote", "Quote value"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bots"
    )
    key = models.ForeignKey("accounts.ExchangeKey", on_delete=models.PROTECT, related_name="bots")
    name = models.CharField(max_length=100)
    symbol = models.CharField(max_length=41)
    strategy = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    # Risk limits, checked by the engine before every order (account limits apply on top).
    max_order_notional = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    max_position = models.DecimalField(**MONEY, null=True, blank=True)
    max_position_unit = models.CharField(
        max_length=5, choices=PositionUnit.choices, default=PositionUnit.QUOTE
    )
    max_open_orders = models.PositiveIntegerField(default=20)
    daily_loss_limit = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.DRY_RUN)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STOPPED)
    status_reason = models.CharField(max_length=300, blank=True)
    # The strategy's own JSON state, and the dry-run wallet (balances and resting orders).
    state = models.JSONField(default=dict, blank=True)
    sim = models.JSONField(default=dict, blank=True)
    # P&L book: per symbol {"pos", "cost"} (signed position, average cost), plus totals.
    book = models.JSONField(default=dict, blank=True)
    realized_pnl = models.DecimalField(**MONEY, default=0)
    fees_quote = models.DecimalField(**MONEY, default=0)
    unrealized_pnl = models.DecimalField(**MONEY, default=0)
    pnl_day = models.DateField(null=True, blank=True)
    pnl_day_start = models.DecimalField(**MONEY, default=0)
    tick_interval_seconds = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(86400)]
    )
    # Scheduling: beat dispatches rows whose next_tick_at has come; a tick claims its row.
    next_tick_at = models.DateTimeField(null=True, blank=True, db_index=True)
    dispatched_until = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    # The number of the last completed tick; a retried tick reuses the next number.
    tick_seq = models.PositiveBigIntegerField(default=0)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_tick_lateness_ms = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_tick_at"], name="bot_due_idx"),
            models.Index(fields=["user", "status"], name="bot_user_status_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.strategy} on {self.symbol}, {self.status})"

    @property
    def total_pnl(self):
        return self.realized_pnl + self.unrealized_pnl - self.fees_quote

    @property
    def is_live(self) -> bool:
        return self.mode == self.Mode.LIVE

    @property
    def quote_asset(self) -> str:
        return self.symbol.partition("/")[2]

    @property
    def overdue_seconds(self) -> int | None:
        """How long a running bot has gone without a tick, when that is far longer than its
        interval (no worker running, or its ticks keep failing to start); else None."""
        if self.status != self.Status.RUNNING:
            return None
        since = self.last_tick_at or self.started_at
        if since is None:
            return None
        grace = max(3 * self.tick_interval_seconds, self.tick_interval_seconds + 60)
        silent = (timezone.now() - since).total_seconds()
        return int(silent) if silent > grace else None


class BotEvent(models.Model):
    """One line of a bot's event log: decisions, orders, errors, risk stops, lifecycle."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    class Kind(models.TextChoices):
        DECISION = "decision", "Decision"
        ORDER = "order", "Order"
        ERROR = "error", "Error"
        RISK = "risk", "Risk"
        LIFECYCLE = "lifecycle", "Lifecycle"

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="events")
    ts = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [models.Index(fields=["bot", "-ts"], name="botevent_bot_ts_idx")]

    def __str__(self):
        return f"{self.kind}: {self.message}"


class BotTrade(models.Model):
    """A fill of one of the bot's orders: real (from a Fill) or simulated (dry run)."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="trades")
    # The tick that first handed this fill to the strategy (a retried tick sees it again).
    tick_seq = models.PositiveBigIntegerField()
    ts = models.DateTimeField()
    ref = models.CharField(max_length=64)
    tag = models.CharField(max_length=40, blank=True)
    symbol = models.CharField(max_length=41)
    side = models.CharField(max_length=4)
    price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, default=0)
    fee_asset = models.CharField(max_length=20, blank=True)
    fee_quote = models.DecimalField(**MONEY, default=0)
    dry_run = models.BooleanField(default=False)
    fill = models.OneToOneField(
        "trading.Fill", null=True, blank=True, on_delete=models.SET_NULL, related_name="bot_trade"
    )

    class Meta:
        ordering = ["-ts", "-id"]
        indexes = [models.Index(fields=["bot", "tick_seq"], name="bottrade_bot_seq_idx")]

    def __str__(self):
        return f"{self.side} {self.amount} {self.symbol} @ {self.price}"

    @property
    def notional(self):
        return self.amount * self.price


class BotSnapshot(models.Model):
    """The bot's P&L at one moment, for its equity chart (at most one a minute)."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="snapshots")
    ts = models.DateTimeField()
    total_pnl = models.DecimalField(**MONEY)
    realized_pnl = models.DecimalField(**MONEY)
    unrealized_pnl = models.DecimalField(**MONEY)
    fees_quote = models.DecimalField(**MONEY)
    price = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["ts"]
        indexes = [models.Index(fields=["bot", "ts"], name="botsnapshot_bot_ts_idx")]

    def __str__(self):
        return f"{self.ts:%Y-%m-%d %H:%M} {self.total_pnl}"
