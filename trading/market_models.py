"""Public market data kept for the pages: prices, market rules, candles, order-book snapshots.

Written only by the market-data services in the worker (through the connector); read by the
pages, which never reach an exchange during a request. Rows are per exchange, not per key:
public data is the same for every key on an exchange. Imported by trading.models.
"""

from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 36, "decimal_places": 18}


class MarketPrice(models.Model):
    """The latest ticker of one symbol on one exchange (values balances in a quote currency)."""

    exchange = models.CharField(max_length=64)
    symbol = models.CharField(max_length=41)
    last = models.DecimalField(**MONEY, null=True, blank=True)
    bid = models.DecimalField(**MONEY, null=True, blank=True)
    ask = models.DecimalField(**MONEY, null=True, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol"], name="marketprice_unique_symbol_per_exchange"
            )
        ]

    def __str__(self):
        return f"{self.exchange} {self.symbol} {self.last}"


class MarketInfo(models.Model):
    """One market's display precision and fees, from the exchange's market list."""

    exchange = models.CharField(max_length=64)
    symbol = models.CharField(max_length=41)
    base = models.CharField(max_length=20)
    quote = models.CharField(max_length=20)
    price_decimals = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_decimals = models.PositiveSmallIntegerField(null=True, blank=True)
    # Fractions (0.001 = 0.1%); None when the exchange does not say.
    maker_fee = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    taker_fee = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    min_amount = models.DecimalField(**MONEY, null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol"], name="marketinfo_unique_symbol_per_exchange"
            )
        ]

    def __str__(self):
        return f"{self.exchange} {self.symbol}"


class Candle(models.Model):
    """One OHLCV bar of a symbol on an exchange."""

    exchange = models.CharField(max_length=64)
    symbol = models.CharField(max_length=41)
    timeframe = models.CharField(max_length=8)
    opened_at = models.DateTimeField()
    open = models.DecimalField(**MONEY)
    high = models.DecimalField(**MONEY)
    low = models.DecimalField(**MONEY)
    close = models.DecimalField(**MONEY)
    volume = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol", "timeframe", "opened_at"],
                name="candle_unique_bar",
            )
        ]

    def __str__(self):
        return f"{self.exchange} {self.symbol} {self.timeframe} {self.opened_at:%Y-%m-%d %H:%M}"


class OrderBookSnapshot(models.Model):
    """The best levels of one order book, as [[price, amount], ...] decimal strings."""

    exchange = models.CharField(max_length=64)
    symbol = models.CharField(max_length=41)
    bids = models.JSONField(default=list)
    asks = models.JSONField(default=list)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "symbol"], name="orderbook_unique_symbol_per_exchange"
            )
        ]

    def __str__(self):
        return f"{self.exchange} {self.symbol} book"


class FillDailyTotal(models.Model):
    """Fills summed per key, UTC day, symbol, side and fee currency (the Fills page's totals).

    Rebuilt from the Fill rows of the touched days whenever fills are recorded, so the totals
    and page count of 100,000 fills cost a scan of a few hundred rows, not of every fill.
    """

    key = models.ForeignKey(
        "accounts.ExchangeKey", on_delete=models.CASCADE, related_name="fill_daily_totals"
    )
    day = models.DateField()
    symbol = models.CharField(max_length=41)
    side = models.CharField(max_length=4)
    fee_currency = models.CharField(max_length=20, blank=True)
    count = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, default=0)
    cost = models.DecimalField(**MONEY, default=0)
    fee = models.DecimalField(**MONEY, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "day", "symbol", "side", "fee_currency"],
                name="filldailytotal_unique_group",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.side} {self.symbol}: {self.count}"
