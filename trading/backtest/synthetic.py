"""Deterministic synthetic candles for tests and benchmarks (no download needed)."""

from __future__ import annotations

import numpy as np

from trading.backtest.candles import CandleArrays, timeframe_ms

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def candles_synthetic(
    n: int,
    *,
    seed: int = 7,
    price: float = 100.0,
    volatility: float = 0.0006,
    timeframe: str = "1m",
) -> CandleArrays:
    """A random walk over slow waves (long trends), prices rounded to cents."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    waves = sum(
        size * np.sin(2 * np.pi * steps / period + rng.uniform(0, 2 * np.pi))
        for size, period in ((0.2, 250_000), (0.05, 30_000))
    )
    walk = np.cumsum(rng.normal(0, volatility, n))
    close = np.round(price * np.exp(walk + waves - waves[0]), 2)
    close = np.maximum(close, 0.01)
    open_ = np.r_[price, close[:-1]]
    wick = rng.uniform(0, volatility, (2, n))
    high = np.round(np.maximum(open_, close) * (1 + wick[0]), 2)
    low = np.maximum(np.round(np.minimum(open_, close) * (1 - wick[1]), 2), 0.01)
    time = START_MS + np.arange(n, dtype=np.int64) * timeframe_ms(timeframe)
    volume = np.round(rng.uniform(1, 100, n), 3)
    return CandleArrays(timeframe, time, open_, high, low, close, volume)
