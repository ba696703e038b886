"""Each built-in strategy run by the bot engine on scripted paper-exchange prices."""

from decimal import Decimal

import pytest

from paper.models import PaperOrder
from paper.services.controls import price_set
from tests.paper.helpers import pin_market
from tests.trading.bot_helpers import (
    make_bot_trader,
    minutes_pass,
    new_bot,
    send_orders,
    started,
    tick,
)
from tests.trading.conftest import paper_key_for
from trading.bots.models import BotTrade
from trading.models import OrderIntent

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderIntent.Status


@pytest.fixture
def bot_trader(alice):
    return make_bot_trader(alice)


@pytest.fixture
def live_key(bot_trader, paper_url, paper_key, settings):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    settings.BOTS_MARKET_DATA_SECONDS = 0.001  # every tick sees fresh prices
    settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 100
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=bot_trader)
    return paper_key_for(bot_trader, api_key=api_key, secret=secret)


def test_dca_buys_at_market_every_interval_through_the_exchange(bot_trader, live_key):
    bot = started(
        new_bot(
            bot_trader,
            live_key,
            strategy="dca",
            params={"quote_amount": "100", "interval_minutes": 1},
        ),
        bot_trader,
    )
    tick(bot)
    first = send_orders(bot)
    assert [(i.side, i.type, i.status) for i in first] == [("buy", "market", S.FILLED)]
    assert Decimal("0.00199") < first[0].amount <= Decimal("0.002")  # 100 USDT at the ask
    tick(bot)  # same minute: nothing new
    assert OrderIntent.objects.filter(bot=bot).count() == 1
    minutes_pass(1)
    bot = tick(bot)
    assert len(send_orders(bot)) == 1
    bot = tick(bot)
    assert PaperOrder.objects.filter(client_order_id__startswith="kt").count() == 2
    trades = BotTrade.objects.filter(bot=bot, dry_run=False)
    assert trades.count() == 2
    assert Decimal(bot.book["BTC/USDT"]["pos"]) == sum(t.amount for t in trades)
    assert bot.fees_quote > 0


def test_grid_rests_orders_and_replaces_the_opposite_one_after_a_fill(bot_trader, live_key):
    params = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}
    bot = started(new_bot(bot_trader, live_key, strategy="grid", params=params), bot_trader)
    bot = tick(bot)
    resting = send_orders(bot)
    assert {(i.side, i.price) for i in resting} >= {
        ("buy", Decimal("49500")),
        ("sell", Decimal("50500")),
    }
    assert all(i.status == S.OPEN for i in resting)
    price_set(symbol="BTCUSDT", price="49400")  # trades through the 49,500 buy
    bot = tick(bot)
    filled = OrderIntent.objects.get(bot=bot, side="buy", price=Decimal("49500"))
    assert filled.status == S.FILLED
    assert BotTrade.objects.filter(bot=bot, side="buy", price=Decimal("49500")).count() == 1
    replacement = send_orders(bot)
    assert [(i.side, i.price, i.status) for i in replacement] == [
        ("sell", Decimal("50000"), S.OPEN)
    ]
    assert PaperOrder.objects.filter(client_order_id=replacement[0].client_order_id).count() == 1


def test_rebalance_in_dry_run_trades_back_to_its_weights_and_sends_nothing(bot_trader, live_key):
    params = {"weights": "BTC:0.5, USDT:0.5", "threshold_pct": "5", "interval_minutes": 0}
    bot = new_bot(
        bot_trader,
        live_key,
        strategy="rebalance",
        params=params,
        mode="dry_run",
        max_order_notional=Decimal("10000"),
    )
    bot = tick(started(bot, bot_trader))  # funds from the key: 10,000 USDT and 0.5 BTC
    balances = {asset: Decimal(v) for asset, v in bot.sim["balances"].items()}
    assert balances == {"BTC": Decimal("0.5"), "USDT": Decimal("10000")}
    [order] = bot.sim["orders"].values()
    assert (order["side"], order["type"]) == ("sell", "market")
    bot = tick(bot)  # the simulated market order fills at this tick's price
    btc, usdt = Decimal(bot.sim["balances"]["BTC"]), Decimal(bot.sim["balances"]["USDT"])
    assert abs(btc * 50000 - usdt) / (btc * 50000 + usdt) < Decimal("0.01")
    assert BotTrade.objects.get(bot=bot).dry_run is True
    assert not OrderIntent.objects.filter(bot=bot).exists()
    assert not PaperOrder.objects.exists()


def test_market_making_quotes_both_sides_and_requotes_after_a_fill(bot_trader, live_key):
    params = {
        "spread_pct": "0.2",
        "amount": "0.01",
        "max_inventory": "1",
        "skew_pct": "0.1",
        "refresh_seconds": 3600,
    }
    bot = new_bot(bot_trader, live_key, strategy="market_making", params=params, mode="dry_run")
    bot = tick(started(bot, bot_trader))
    quotes = {o["side"]: Decimal(o["price"]) for o in bot.sim["orders"].values()}
    assert quotes["buy"] < Decimal(50000) < quotes["sell"]
    price_set(symbol="BTCUSDT", price="49900")
    bot = tick(bot)
    fill = BotTrade.objects.get(bot=bot)
    # The price gapped through the bid: the backtest broker's rule fills at the better price.
    assert (fill.side, fill.price) == ("buy", Decimal(49900))
    requoted = {o["side"]: Decimal(o["price"]) for o in bot.sim["orders"].values()}
    assert requoted["buy"] < Decimal(49900) < requoted["sell"]


def test_sma_crossover_sells_on_the_dead_cross_and_buys_on_the_golden_cross(bot_trader, live_key):
    from paper.services.controls import price_path

    params = {"fast": 2, "slow": 4, "timeframe": "1m"}
    bot = new_bot(
        bot_trader,
        live_key,
        strategy="sma_crossover",
        params=params,
        mode="dry_run",
        max_order_notional=Decimal("100000"),
    )
    bot = started(bot, bot_trader)  # starts long: 0.5 BTC is worth more than 10,000 USDT
    up, down, up_again = Decimal(51000), Decimal(48000), Decimal(52000)
    price_path(symbol="BTCUSDT", points=[(0, Decimal(50000)), (4, up), (10, down), (16, up_again)])
    for _ in range(18):
        minutes_pass(1)
        bot = tick(bot)
    fills = list(BotTrade.objects.filter(bot=bot).order_by("ts", "id"))
    assert [f.side for f in fills] == ["sell", "buy"]
    assert fills[0].amount == Decimal("0.5")  # everything it held
    assert down <= fills[0].price < up and down < fills[1].price <= up_again
    assert Decimal(bot.sim["balances"]["BTC"]) > 0 and Decimal(bot.sim["balances"]["USDT"]) < 1
