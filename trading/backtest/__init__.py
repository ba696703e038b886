"""Backtesting: stored candles, the bots' own strategies replayed without look-ahead, results."""
