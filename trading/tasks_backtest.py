"""Celery tasks for backtesting's long jobs: ids in, one service call. Progress is on the row.

Time limits are generous (a sweep over years of minutes takes minutes); a soft limit marks
the job failed with a message instead of leaving it running.
"""

from __future__ import annotations

from celery import shared_task

from trading.services.backtests import backtest_execute, sweep_execute
from trading.services.candle_downloads import candle_download_execute


@shared_task(soft_time_limit=3600, time_limit=3660, acks_late=False)
def candle_download_task(download_id: str) -> None:
    """Fetch one queued candle download."""
    candle_download_execute(download_id=download_id)


@shared_task(soft_time_limit=900, time_limit=960, acks_late=False)
def backtest_run_task(run_id: str) -> None:
    """Run one queued backtest."""
    backtest_execute(run_id=run_id)


@shared_task(soft_time_limit=3600, time_limit=3660, acks_late=False)
def sweep_run_task(sweep_id: str) -> None:
    """Run one queued parameter sweep."""
    sweep_execute(sweep_id=sweep_id)
