"""A backtest's result does not depend on the decimal context its thread was left in."""

import decimal
from decimal import Decimal

from trading.backtest import BacktestConfig, backtest_run
from trading.backtest.synthetic import candles_synthetic
from trading.strategies import strategy_build


def test_ccxts_rounding_side_effect_does_not_change_a_backtest():
    candles = candles_synthetic(20_000, seed=3)
    config = BacktestConfig(initial={"USDT": Decimal(10_000)})
    params = {"timeframe": "1m", "fast": 5, "slow": 60}

    def summary():
        strategy = strategy_build(slug="sma_crossover", symbol="BTC/USDT", params=params)
        return backtest_run(strategy=strategy, candles=candles, config=config).summary()

    with decimal.localcontext(decimal.Context()):  # Python's defaults
        clean = summary()
    with decimal.localcontext() as context:
        # What ccxt's decimal_to_precision does to the calling thread's context.
        context.rounding = decimal.ROUND_HALF_UP
        context.traps[decimal.Underflow] = True
        assert summary() == clean
        assert decimal.getcontext().rounding == decimal.ROUND_HALF_UP  # left as it was
