"""A bot's P&L book (pure): average cost per symbol, realized on reductions, fees in quote."""

from decimal import Decimal as D

from trading.bots.chart import sparkline
from trading.bots.pnl import PnlBook
from trading.bots.risk import RiskLimits, daily_loss_breached


def test_buys_average_and_a_sale_realizes_against_the_average_cost():
    book = PnlBook()
    book.apply(symbol="BTC/USDT", side="buy", price=D(100), amount=D(1), fee_quote=D("0.1"))
    book.apply(symbol="BTC/USDT", side="buy", price=D(200), amount=D(1), fee_quote=D("0.2"))
    book.apply(symbol="BTC/USDT", side="sell", price=D(180), amount=D(1), fee_quote=D("0.18"))
    assert book.realized == D(30)  # sold one at 180 against an average of 150
    assert book.fees == D("0.48")
    assert book.position("BTC/USDT") == D(1)
    assert book.unrealized({"BTC/USDT": D(160)}) == D(10)


def test_selling_more_than_it_bought_goes_short_against_its_starting_holdings():
    book = PnlBook()
    book.apply(symbol="ETH/USDT", side="buy", price=D(10), amount=D(1), fee_quote=D(0))
    book.apply(symbol="ETH/USDT", side="sell", price=D(12), amount=D(3), fee_quote=D(0))
    assert book.realized == D(2)
    assert book.position("ETH/USDT") == D(-2)
    assert book.unrealized({"ETH/USDT": D(13)}) == D(-2)  # the price rose after it sold


def test_the_book_survives_a_round_trip_through_json():
    book = PnlBook()
    book.apply(symbol="BTC/USDT", side="buy", price=D("50000.5"), amount=D("0.01"), fee_quote=D(0))
    again = PnlBook.from_json(book.to_json(), realized=book.realized, fees=book.fees)
    assert again.positions == book.positions


def test_the_daily_loss_limit_is_inclusive_and_zero_means_off():
    limits = RiskLimits(D(100), None, True, 10, daily_loss_limit=D(50))
    assert daily_loss_breached(limits, day_pnl=D(-50))
    assert not daily_loss_breached(limits, day_pnl=D("-49.99"))
    off = RiskLimits(D(100), None, True, 10, daily_loss_limit=D(0))
    assert not daily_loss_breached(off, day_pnl=D(-1000))


def test_the_sparkline_scales_into_its_box_and_marks_zero():
    line = sparkline([D(-10), D(0), D(10)], width=100, height=50)
    xs_ys = [tuple(map(float, p.split(","))) for p in line.points.split()]
    assert xs_ys[0] == (4.0, 46.0) and xs_ys[-1] == (96.0, 4.0)
    assert line.zero_y == 25.0
    assert sparkline([D(1)]) is None
