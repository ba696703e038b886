"""Stored candles: merged without duplicates, gaps reported, a million loaded in well under 1 s."""

import time

import numpy as np
import pytest

from trading.backtest.candles import (
    candles_load,
    candles_resample,
    candles_series_info,
    candles_series_list,
    candles_store,
)
from trading.backtest.synthetic import candles_synthetic

MINUTE = 60_000
T0 = 1_704_067_200_000


def row(minute, close=100.0):
    return [T0 + minute * MINUTE, close, close + 1, close - 1, close, 5.0]


def store(tmp_path, rows, timeframe="1m"):
    return candles_store(
        exchange="paper", symbol="BTC/USDT", timeframe=timeframe, rows=rows, root=tmp_path
    )


def load(tmp_path, **kwargs):
    return candles_load(
        exchange="paper", symbol="BTC/USDT", timeframe="1m", root=tmp_path, **kwargs
    )


def test_storing_overlapping_downloads_keeps_one_candle_per_time_the_newest_winning(tmp_path):
    first = store(tmp_path, [row(0), row(1), row(2, close=100.0)])
    assert (first.added, first.duplicates, first.total) == (3, 0, 3)
    # A resumed download repeats the last bar, which was still open the first time.
    second = store(tmp_path, [row(2, close=101.5), row(3), row(4)])
    assert (second.added, second.duplicates, second.total) == (2, 1, 5)
    candles = load(tmp_path)
    assert candles.time.tolist() == [T0 + m * MINUTE for m in range(5)]
    assert candles.close[2] == 101.5


def test_gaps_are_reported_with_the_first_missing_time_and_how_many_bars(tmp_path):
    report = store(tmp_path, [row(0), row(1), row(5), row(6), row(9)])
    assert report.gaps == [(T0 + 2 * MINUTE, 3), (T0 + 7 * MINUTE, 2)]
    assert store(tmp_path, [row(m) for m in (2, 3, 4, 7, 8)]).gaps == []


def test_rows_out_of_order_are_sorted_and_misaligned_times_refused(tmp_path):
    store(tmp_path, [row(3), row(1), row(2)])
    assert load(tmp_path).time.tolist() == [T0 + m * MINUTE for m in (1, 2, 3)]
    with pytest.raises(ValueError, match="not aligned"):
        store(tmp_path, [[T0 + 30_000, 1, 1, 1, 1, 1]])


def test_loading_a_time_range_and_listing_series(tmp_path):
    store(tmp_path, [row(m) for m in range(10)])
    part = load(tmp_path, since_ms=T0 + 2 * MINUTE, until_ms=T0 + 5 * MINUTE)
    assert part.time.tolist() == [T0 + m * MINUTE for m in (2, 3, 4)]
    (series,) = candles_series_list(root=tmp_path)
    assert series["symbol"] == "BTC/USDT" and series["count"] == 10
    assert series["first_ms"] == T0 and series["gaps"] == []


def test_a_million_candles_load_in_well_under_a_second(tmp_path):
    candles = candles_synthetic(1_000_000)
    rows = np.column_stack(candles.columns()).astype(np.float64)
    store(tmp_path, rows)
    started = time.perf_counter()
    loaded = load(tmp_path)
    elapsed = time.perf_counter() - started
    assert len(loaded) == 1_000_000
    np.testing.assert_array_equal(loaded.close, candles.close)
    np.testing.assert_array_equal(loaded.time, candles.time)
    assert elapsed < 0.5


def test_minute_candles_resample_into_hours():
    candles = candles_synthetic(150)
    hours = candles_resample(candles, "1h")
    assert hours.time.tolist() == [candles.time[0] + h * 3_600_000 for h in range(3)]
    assert hours.open[1] == candles.open[60] and hours.close[1] == candles.close[119]
    assert hours.high[0] == candles.high[:60].max() and hours.low[2] == candles.low[120:].min()
    assert hours.volume[1] == pytest.approx(candles.volume[60:120].sum())


def test_series_info_tells_a_resumed_download_where_to_start(tmp_path):
    assert (
        candles_series_info(exchange="paper", symbol="BTC/USDT", timeframe="1m", root=tmp_path)
        is None
    )
    store(tmp_path, [row(0), row(1), row(4)])
    info = candles_series_info(exchange="paper", symbol="BTC/USDT", timeframe="1m", root=tmp_path)
    assert (info["count"], info["last_ms"], info["gaps"]) == (
        3,
        T0 + 4 * MINUTE,
        [[T0 + 2 * MINUTE, 2]],
    )
