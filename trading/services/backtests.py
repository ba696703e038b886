"""Backtest runs and parameter sweeps as jobs: validate, record, queue; run in the worker.

Queueing a run or a sweep takes the role that runs bots (`accounts.run_bots`): a viewer sees
backtests but never starts one, like every other action (`job_require_permission`).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.services.audit import audit_record
from trading.backtest import (
    BacktestCancelled,
    BacktestConfig,
    BacktestError,
    BacktestResult,
    BrokerConfig,
    backtest_run,
    backtest_sweep,
    candles_load,
    candles_series_info,
    sweep_combinations,
)
from trading.backtest_models import BacktestRun, Job, SweepRun
from trading.exchange.types import to_ms
from trading.services.jobs import (
    JobHooks,
    job_claim,
    job_finish,
    job_queue_allowed,
    job_require_permission,
)
from trading.strategies import ParamError, strategy_build
from trading.strategies.params import TIMEFRAME_SECONDS
from trading.strategies.types import split_symbol

logger = logging.getLogger(__name__)
S = Job.Status
MAX_UNFINISHED = 3  # queued or running runs (and, separately, sweeps) per user
MAX_COMBINATIONS = 400
MAX_STORED_TRADES = 5000
MAX_STORED_FILLS = 5000
EQUITY_POINTS = 2000
TOO_LONG = "The backtest took longer than the worker's time limit: choose a shorter period."


def backtest_config(job: Job) -> BacktestConfig:
    """The simulated account and broker of a run or sweep: quote cash, fee and slippage."""
    _, quote = split_symbol(job.symbol)
    return BacktestConfig(
        initial={quote: Decimal(job.starting_cash)},
        broker=BrokerConfig(fee_rate=Decimal(job.fee_rate), slippage=Decimal(job.slippage)),
    )


def _job_candles(job: Job):
    return candles_load(
        exchange=job.exchange,
        symbol=job.symbol,
        timeframe=job.timeframe,
        since_ms=to_ms(job.since),
        until_ms=to_ms(job.until),
    )


def _check_setup(*, strategy: str, params: Mapping[str, Any], job: Job) -> dict[str, Any]:
    """Validate the strategy, its parameters and the candles; return the params as JSON."""
    try:
        built = strategy_build(slug=strategy, symbol=job.symbol, params=params)
    except ParamError as exc:
        raise ValidationError({(k or "__all__"): v for k, v in exc.errors.items()}) from None
    if built.symbols() != [job.symbol]:
        raise ValidationError(
            {"strategy": "Backtests of strategies that trade several symbols are not supported."}
        )
    wanted = built.p.get("timeframe")
    have = TIMEFRAME_SECONDS[job.timeframe]
    if wanted and TIMEFRAME_SECONDS[wanted] % have:
        raise ValidationError(
            {"timeframe": f"{wanted} candles cannot be built from stored {job.timeframe} candles."}
        )
    info = candles_series_info(exchange=job.exchange, symbol=job.symbol, timeframe=job.timeframe)
    if not info or not info.get("count"):
        raise ValidationError(
            {"series": "No candles are stored for this series: download them first."}
        )
    if job.until <= job.since:
        raise ValidationError({"until": "The end must be after the start."})
    return built.params_json()


def _queue(job: Job, *, user, request, event: str, detail: dict) -> None:
    with transaction.atomic():
        job.save()
        audit_record(event_type=event, actor=user, request=request, target=job, detail=detail)
        from trading import tasks_backtest

        task = (
            tasks_backtest.backtest_run_task
            if isinstance(job, BacktestRun)
            else tasks_backtest.sweep_run_task
        )
        task.delay_on_commit(str(job.pk))


def _job_fields(
    *, user, exchange, symbol, timeframe, since, until, fee_rate, slippage, starting_cash
) -> dict:
    return {
        "user": user,
        "exchange": exchange,
        "symbol": symbol.strip().upper(),
        "timeframe": timeframe,
        "since": since,
        "until": until,
        "fee_rate": fee_rate,
        "slippage": slippage,
        "starting_cash": starting_cash,
    }


def backtest_create(
    *,
    user,
    strategy: str,
    params: Mapping[str, Any],
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime,
    until: datetime,
    fee_rate: Decimal,
    slippage: Decimal,
    starting_cash: Decimal,
    request=None,
) -> BacktestRun:
    """Record a backtest of one strategy over stored candles and queue it for a worker."""
    job_require_permission(user)
    run = BacktestRun(
        strategy=strategy,
        **_job_fields(
            user=user,
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            since=since,
            until=until,
            fee_rate=fee_rate,
            slippage=slippage,
            starting_cash=starting_cash,
        ),
    )
    run.params = _check_setup(strategy=strategy, params=params, job=run)
    run.full_clean()
    if not job_queue_allowed(model=BacktestRun, user=user, limit=MAX_UNFINISHED):
        raise ValidationError(
            f"You already have {MAX_UNFINISHED} backtests waiting or running: wait for one."
        )
    detail = {"strategy": strategy, "symbol": run.symbol, "timeframe": timeframe}
    _queue(run, user=user, request=request, event="backtestrun.queue", detail=detail)
    return run


def _finite(value):
    """JSON-safe statistics: NaN and infinities become None (PostgreSQL's jsonb rejects them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def result_payload(result: BacktestResult) -> dict[str, Any]:
    """What a run stores: statistics, trades, fills (for chart markers) and a thinned equity."""
    times = result.time
    fills = [
        {
            "ms": int(times[sim.bar]),
            "side": sim.fill.side,
            "price": str(sim.fill.price),
            "amount": str(sim.fill.amount),
            "fee": str(sim.fill.fee),
            "fee_asset": sim.fill.fee_asset,
        }
        for sim in result.fills[:MAX_STORED_FILLS]
    ]
    trades = result.trades_json()
    return _finite(
        {
            "summary": result.summary(),
            "trades": trades[:MAX_STORED_TRADES],
            "trades_total": len(trades),
            "fills": fills,
            "fills_total": len(result.fills),
            "equity": [[ms, value] for ms, value in result.equity_points(EQUITY_POINTS)],
            "timeframe": result.timeframe,
        }
    )


def backtest_execute(*, run_id) -> BacktestRun | None:
    """Run a queued backtest (worker side); returns it finished, or None if not queued."""
    run = job_claim(model=BacktestRun, id=run_id)
    if run is None:
        return None
    hooks = JobHooks(run)
    try:
        strategy = strategy_build(slug=run.strategy, symbol=run.symbol, params=run.params)
        result = backtest_run(
            strategy=strategy,
            candles=_job_candles(run),
            config=backtest_config(run),
            progress=hooks.progress,
            cancelled=hooks.cancelled,
        )
    except BacktestCancelled:
        job_finish(job=run, status=S.CANCELLED)
    except (BacktestError, ParamError, FileNotFoundError) as exc:
        job_finish(job=run, status=S.FAILED, error=_message(exc))
    except SoftTimeLimitExceeded:
        job_finish(job=run, status=S.FAILED, error=TOO_LONG)
    except Exception:
        logger.exception("backtest failed", extra={"run": str(run.pk)})
        job_finish(job=run, status=S.FAILED, error="The backtest failed unexpectedly.")
    else:
        job_finish(job=run, status=S.DONE, result=result_payload(result))
    return run


def _message(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "The stored candles of this series are gone: download them again."
    return str(exc)


# --- sweeps ---------------------------------------------------------------------------------


def sweep_create(
    *,
    user,
    strategy: str,
    base_params: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime,
    until: datetime,
    fee_rate: Decimal,
    slippage: Decimal,
    starting_cash: Decimal,
    request=None,
) -> SweepRun:
    """Record a sweep over a grid of parameter values and queue it for a worker."""
    job_require_permission(user)
    sweep = SweepRun(
        strategy=strategy,
        **_job_fields(
            user=user,
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            since=since,
            until=until,
            fee_rate=fee_rate,
            slippage=slippage,
            starting_cash=starting_cash,
        ),
    )
    combos = sweep_combinations(base_params, grid)
    if not grid or len(combos) < 2:
        raise ValidationError("Give at least one parameter two or more values to sweep.")
    if len(combos) > MAX_COMBINATIONS:
        raise ValidationError(
            f"{len(combos)} combinations is more than {MAX_COMBINATIONS}: give fewer values."
        )
    valid = [c for c in combos if _valid(strategy, sweep.symbol, c)]
    if not valid:
        raise ValidationError("No combination of these values is a valid set of parameters.")
    _check_setup(strategy=strategy, params=valid[0], job=sweep)
    sweep.base_params, sweep.grid, sweep.combinations = dict(base_params), dict(grid), len(combos)
    sweep.full_clean()
    if not job_queue_allowed(model=SweepRun, user=user, limit=MAX_UNFINISHED):
        raise ValidationError(
            f"You already have {MAX_UNFINISHED} sweeps waiting or running: wait for one."
        )
    detail = {"strategy": strategy, "symbol": sweep.symbol, "combinations": len(combos)}
    _queue(sweep, user=user, request=request, event="sweeprun.queue", detail=detail)
    return sweep


def _valid(strategy: str, symbol: str, params: Mapping[str, Any]) -> bool:
    try:
        strategy_build(slug=strategy, symbol=symbol, params=params)
    except ParamError:
        return False
    return True


def sweep_workers() -> int | None:
    """Processes a sweep may start here: none inside a daemonic process, else every core.

    Celery's default prefork pool runs tasks in daemonic children, which Python forbids from
    starting processes. There the sweep runs its combinations one after another in the task's
    own process (0); the worker's other pool process keeps serving order and sync tasks, so a
    sweep never takes every core from them. A worker started with `--pool threads` or
    `--pool solo` is not daemonic, and its sweeps spread over every core.
    """
    return 0 if multiprocessing.current_process().daemon else None


def sweep_execute(*, sweep_id, workers: int | None = None) -> SweepRun | None:
    """Run a queued sweep (worker side); returns it finished, or None if not queued."""
    sweep = job_claim(model=SweepRun, id=sweep_id)
    if sweep is None:
        return None
    hooks = JobHooks(sweep)
    try:
        rows = backtest_sweep(
            slug=sweep.strategy,
            symbol=sweep.symbol,
            base_params=sweep.base_params,
            grid=sweep.grid,
            candles=_job_candles(sweep),
            config=backtest_config(sweep),
            workers=sweep_workers() if workers is None else workers,
            progress=hooks.progress,
            cancelled=hooks.cancelled,
        )
    except BacktestCancelled:
        job_finish(job=sweep, status=S.CANCELLED)
    except (BacktestError, FileNotFoundError) as exc:
        job_finish(job=sweep, status=S.FAILED, error=_message(exc))
    except SoftTimeLimitExceeded:
        job_finish(job=sweep, status=S.FAILED, error=TOO_LONG)
    except Exception:
        logger.exception("sweep failed", extra={"sweep": str(sweep.pk)})
        job_finish(job=sweep, status=S.FAILED, error="The sweep failed unexpectedly.")
    else:
        job_finish(job=sweep, status=S.DONE, rows=_finite(rows))
    return sweep
