"""keytrade's SMA crossover trades exactly as backtesting.py's on a dataset it ships.

Both sides: long or flat, all-in, whole units, signal on the close, fill at the next bar's
open, 0.1% commission on each side, averages equal when within a relative 1e-9.
"""

import warnings
from decimal import Decimal

import numpy as np
import pytest

from trading.backtest.broker import BrokerConfig
from trading.backtest.candles import CandleArrays
from trading.backtest.engine import BacktestConfig
from trading.backtest.run import backtest_run
from trading.strategies import strategy_build

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.test import GOOG, SMA  # noqa: E402

CASH = 10_000
COMMISSION = 0.001


def relation(a: float, b: float) -> int:
    if abs(a - b) <= 1e-9 * max(abs(a), abs(b)):
        return 0
    return 1 if a > b else -1


class SmaLongFlat(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.fast_sma = self.I(SMA, self.data.Close, self.fast)
        self.slow_sma = self.I(SMA, self.data.Close, self.slow)

    def next(self):
        before = relation(self.fast_sma[-2], self.slow_sma[-2])
        now = relation(self.fast_sma[-1], self.slow_sma[-1])
        if before < 0 < now and not self.position:
            self.buy()
        elif before > 0 > now and self.position:
            self.position.close()


def reference(fast: int, slow: int):
    bt = Backtest(GOOG, SmaLongFlat, cash=CASH, commission=COMMISSION, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open at the end"
        return bt.run(fast=fast, slow=slow)


def goog_candles() -> CandleArrays:
    times = GOOG.index.values.astype("datetime64[ms]").astype(np.int64)
    # Trading days only: the engine needs no calendar, only bar order.
    day = 86_400_000
    times = times - times % day
    columns = [GOOG[c].to_numpy(dtype=np.float64) for c in ("Open", "High", "Low", "Close")]
    return CandleArrays("1d", times, *columns, GOOG["Volume"].to_numpy(dtype=np.float64))


def keytrade(fast: int, slow: int, mode: str):
    strategy = strategy_build(
        slug="sma_crossover",
        symbol="GOOG/USD",
        params={"fast": fast, "slow": slow, "timeframe": "1d"},
    )
    config = BacktestConfig(
        initial={"USD": Decimal(CASH)},
        broker=BrokerConfig(fee_rate=Decimal("0.001"), fee_in="quote", lot_step=Decimal(1)),
    )
    return backtest_run(strategy=strategy, candles=goog_candles(), config=config, mode=mode)


@pytest.mark.parametrize("mode", ["bars", "auto"])
@pytest.mark.parametrize(("fast", "slow"), [(10, 20), (5, 30), (20, 50)])
def test_sma_crossover_matches_backtesting_py_trade_for_trade(fast, slow, mode):
    expected = reference(fast, slow)
    ours = keytrade(fast, slow, mode)

    theirs = expected._trades
    assert len(theirs) > 5, "the comparison needs trades to compare"
    assert len(ours.trades) == len(theirs)
    for mine, row in zip(ours.trades, theirs.itertuples(), strict=True):
        assert (mine.entry_bar, mine.exit_bar) == (row.EntryBar, row.ExitBar)
        assert mine.amount == row.Size
        assert float(mine.entry_price) == pytest.approx(row.EntryPrice, rel=1e-12)
        assert float(mine.exit_price) == pytest.approx(row.ExitPrice, rel=1e-12)
        assert float(mine.pnl) == pytest.approx(row.PnL, rel=1e-9, abs=1e-9)
    assert float(ours.stats["final_equity"]) == pytest.approx(
        expected["Equity Final [$]"], rel=1e-9
    )
    np.testing.assert_allclose(ours.equity, expected._equity_curve["Equity"].to_numpy(), rtol=1e-9)
