"""Helpers for the backtesting page tests: a private candle store and candles in it."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.backtest import candles_store
from trading.backtest.synthetic import candles_synthetic

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # where candles_synthetic starts


def make_runner(user):
    """A user whose only role permission is running bots, which backtesting needs too."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="run_bots")
    )
    return type(user).objects.get(pk=user.pk)  # a fresh instance: Django caches permissions


@pytest.fixture
def candle_root(settings, tmp_path):
    """Every candle read and write of the test goes to its own directory."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "candles"


def store_synthetic(n=3000, *, seed=7, symbol="BTC/USDT", timeframe="1m", exchange="paper"):
    """Store `n` synthetic minute candles from T0; return the (since, until) they span."""
    candles = candles_synthetic(n, seed=seed)
    rows = list(zip(*(column.tolist() for column in candles.columns()), strict=True))
    candles_store(exchange=exchange, symbol=symbol, timeframe=timeframe, rows=rows)
    return T0, T0 + timedelta(minutes=n)


def run_kwargs(**overrides):
    """The keyword arguments of a valid SMA backtest over the stored synthetic candles."""
    since, until = T0, T0 + timedelta(days=10)
    return {
        "strategy": "sma_crossover",
        "params": {"fast": 5, "slow": 20, "timeframe": "1m"},
        "exchange": "paper",
        "symbol": "BTC/USDT",
        "timeframe": "1m",
        "since": since,
        "until": until,
        "fee_rate": Decimal("0.001"),
        "slippage": Decimal("0"),
        "starting_cash": Decimal("10000"),
        **overrides,
    }
