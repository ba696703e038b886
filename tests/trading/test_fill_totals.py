"""Daily fill totals stay equal to the fills they sum, however fills arrive."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from tests.trading.conftest import paper_key_for
from trading.exchange.types import Trade
from trading.models import Fill, FillDailyTotal
from trading.services.fill_totals import fill_totals_rebuild
from trading.services.ledger import fills_record

pytestmark = pytest.mark.django_db


def trade(n: int, day: int, *, side="buy", price="100", amount="2", fee="0.2") -> Trade:
    return Trade(
        id=str(n),
        order_id="1",
        symbol="BTC/USDT",
        side=side,
        price=Decimal(price),
        amount=Decimal(amount),
        cost=Decimal(price) * Decimal(amount),
        fee=Decimal(fee),
        fee_currency="USDT",
        taker_or_maker="taker",
        timestamp=datetime(2026, 3, day, 23, 59, tzinfo=UTC),
    )


def totals(key):
    return {
        (t.day.day, t.side): (t.count, t.amount, t.cost, t.fee)
        for t in FillDailyTotal.objects.filter(key=key)
    }


def test_recording_fills_keeps_the_daily_totals(trader):
    key = paper_key_for(trader)
    fills_record(key=key, trades=[trade(1, 1), trade(2, 1), trade(3, 2, side="sell")])
    assert totals(key) == {
        (1, "buy"): (2, Decimal("4"), Decimal("400"), Decimal("0.4")),
        (2, "sell"): (1, Decimal("2"), Decimal("200"), Decimal("0.2")),
    }
    # The same trades again (a repeated sync) change nothing; a new one adds to its day only.
    fills_record(key=key, trades=[trade(1, 1), trade(2, 1), trade(4, 2, side="sell")])
    assert totals(key)[(1, "buy")][0] == 2 and totals(key)[(2, "sell")][0] == 2


def test_a_rebuild_repairs_totals_and_matches_the_fills(trader):
    key = paper_key_for(trader)
    fills_record(key=key, trades=[trade(n, 1 + n % 3) for n in range(1, 30)])
    FillDailyTotal.objects.filter(key=key).update(count=0, amount=0)  # damage them
    fill_totals_rebuild(key_id=key.pk)
    summed = FillDailyTotal.objects.filter(key=key).aggregate(n=Sum("count"), a=Sum("amount"))
    assert summed == {
        "n": Fill.objects.filter(key=key).count(),
        "a": Fill.objects.filter(key=key).aggregate(a=Sum("amount"))["a"],
    }
