"""What traders read on bot and backtest pages: names not slugs, plain decimals, legible charts."""

from decimal import Decimal

from trading.services.backtest_reports import MARKERS_WITH_PRICE, _markers
from trading.templatetags.bot_format import normalize, rate_percent, strategy_name


def test_a_strategy_shows_by_its_name_not_its_slug():
    assert strategy_name("sma_crossover") == "SMA crossover"
    assert strategy_name("dca") == "DCA"
    assert strategy_name("gone_strategy") == "gone_strategy"


def test_decimals_show_without_database_padding():
    assert normalize(Decimal("0.100000000000000000")) == "0.1"
    assert normalize(Decimal("50000.000000000000000000")) == "50000"
    assert normalize(Decimal("1E+2")) == "100"
    assert normalize(None) == ""


def test_fee_and_slippage_fractions_read_as_percentages():
    assert rate_percent(Decimal("0.001000000000000000")) == "0.1 %"
    assert rate_percent(Decimal("0.00075")) == "0.075 %"
    assert rate_percent(Decimal("0")) == "0 %"


def fill(minute, side, price="99.7400000000000000"):
    return {"ms": minute * 60_000, "side": side, "price": price}


def test_a_quiet_run_labels_each_marker_with_its_plain_price():
    markers = _markers([fill(1, "buy"), fill(5, "sell", "101.5")], 60_000)
    assert [m["text"] for m in markers] == ["B 99.74", "S 101.5"]


def test_a_busy_run_labels_markers_with_the_side_only_so_the_chart_stays_readable():
    fills = [fill(i, "buy" if i % 2 else "sell") for i in range(MARKERS_WITH_PRICE + 1)]
    texts = {m["text"] for m in _markers(fills, 60_000)}
    assert texts == {"B", "S"}


def test_several_fills_in_one_bar_show_as_a_count():
    markers = _markers([fill(1, "buy"), fill(1, "buy"), fill(1, "buy")], 60_000)
    assert [m["text"] for m in markers] == ["B×3"]
