"""Backtests and bots: a dry-run bot from a run's parameters; a bot's fills against the engine's."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.trading.backtest_helpers import candle_root, run_kwargs, store_synthetic  # noqa: F401
from tests.trading.bot_helpers import make_bot_trader, new_bot
from tests.trading.conftest import paper_key_for
from trading.backtest import BacktestConfig, backtest_run, candles_load
from trading.bots.models import Bot, BotTrade
from trading.services.backtests import backtest_create, backtest_execute
from trading.strategies import strategy_build

PARAMS = {"fast": 5, "slow": 20, "timeframe": "1m"}


@pytest.fixture
def trader(alice, candle_root):  # noqa: F811
    store_synthetic(3000)
    return make_bot_trader(alice)


@pytest.fixture
def run(trader):
    run = backtest_create(user=trader, **run_kwargs(params=PARAMS))
    return backtest_execute(run_id=run.pk)


def test_create_bot_from_a_backtest_carries_strategy_and_params_in_dry_run(client, trader, run):
    key = paper_key_for(trader)
    client.force_login(trader)
    page = client.get(reverse("trading:backtest_detail", args=[run.id])).content.decode()
    url = reverse("trading:backtest_bot_create", args=[run.id])
    assert url in page and "Create bot from this backtest" in page
    form = client.get(url).content.decode()
    assert 'value="BTC/USDT"' in form and "dry-run" in form
    assert 'name="mode"' not in form  # live is a separate, confirmed step on the bot page
    response = client.post(
        url,
        {
            "name": "",
            "key": key.pk,
            "symbol": "BTC/USDT",
            "tick_interval_seconds": "60",
            "max_order_notional": "500",
            "max_position_unit": "quote",
            "max_open_orders": "5",
            "daily_loss_limit": "100",
            "mode": "live",  # ignored: the form has no mode
        },
    )
    bot = Bot.objects.get(user=trader)
    assert response["Location"] == reverse("trading:bot_detail", args=[bot.id])
    assert (bot.strategy, bot.params, bot.mode) == ("sma_crossover", PARAMS, "dry_run")
    assert bot.status == "stopped"


def test_a_viewer_sees_a_backtest_but_cannot_turn_it_into_a_bot(client, bob, candle_root):  # noqa: F811
    store_synthetic(500)
    run = backtest_execute(run_id=backtest_create(user=make_bot_trader(bob), **run_kwargs()).pk)
    bob.user_permissions.clear()  # then became a viewer
    client.force_login(bob)
    page = client.get(reverse("trading:backtest_detail", args=[run.id])).content.decode()
    assert "Your role can view backtests but not run them or bots." in page
    assert reverse("trading:backtest_bot_create", args=[run.id]) not in page
    assert reverse("trading:backtest_new") not in page
    assert client.get(reverse("trading:backtest_bot_create", args=[run.id])).status_code == 403


def test_someone_elses_backtest_cannot_become_my_bot(client, run, charlie):
    client.force_login(make_bot_trader(charlie))
    assert client.get(reverse("trading:backtest_bot_create", args=[run.id])).status_code == 404


def bot_with_fills(trader, *, start_minute=500, shift=Decimal("1.002")):
    """A dry-run SMA bot that 'ran' from a minute of the stored candles, with fills 0.2 % worse."""
    key = paper_key_for(trader)
    bot = new_bot(trader, key, strategy="sma_crossover", params=PARAMS, mode="dry_run")
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=start_minute)
    Bot.objects.filter(pk=bot.pk).update(started_at=start)
    candles = candles_load(exchange="paper", symbol="BTC/USDT", timeframe="1m")
    strategy = strategy_build(slug="sma_crossover", symbol="BTC/USDT", params=PARAMS)
    result = backtest_run(
        strategy=strategy,
        candles=candles.slice(start_minute - 21, len(candles)),
        config=BacktestConfig(initial={"USDT": Decimal(10_000)}),
    )
    fills = [s for s in result.fills if int(result.time[s.bar]) >= start.timestamp() * 1000]
    for seq, sim in enumerate(fills, start=1):
        BotTrade.objects.create(
            bot=bot, tick_seq=seq, ts=sim.fill.time, ref=f"r{seq}", symbol="BTC/USDT",
            side=sim.fill.side, price=sim.fill.price * shift, amount=sim.fill.amount,
            fee=sim.fill.fee, fee_asset=sim.fill.fee_asset, dry_run=True,
        )  # fmt: skip
    return Bot.objects.get(pk=bot.pk), len(fills)


def test_a_bots_fills_are_shown_next_to_the_backtests_trade_by_trade(client, trader):
    bot, count = bot_with_fills(trader)
    assert count > 4
    client.force_login(trader)
    url = reverse("trading:bot_vs_backtest", args=[bot.id])
    page = client.get(url, {"cash": "10000", "fee_rate": "0.001"}).content.decode()
    assert f"<strong>{count}</strong> fills in both" in page
    assert "<strong>0</strong> only in the bot" in page
    assert page.count("0.200 %") == count  # every fill 0.2 % worse than the engine's
    bot_page = client.get(reverse("trading:bot_detail", args=[bot.id])).content.decode()
    assert url in bot_page


def test_without_stored_candles_the_report_offers_to_download_them(client, trader):
    params = {**PARAMS, "timeframe": "1h"}
    key = paper_key_for(trader)
    bot = new_bot(
        trader, key, strategy="sma_crossover", params=params, mode="dry_run", symbol="ETH/USDT"
    )
    client.force_login(trader)
    page = client.get(reverse("trading:bot_vs_backtest", args=[bot.id])).content.decode()
    assert "No 1h candles of ETH/USDT on paper are stored yet." in page
    assert 'name="timeframe" value="1h"' in page


def test_candles_of_another_period_only_still_offer_a_download(client, trader):
    # The stored candles are of 2024; the bot starts now: nothing to replay, not a 500.
    key = paper_key_for(trader)
    bot = new_bot(trader, key, strategy="sma_crossover", params=PARAMS, mode="dry_run")
    client.force_login(trader)
    response = client.get(reverse("trading:bot_vs_backtest", args=[bot.id]), {"cash": "500"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "No 1m candles of BTC/USDT on paper are stored yet for the period the bot ran." in page
    assert 'name="days"' in page and "Download" in page


def test_an_outsider_cannot_see_a_bots_report(client, trader, charlie):
    bot, _ = bot_with_fills(trader)
    client.force_login(charlie)
    assert client.get(reverse("trading:bot_vs_backtest", args=[bot.id])).status_code == 404


def test_the_new_bot_form_suggests_a_trading_key_on_the_backtests_exchange(client, trader, run):
    from tests.vault_helpers import connect

    connect(trader, label="A binance read key")  # sorts first by label, on another exchange
    paper = {"exchange": "paper", "ip_whitelist": [], "secret": "PAPERsecret0123456789abc"}
    connect(trader, label="B paper read", api_key="PAPERread0123456789abcdef", **paper)
    trading = connect(
        trader,
        label="C paper trading",
        api_key="PAPERtrade0123456789abcd",
        scope_trade=True,
        **paper,
    )
    client.force_login(trader)
    form = client.get(reverse("trading:backtest_bot_create", args=[run.id])).content.decode()
    assert f'<option value="{trading.pk}" selected>' in form
