"""The pages cost a fixed number of queries: 1,000 fills cost what 10 do."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.trading.factories import (
    BalanceFactory,
    CandleFactory,
    MarketPriceFactory,
    OrderFactory,
)
from tests.trading.pages import login
from trading.models import Fill
from trading.services.fill_totals import fill_totals_rebuild

pytestmark = pytest.mark.django_db
MAX_QUERIES = 16
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC")


def add_fills(key, count: int, start: int) -> None:
    now = timezone.now()
    Fill.objects.bulk_create(
        Fill(
            key=key,
            trade_id=str(start + i),
            exchange_order_id=str(i // 3),
            symbol=SYMBOLS[i % len(SYMBOLS)],
            side="buy" if i % 2 else "sell",
            price=Decimal("100") + i,
            amount=Decimal("0.5"),
            cost=(Decimal("100") + i) / 2,
            fee=Decimal("0.05"),
            fee_currency="USDT" if i % 3 else "BNB",
            executed_at=now - timedelta(seconds=i),
        )
        for i in range(count)
    )
    fill_totals_rebuild(key_id=key.pk)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/overview/live/",
        "/overview/balances/",
        "/orders/",
        "/fills/",
        "/fills/?symbol=BTC/USDT&side=buy",
        "/fills/?page=2",
        "/fills/live/",
        "MARKET",
        "CANDLES",
    ],
)
def test_query_count_does_not_grow_with_fills(
    trader, alice_key, url, django_assert_max_num_queries
):
    url = {
        "MARKET": f"/market/{alice_key.pk}/BTC-USDT/",
        "CANDLES": f"/market/{alice_key.pk}/BTC-USDT/candles.json",
    }.get(url, url)
    for asset in ("USDT", "BTC", "ETH", "SOL"):
        BalanceFactory(key=alice_key, asset=asset)
        MarketPriceFactory(symbol=f"{asset}/USDT", last=Decimal("10"))
    for i in range(5):
        OrderFactory(key=alice_key, symbol=SYMBOLS[i % len(SYMBOLS)])
        CandleFactory(opened_at=timezone.now() - timedelta(hours=i))
    client = login(trader)
    add_fills(alice_key, 10, start=0)
    small = queries(client, url)
    add_fills(alice_key, 990, start=10_000)  # 1,000 in all
    with django_assert_max_num_queries(MAX_QUERIES):
        large = queries(client, url)
    assert large == small, f"{url}: {small} queries with 10 fills, {large} with 1,000"
