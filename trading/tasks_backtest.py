"""Celery tasks for backtesting's long jobs: ids in, one service call. Progress is on the row.

Time limits are generous (a sweep over years of minutes takes minutes); a soft limit marks
the job failed with a message instead of leaving it running.
"""

from __future__ import annotations

from celery import shared_task

from trading.backtest_models import BacktestRun, CandleDownload, SweepRun
from trading.services.backtests import backtest_execute, sweep_execute
from trading.services.candle_downloads import candle_download_execute
from trading.services.jobs import jobs_expire

# Hard time limits; jobs_expire_task fails rows still "running" after them (a dead worker).
LIMITS = {CandleDownload: 3660, BacktestRun: 960, SweepRun: 3660}


@shared_task(soft_time_limit=3600, time_limit=LIMITS[CandleDownload], acks_late=False)
def candle_download_task(download_id: str) -> None:
    """Fetch one queued candle download."""
    candle_download_execute(download_id=download_id)


@shared_task(soft_time_limit=900, time_limit=LIMITS[BacktestRun], acks_late=False)
def backtest_run_task(run_id: str) -> None:
    """Run one queued backtest."""
    backtest_execute(run_id=run_id)


@shared_task(soft_time_limit=3600, time_limit=LIMITS[SweepRun], acks_late=False)
def sweep_run_task(sweep_id: str) -> None:
    """Run one queued parameter sweep."""
    sweep_execute(sweep_id=sweep_id)


@shared_task(soft_time_limit=60, time_limit=90)
def backtest_jobs_expire_task() -> int:
    """Fail downloads, runs and sweeps whose worker died while running them."""
    return jobs_expire(limits=LIMITS)
