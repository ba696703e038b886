"""Which object each URL argument names, and how to build one for a given owner.

`OWNED` maps (route text before the argument, argument name) to a factory. A route that takes
an object id not listed here fails the object-access spec: whoever adds the URL adds its
factory, and the spec then proves that another user gets 404 for it.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from accounts.models import ExchangeKey, Notification
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create
from tests.trading.conftest import paper_key_for
from tests.trading.factories import OrderFactory
from trading.models import Order

# URL arguments that are not object ids, with a value that resolves for any owner.
NOT_IDS = {"symbol": "BTC-USDT"}

# Parts of the URLconf whose ids are not user-owned rows reached through a session:
ALLOWED_ELSEWHERE = {
    # Django admin: staff-only, Django's own per-model permissions (tests/accounts/test_admin_*).
    "admin/": "staff-only, Django admin permissions",
    # allauth: its only arguments are one-time tokens (email confirmation, password reset).
    "accounts/": "allauth one-time tokens, no object ids",
    # The paper exchange's Binance API is authenticated by API key, not by session; its
    # per-key scoping is specified in tests/paper/.
    "paper/api/": "API-key authenticated Binance dialect",
    "paper/sapi/": "API-key authenticated Binance dialect",
}


def exchange_key(owner) -> ExchangeKey:
    return paper_key_for(owner, api_key=f"SEC{uuid.uuid4().hex}")


def order(owner) -> Order:
    key = ExchangeKey.objects.filter(user=owner).first() or exchange_key(owner)
    return OrderFactory(key=key, price=Decimal("20000"), amount=Decimal("0.01"))


def notification(owner) -> Notification:
    return Notification.objects.create(
        user=owner, kind=Notification.Kind.ORDER_ALERT, title="Heads up", link="/orders/"
    )


def paper_key(owner):
    key, _secret = key_create(
        account=account_get_or_create(user=owner),
        label="mine",
        can_trade=True,
        can_withdraw=False,
        ip_whitelist=[],
        expires_at=None,
    )
    return key


_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _job(owner) -> dict:
    return {
        "user": owner,
        "exchange": "paper",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "since": _T0,
        "until": _T0 + timedelta(days=1),
    }


def _costs() -> dict:
    return {"fee_rate": Decimal("0.001"), "slippage": Decimal("0"), "starting_cash": Decimal("1e4")}


def bot(owner):
    from trading.services.bots import bot_create

    return bot_create(
        user=owner,
        key=exchange_key(owner),
        name="Mine",
        symbol="BTC/USDT",
        strategy="dca",
        params={},
        mode="dry_run",
        max_order_notional=Decimal("100"),
        daily_loss_limit=Decimal("0"),
        max_open_orders=5,
    )


def backtest_run(owner):
    """A finished run: each of its pages exists (only a finished run can become a bot)."""
    from trading.backtest_models import BacktestRun

    return BacktestRun.objects.create(
        **_job(owner),
        **_costs(),
        strategy="dca",
        params={},
        status=BacktestRun.Status.DONE,
        progress=100,
        finished_at=_T0 + timedelta(days=2),
        result={"summary": {}, "trades": [], "fills": [], "equity": []},
    )


def sweep_run(owner):
    from trading.backtest_models import SweepRun

    return SweepRun.objects.create(**_job(owner), **_costs(), strategy="dca", grid={})


def candle_download(owner):
    from trading.backtest_models import CandleDownload

    return CandleDownload.objects.create(**_job(owner))


# Bots and backtests import lazily: their factories only run once their URLs exist.
OWNED = {
    ("bots/", "id"): (bot, "id"),
    ("backtests/", "id"): (backtest_run, "id"),
    ("backtests/sweeps/", "id"): (sweep_run, "id"),
    ("candles/downloads/", "id"): (candle_download, "id"),
    ("keys/", "id"): (exchange_key, "id"),
    ("market/", "key_id"): (exchange_key, "id"),
    ("orders/", "id"): (order, "id"),
    ("notifications/", "id"): (notification, "id"),
    ("paper/keys/", "public_id"): (paper_key, "public_id"),
}


def is_allowed_elsewhere(route) -> bool:
    return route.route.startswith(tuple(ALLOWED_ELSEWHERE))


def build_url(route, owner):
    """Create the objects the route names, owned by `owner`; return (url, objects).

    Raises LookupError naming the argument when the registry cannot fill it.
    """
    values, objects = {}, []
    for kwarg in route.kwargs:
        if kwarg in NOT_IDS:
            values[kwarg] = NOT_IDS[kwarg]
            continue
        entry = OWNED.get((route.prefix_of(kwarg), kwarg))
        if entry is None:
            raise LookupError(
                f"{route}: no factory for <{kwarg}> after {route.prefix_of(kwarg)!r}; "
                "add one to tests/security/objects.py OWNED"
            )
        factory, attribute = entry
        obj = factory(owner)
        objects.append(obj)
        values[kwarg] = getattr(obj, attribute)
    return route.url(**values), objects
