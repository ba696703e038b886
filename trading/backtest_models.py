"""Long jobs of the backtesting pages: candle downloads, backtest runs and parameter sweeps.

Each row is the job's truth: a worker claims it with a conditional update (queued → running),
writes its progress there, and checks `cancel_requested` between steps, so a page can show
and stop a job that runs on any machine.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from trading.strategies.params import TIMEFRAMES

MONEY = {"max_digits": 36, "decimal_places": 18}
SYMBOL_VALIDATOR = RegexValidator(
    r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$", "Use BASE/QUOTE, e.g. BTC/USDT."
)


class Job(models.Model):
    """Fields every long job shares: owner, status, progress, cancel flag, timing."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    exchange = models.CharField(max_length=64)
    symbol = models.CharField(max_length=41, validators=[SYMBOL_VALIDATOR])
    timeframe = models.CharField(max_length=4, choices=[(t, t) for t in TIMEFRAMES])
    since = models.DateTimeField()
    until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED


class CandleDownload(Job):
    """Candles of one series fetched from an exchange into the candle store."""

    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)  # candles stored in the series afterwards
    # [first missing bar time in ms, number of missing bars] inside [since, until).
    gaps = models.JSONField(default=list, blank=True)

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["user", "created_at"], name="candledl_user_created")]

    def __str__(self):
        return f"{self.exchange} {self.symbol} {self.timeframe} ({self.status})"


class BacktestConfigFields(Job):
    """The strategy and the simulated broker shared by a single run and a sweep."""

    strategy = models.CharField(max_length=40)
    fee_rate = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    slippage = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    starting_cash = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])

    class Meta(Job.Meta):
        abstract = True


class BacktestRun(BacktestConfigFields):
    """One strategy with one set of parameters over stored candles; `result` when done."""

    params = models.JSONField(default=dict)
    # {"summary": {...}, "trades": [...], "fills": [...], "equity": [[ms, value], ...], ...}
    result = models.JSONField(null=True, blank=True)

    class Meta(BacktestConfigFields.Meta):
        indexes = [models.Index(fields=["user", "created_at"], name="backtest_user_created")]

    def __str__(self):
        return f"{self.strategy} {self.symbol} {self.timeframe} ({self.status})"

    @property
    def summary(self) -> dict:
        return (self.result or {}).get("summary") or {}


class SweepRun(BacktestConfigFields):
    """One backtest per combination of a parameter grid; `rows` holds each one's statistics."""

    base_params = models.JSONField(default=dict)
    grid = models.JSONField(default=dict)  # {parameter: [values, ...]} in the order given
    combinations = models.PositiveIntegerField(default=0)
    rows = models.JSONField(null=True, blank=True)

    class Meta(BacktestConfigFields.Meta):
        indexes = [models.Index(fields=["user", "created_at"], name="sweep_user_created")]

    def __str__(self):
        return f"sweep {self.strategy} {self.symbol} ({self.status})"
