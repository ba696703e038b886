"""Trading strategies: pure decision steps shared by live bots, dry-runs and backtests."""

from trading.strategies import dca, grid, market_making, rebalance, sma_crossover  # noqa: F401
from trading.strategies.base import Strategy, strategy_build, strategy_registry
from trading.strategies.params import Param, ParamError
from trading.strategies.types import (
    Candle,
    Decision,
    Fill,
    MarketSnapshot,
    OpenOrder,
    OrderBook,
    OrderRequest,
    Position,
    Quiet,
    Ticker,
)

__all__ = [
    "Candle",
    "Decision",
    "Fill",
    "MarketSnapshot",
    "OpenOrder",
    "OrderBook",
    "OrderRequest",
    "Param",
    "ParamError",
    "Position",
    "Quiet",
    "Strategy",
    "Ticker",
    "strategy_build",
    "strategy_registry",
]
