"""Celery tasks for the dashboard's market data: thin wrappers (ids in, one service call)."""

from __future__ import annotations

from celery import shared_task

from accounts.models import ExchangeKey
from trading.exchange import errors
from trading.services.market_data import market_refresh, prices_refresh

_TEMPORARY = (errors.ExchangeUnavailable, errors.RateLimited, errors.TimestampSkew)


@shared_task(
    soft_time_limit=60, time_limit=90, autoretry_for=_TEMPORARY, max_retries=2, retry_backoff=5
)
def market_refresh_task(key_id: str, symbol: str, timeframe: str = "1h") -> None:
    """Fetch and store one symbol's market rules, ticker, order book and candles."""
    market_refresh(key_id=key_id, symbol=symbol, timeframe=timeframe)


@shared_task(
    soft_time_limit=60, time_limit=90, autoretry_for=_TEMPORARY, max_retries=2, retry_backoff=5
)
def prices_refresh_task(key_id: str, quote: str = "USDT") -> None:
    """Fetch the prices that value one key's balances in a quote currency."""
    prices_refresh(key_id=key_id, quote=quote)


@shared_task(soft_time_limit=60, time_limit=90)
def prices_refresh_all_task(quote: str = "USDT") -> None:
    """Queue a price refresh for every active key that may read."""
    keys = ExchangeKey.objects.filter(status=ExchangeKey.Status.ACTIVE, scope_read=True)
    for key_id in keys.values_list("pk", flat=True):
        prices_refresh_task.delay(str(key_id), quote)
