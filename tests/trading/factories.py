"""factory_boy factories for dashboard page tests: exchange data rows created directly."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from trading.models import (
    Balance,
    Candle,
    Fill,
    MarketInfo,
    MarketPrice,
    Order,
    OrderBookSnapshot,
)
from trading.services.fill_totals import fill_day, fill_totals_rebuild


class BalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Balance

    asset = "USDT"
    free = Decimal("1000")
    used = Decimal("0")
    total = factory.LazyAttribute(lambda o: o.free + o.used)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    exchange_order_id = factory.Sequence(lambda n: str(100000 + n))
    symbol = "BTC/USDT"
    side = "buy"
    type = "limit"
    status = Order.Status.OPEN
    price = Decimal("20000")
    amount = Decimal("0.01")
    filled = Decimal("0")
    placed_at = factory.LazyFunction(timezone.now)


class FillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fill

    trade_id = factory.Sequence(lambda n: str(500000 + n))
    exchange_order_id = factory.Sequence(lambda n: str(100000 + n))
    symbol = "BTC/USDT"
    side = "buy"
    price = Decimal("20000")
    amount = Decimal("0.01")
    cost = factory.LazyAttribute(lambda o: o.price * o.amount)
    fee = factory.LazyAttribute(lambda o: o.cost * Decimal("0.001"))
    fee_currency = "USDT"
    taker_or_maker = "taker"
    executed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # As fills_record does: keep the daily totals in step with the fills.
        fill = super()._create(model_class, *args, **kwargs)
        fill_totals_rebuild(key_id=fill.key_id, days={fill_day(fill.executed_at)})
        return fill


class MarketPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketPrice
        django_get_or_create = ("exchange", "symbol")

    exchange = "paper"
    symbol = "BTC/USDT"
    last = Decimal("30000")


class MarketInfoFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketInfo
        django_get_or_create = ("exchange", "symbol")

    exchange = "paper"
    symbol = "BTC/USDT"
    base = factory.LazyAttribute(lambda o: o.symbol.split("/")[0])
    quote = factory.LazyAttribute(lambda o: o.symbol.split("/")[1])
    price_decimals = 2
    amount_decimals = 5
    maker_fee = Decimal("0.001")
    taker_fee = Decimal("0.001")


class CandleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Candle

    exchange = "paper"
    symbol = "BTC/USDT"
    timeframe = "1h"
    open = Decimal("30000")
    high = Decimal("30100")
    low = Decimal("29900")
    close = Decimal("30050")
    volume = Decimal("12.5")


class OrderBookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderBookSnapshot
        django_get_or_create = ("exchange", "symbol")

    exchange = "paper"
    symbol = "BTC/USDT"
    bids = [["29990.00", "0.5"], ["29980.00", "1.2"]]
    asks = [["30010.00", "0.4"], ["30020.00", "2.0"]]
