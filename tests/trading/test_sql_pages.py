"""trading.sql_pages's hand-written reads return exactly what the ORM expressions they replace do.

Each statement is compared with its ORM expression on the same rows (two users, two keys
each side, several days, nullable fields empty and set), value by value and in order; the
comparison is of repr()s, so a Decimal's exponent or a datetime's zone must match too.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.trading.conftest import make_trader
from tests.trading.factories import (
    BalanceFactory,
    FillFactory,
    MarketInfoFactory,
    MarketPriceFactory,
    OrderFactory,
)
from tests.vault_helpers import connect
from trading import sql_pages as sql
from trading.models import (
    Balance,
    Fill,
    FillDailyTotal,
    MarketInfo,
    MarketPrice,
    Order,
    OrderIntent,
)
from trading.selectors import fill_time_bounds, fills_for_user, open_orders_for_user
from trading.selectors_dashboard import pending_intents_for_user

pytestmark = pytest.mark.django_db
KEY = ("key__label", "key__exchange")


def same(actual, expected):
    assert [[repr(v) for v in row] for row in actual] == [
        [repr(v) for v in row] for row in expected
    ]
    return True


@pytest.fixture
def data(alice, bob):
    alice, bob = make_trader(alice), make_trader(bob)
    now = timezone.now()
    keys = {
        "a1": connect(alice, exchange="paper", label="A paper", api_key="A1" + "k" * 20),
        "a2": connect(alice, exchange="binance", label="B main", api_key="A2" + "k" * 20),
        "b1": connect(bob, exchange="paper", label="Bob", api_key="B1" + "k" * 20),
    }
    symbols = ("BTC/USDT", "ETH/USDT", "ETH/BTC")
    for n, key in enumerate(keys.values()):
        for i in range(24):
            FillFactory(
                key=key,
                symbol=symbols[i % 3],
                side="buy" if i % 2 else "sell",
                price=Decimal("20000.5") + i * n,
                amount=Decimal("0.0125") * (i + 1),
                fee=None if i % 7 == 0 else Decimal("0.00012345"),
                fee_currency="" if i % 5 == 0 else ("BNB" if i % 3 else "USDT"),
                executed_at=now - timedelta(hours=5 * i + n),
            )
        for i in range(6):
            OrderFactory(
                key=key,
                symbol=symbols[i % 3],
                status=Order.Status.OPEN if i % 3 else Order.Status.CLOSED,
                type="limit" if i % 2 else "market",
                price=None if i == 5 else Decimal("19999.99") - i,
                placed_at=now - timedelta(minutes=i * 7 + n),
            )
            OrderIntent.objects.create(
                user=key.user,
                key=key,
                symbol=symbols[i % 3],
                side="buy",
                type="limit",
                amount="0.01",
                price="100.5",
                kind=OrderIntent.Kind.PLACE if i % 2 else OrderIntent.Kind.CANCEL,
                status=(OrderIntent.Status.NEW, OrderIntent.Status.UNKNOWN)[i % 2]
                if i < 4
                else OrderIntent.Status.FILLED,
            )
        for asset in ("USDT", "BTC", "ETH"):
            BalanceFactory(key=key, asset=asset, free=Decimal("1.5"), used=Decimal("0.25"))
    for exchange in ("paper", "binance"):
        MarketPriceFactory(exchange=exchange, symbol="BTC/USDT", last=Decimal("30000.1"))
        MarketPriceFactory(exchange=exchange, symbol="USDT/ETH", last=None, bid=Decimal("1"))
    MarketInfoFactory(symbol="BTC/USDT")
    MarketInfoFactory(symbol="ETH/BTC", price_decimals=None, amount_decimals=4)
    return {"alice": alice, "bob": bob, "now": now, **keys}


def test_open_order_rows_are_the_orm_values(data):
    for user in (data["alice"], data["bob"]):
        for limit in (3, 20):
            expected = open_orders_for_user(user=user)[:limit].values_list(*sql.ORDER_COLUMNS, *KEY)
            assert same(sql.open_order_rows(user_id=user.pk, limit=limit), expected)


def test_fill_rows_since_are_the_orm_values(data):
    midnight = data["now"].replace(hour=0, minute=0, second=0, microsecond=0)
    for user in (data["alice"], data["bob"]):
        for since, limit in ((midnight, 20), (data["now"] - timedelta(days=2), 7)):
            expected = fills_for_user(user=user, date_from=since)[:limit].values_list(
                *sql.FILL_COLUMNS, *KEY
            )
            assert same(sql.fill_rows_since(user_id=user.pk, since=since, limit=limit), expected)


def test_fill_rows_by_ids_are_the_orm_values(data):
    ids = list(Fill.objects.order_by("?").values_list("pk", flat=True)[:30])
    expected = (
        Fill.objects.filter(pk__in=ids)
        .order_by("-executed_at", "-pk")
        .values_list(*sql.FILL_COLUMNS, *KEY)
    )
    assert same(sql.fill_rows_by_ids(ids=ids), expected)
    assert sql.fill_rows_by_ids(ids=[]) == []


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"symbol": "eth/usdt"},
        {"side": "buy"},
        {"symbol": "BTC/USDT", "side": "sell", "date_from": -2},
        {"date_to": -1},
        {"before": "DAY"},
    ],
)
def test_fill_page_ids_are_the_orm_page(data, filters):
    filters = dict(filters)
    before_day = filters.pop("before", None)
    today = timezone.now().date()
    date_from, date_to = (filters.pop(name, None) for name in ("date_from", "date_to"))
    since, before = fill_time_bounds(
        date_from and today + timedelta(days=date_from), date_to and today + timedelta(days=date_to)
    )
    if before_day:
        before = data["now"] - timedelta(days=1)
    for user, key in (
        (data["alice"], data["a1"]),
        (data["alice"], data["a2"]),
        (data["bob"], data["b1"]),
    ):
        rows = fills_for_user(user=user, key_id=key.pk, **filters)
        if since:
            rows = rows.filter(executed_at__gte=since)
        if before:
            rows = rows.filter(executed_at__lt=before)
        for offset, limit in ((0, 5), (3, 4), (20, 50), (5, 0)):
            expected = rows.values_list("executed_at", "pk")[offset : offset + limit]
            actual = sql.fill_page_ids(
                user_id=user.pk,
                key_id=key.pk,
                offset=offset,
                limit=limit,
                since=since,
                before=before,
                **filters,
            )
            assert same(actual, expected)
            ids = sql.fill_page_ids(
                user_id=user.pk,
                key_id=key.pk,
                offset=offset,
                limit=limit,
                since=since,
                before=before,
                times=False,
                **filters,
            )
            flat = rows.values_list("pk", flat=True)[offset : offset + limit]
            assert [repr(pk) for pk in ids] == [repr(pk) for pk in flat]
    # Another user's key reads nothing.
    assert sql.fill_page_ids(user_id=data["bob"].pk, key_id=data["a1"].pk, offset=0, limit=9) == []


def test_market_decimal_rows_are_the_orm_values(data):
    exchanges, symbols = ["binance", "paper"], ["BTC/USDT", "ETH/BTC", "SOL/USDT"]
    expected = MarketInfo.objects.filter(exchange__in=exchanges, symbol__in=symbols).values_list(
        "exchange", "symbol", "price_decimals", "amount_decimals"
    )
    actual = sql.market_decimal_rows(exchanges=exchanges, symbols=symbols)
    assert same(sorted(actual), sorted(expected))
    assert sql.market_decimal_rows(exchanges=[], symbols=symbols) == []


def _daily(user, key_id=None, symbol=None, side=None, date_from=None, date_to=None):
    rows = FillDailyTotal.objects.filter(key__user=user)
    if key_id:
        rows = rows.filter(key_id=key_id)
    if symbol:
        rows = rows.filter(symbol=symbol.upper())
    if side:
        rows = rows.filter(side=side)
    if date_from:
        rows = rows.filter(day__gte=date_from)
    if date_to:
        rows = rows.filter(day__lte=date_to)
    return rows.order_by()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"key_id": "a2"},
        {"symbol": "eth/btc", "side": "buy"},
        {"date_from": "-2", "date_to": "-1"},
    ],
)
def test_daily_totals_and_day_counts_are_the_orm_aggregates(data, filters):
    today = timezone.now().date()
    filters = dict(filters)
    if "key_id" in filters:
        filters["key_id"] = data[filters["key_id"]].pk
    for name in ("date_from", "date_to"):
        if name in filters:
            filters[name] = today + timedelta(days=int(filters[name]))
    for user in (data["alice"], data["bob"]):
        rows = _daily(user, **filters)
        per_symbol = list(
            rows.values("symbol", "side")
            .annotate(amount=Sum("amount"), cost=Sum("cost"), count=Sum("count"))
            .order_by("symbol", "side")
        )
        fees = list(
            rows.exclude(fee_currency="")
            .values("fee_currency")
            .annotate(fee=Sum("fee"))
            .order_by("fee_currency")
        )
        days = rows.values_list("day").annotate(n=Sum("count")).order_by("-day")
        actual_per_symbol, actual_fees = sql.fill_totals_rows(user_id=user.pk, **filters)
        assert repr(actual_per_symbol) == repr(per_symbol)
        assert repr(actual_fees) == repr(fees)
        assert same(sql.fill_day_count_rows(user_id=user.pk, **filters), days)
        if user == data["alice"]:
            assert per_symbol and days  # each case has rows to compare


def test_pending_intent_rows_are_the_orm_values(data):
    for user in (data["alice"], data["bob"]):
        expected = (
            OrderIntent.objects.filter(user=user, status__in=OrderIntent.UNFINISHED)
            .order_by("-created_at")[:20]
            .values_list(*sql.PENDING_COLUMNS, *KEY)
        )
        assert len(expected) == 8 if user == data["alice"] else 4
        assert same(sql.pending_intent_rows(user_id=user.pk, limit=20), expected)


def test_pending_intents_show_the_models_labels(data):
    rows = pending_intents_for_user(user=data["alice"])
    intents = {i.pk: i for i in OrderIntent.objects.filter(user=data["alice"])}
    assert rows
    for row in rows:
        intent = intents[row.pk]
        assert row.get_kind_display == intent.get_kind_display()
        assert row.get_status_display == intent.get_status_display()
        assert (row.key.label, row.key.exchange) == (intent.key.label, intent.key.exchange)


def test_balances_and_prices_are_the_orm_instances(data):
    fields = [f.attname for f in Balance._meta.concrete_fields]
    for user in (data["alice"], data["bob"]):
        expected = Balance.objects.filter(key__user=user).order_by("key__label", "key_id", "asset")
        actual = sql.balances_of_user(user_id=user.pk)
        assert all(not b.get_deferred_fields() and not b._state.adding for b in actual)
        assert same(
            [[getattr(b, f) for f in fields] for b in actual],
            [[getattr(b, f) for f in fields] for b in expected],
        )
    names = ("id", "exchange", "symbol", "last", "bid", "ask", "fetched_at")
    exchanges, symbols = ["paper", "binance"], ["BTC/USDT", "USDT/ETH", "SOL/USDT"]
    expected = MarketPrice.objects.filter(exchange__in=exchanges, symbol__in=symbols).only(*names)
    actual = sql.market_prices(exchanges=exchanges, symbols=symbols)
    assert len(actual) == 4
    assert same(
        sorted([getattr(p, n) for n in names] for p in actual),
        sorted([getattr(p, n) for n in names] for p in expected),
    )
    assert {frozenset(p.get_deferred_fields()) for p in actual} == {
        frozenset(p.get_deferred_fields()) for p in expected
    }
    assert all(not p._state.adding and p._state.db == "default" for p in actual)
