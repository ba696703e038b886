"""Candle downloads: fetch what the store lacks, page by page, resumable, gaps reported.

`candles_download` is the whole workflow without a database row (the management command
uses it); `candle_download_create` / `candle_download_execute` wrap it in a `CandleDownload`
job for the pages and the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.services.audit import audit_record
from trading.backtest import candles_series_info, candles_store
from trading.backtest_models import CandleDownload
from trading.exchange import errors
from trading.exchange.candles import PAGE_LIMIT, ExchangeClient, ohlcv_pages, public_client
from trading.exchange.candles import timeframe_ms as _step_ms
from trading.exchange.types import to_ms
from trading.services.jobs import (
    JobHooks,
    job_claim,
    job_finish,
    job_queue_allowed,
    job_require_permission,
)

logger = logging.getLogger(__name__)
S = CandleDownload.Status
MAX_CANDLES = 5_000_000  # per download: ten years of minutes
MAX_UNFINISHED = 3  # queued or running downloads per user
_RETRIES = 5
_TEMPORARY = (errors.RateLimited, errors.ExchangeUnavailable, errors.TimestampSkew)


@dataclass
class DownloadReport:
    """What a download did: requests, candles received, stored, and holes left in the range."""

    pages: int = 0
    fetched: int = 0
    added: int = 0
    duplicates: int = 0
    total: int = 0
    gaps: list[list[int]] = field(default_factory=list)
    cancelled: bool = False


def download_windows(
    *, info: dict | None, since_ms: int, until_ms: int, step: int
) -> list[tuple[int, int]]:
    """The parts of [since_ms, until_ms) a stored series lacks: before it, its gaps, after it."""
    if not info or not info.get("count"):
        return [(since_ms, until_ms)] if since_ms < until_ms else []
    first, last = info["first_ms"], info["last_ms"]
    wanted = [(since_ms, first)]
    wanted += [(start, start + count * step) for start, count in info.get("gaps", [])]
    wanted.append((last + step, until_ms))
    clipped = [(max(lo, since_ms), min(hi, until_ms)) for lo, hi in wanted]
    return [(lo, hi) for lo, hi in clipped if lo < hi]


def _gaps_inside(info: dict | None, since_ms: int, until_ms: int, step: int) -> list[list[int]]:
    if not info or not info.get("count"):
        return []
    holes = [(start, count) for start, count in info.get("gaps", [])]
    inside = []
    for start, count in holes:
        lo, hi = max(start, since_ms), min(start + count * step, until_ms)
        if lo < hi:
            inside.append([lo, (hi - lo) // step])
    return inside


def closed_until(until_ms: int, step: int, *, now_ms: int | None = None) -> int:
    """The end of the range clipped to the last closed bar: a still-open bar is never stored."""
    now_ms = to_ms(timezone.now()) if now_ms is None else now_ms
    return min(until_ms, now_ms // step * step)


def candles_download(
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int,
    client: ExchangeClient | None = None,
    limit: int = PAGE_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    root: Path | None = None,
) -> DownloadReport:
    """Fetch the candles of [since_ms, until_ms) that the store lacks, and store them.

    Resumes from what is stored (`candles_series_info`): only the range before the series,
    its gaps and the range after it are requested. Rows already stored are counted as
    duplicates, never stored twice. Raises the connector's errors after bounded retries.
    """
    step = _step_ms(timeframe)
    until_ms = closed_until(until_ms, step)
    key = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "root": root}
    windows = download_windows(
        info=candles_series_info(**key), since_ms=since_ms, until_ms=until_ms, step=step
    )
    client = client or public_client(exchange)
    report = DownloadReport()
    span, done = sum(hi - lo for lo, hi in windows) or 1, 0
    for lo, hi in windows:
        for page in _pages_with_retries(client, symbol, timeframe, lo, hi, limit):
            if cancelled is not None and cancelled():
                report.cancelled = True
                break
            report.pages += 1
            report.fetched += len(page.rows)
            if page.rows:
                stored = candles_store(rows=page.rows, **key)
                report.added += stored.added
                report.duplicates += stored.duplicates
            if progress is not None:
                progress(done + page.next_ms - lo, span)
        if report.cancelled:
            break
        done += hi - lo
    info = candles_series_info(**key)
    report.total = (info or {}).get("count", 0)
    report.gaps = _gaps_inside(info, since_ms, until_ms, step)
    return report


def _pages_with_retries(client, symbol, timeframe, lo, hi, limit):
    """ohlcv_pages, restarted from the last page received after a temporary error."""
    cursor, failures = lo, 0
    while cursor < hi:
        try:
            for page in ohlcv_pages(
                client, symbol=symbol, timeframe=timeframe, start_ms=cursor, end_ms=hi, limit=limit
            ):
                failures, cursor = 0, page.next_ms
                yield page
            return
        except _TEMPORARY as exc:
            failures += 1
            if failures > _RETRIES:
                raise
            wait = getattr(exc, "retry_after", None) or 2 ** (failures - 1)
            time.sleep(min(wait, 30))


# --- the job --------------------------------------------------------------------------------


def candle_download_create(
    *,
    user,
    exchange: str,
    symbol: str,
    timeframe: str,
    since: datetime,
    until: datetime,
    allowed_exchanges: list[str],
    request=None,
) -> CandleDownload:
    """Record a download of one series over [since, until) and queue it for a worker."""
    job_require_permission(user)
    if exchange not in allowed_exchanges:
        raise ValidationError({"exchange": "Connect a key for this exchange first."})
    if until <= since:
        raise ValidationError({"until": "The end must be after the start."})
    if (to_ms(until) - to_ms(since)) // _step_ms(timeframe) > MAX_CANDLES:
        raise ValidationError(
            f"That is more than {MAX_CANDLES:,} candles: choose a shorter period."
        )
    if not job_queue_allowed(model=CandleDownload, user=user, limit=MAX_UNFINISHED):
        raise ValidationError(
            f"You already have {MAX_UNFINISHED} downloads waiting or running: wait for one."
        )
    download = CandleDownload(
        user=user,
        exchange=exchange,
        symbol=symbol.strip().upper(),
        timeframe=timeframe,
        since=since,
        until=until,
    )
    download.full_clean()
    with transaction.atomic():
        download.save()
        audit_record(
            event_type="candledownload.queue",
            actor=user,
            request=request,
            target=download,
            detail={"exchange": exchange, "symbol": download.symbol, "timeframe": timeframe},
        )
        from trading.tasks_backtest import candle_download_task

        candle_download_task.delay_on_commit(str(download.pk))
    return download


def candle_download_execute(
    *, download_id, client: ExchangeClient | None = None, limit: int = PAGE_LIMIT
) -> CandleDownload | None:
    """Run a queued download (worker side); returns it finished, or None if not queued."""
    download = job_claim(model=CandleDownload, id=download_id)
    if download is None:
        return None
    hooks = JobHooks(download)
    try:
        report = candles_download(
            exchange=download.exchange,
            symbol=download.symbol,
            timeframe=download.timeframe,
            since_ms=to_ms(download.since),
            until_ms=to_ms(download.until),
            client=client,
            limit=limit,
            progress=hooks.progress,
            cancelled=hooks.cancelled,
        )
    except errors.InvalidOrder:
        # The connector words it for orders; for a download it means "no such market here".
        message = (
            f"{download.exchange} refused candles for {download.symbol} "
            f"({download.timeframe}): check that it lists this market and timeframe."
        )
        job_finish(job=download, status=S.FAILED, error=message)
        return download
    except errors.ExchangeError as exc:
        job_finish(job=download, status=S.FAILED, error=exc.user_message)
        return download
    except SoftTimeLimitExceeded:
        message = "The download hit the worker's time limit; what it fetched is kept: run it again."
        job_finish(job=download, status=S.FAILED, error=message)
        return download
    except Exception:
        logger.exception("candle download failed", extra={"download": str(download.pk)})
        job_finish(job=download, status=S.FAILED, error="The download failed unexpectedly.")
        return download
    job_finish(
        job=download,
        status=S.CANCELLED if report.cancelled else S.DONE,
        pages=report.pages,
        fetched=report.fetched,
        added=report.added,
        duplicates=report.duplicates,
        total=report.total,
        gaps=report.gaps,
    )
    return download
