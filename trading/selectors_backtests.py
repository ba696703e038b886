"""Owner-scoped reads for the backtesting pages: runs, sweeps and downloads of one user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.http import Http404

from accounts.models import AuditEvent, ExchangeKey
from accounts.services.audit import audit_record
from trading.backtest_models import BacktestRun, CandleDownload, Job, SweepRun
from trading.exchange.catalog import PAPER_ID

# Lists never load the (possibly large) result columns.
_HEAVY = {BacktestRun: ("result",), SweepRun: ("rows",), CandleDownload: ()}


def _get_for_user(model: type[Job], *, user, id, request=None, heavy: bool = True) -> Job:
    rows = model.objects.filter(user=user)
    if not heavy:
        rows = rows.defer(*_HEAVY[model])
    job = rows.filter(pk=id).first()
    if job is not None:
        return job
    if model.objects.filter(pk=id).exists():
        audit_record(
            event_type="access.denied",
            actor=user,
            request=request,
            target_type=model._meta.label_lower,
            target_id=str(id),
            outcome=AuditEvent.Outcome.DENIED,
        )
    raise Http404("No such job.")


def backtest_get_for_user(*, user, id, request=None, heavy: bool = True) -> BacktestRun:
    """Return one of the user's backtest runs; 404 (and an audit row) for anyone else's."""
    return _get_for_user(BacktestRun, user=user, id=id, request=request, heavy=heavy)


def sweep_get_for_user(*, user, id, request=None, heavy: bool = True) -> SweepRun:
    """Return one of the user's sweeps; 404 (and an audit row) for anyone else's."""
    return _get_for_user(SweepRun, user=user, id=id, request=request, heavy=heavy)


def candle_download_get_for_user(*, user, id, request=None) -> CandleDownload:
    """Return one of the user's candle downloads; 404 (and an audit row) for anyone else's."""
    return _get_for_user(CandleDownload, user=user, id=id, request=request)


def backtests_for_user(*, user) -> QuerySet[BacktestRun]:
    """The user's backtest runs, newest first, without their stored results.

    Each row carries `summary_return` and `summary_trades` (text, None until done), read from
    the stored result by the database, so the list never loads trades or equity curves.
    """
    return (
        BacktestRun.objects.filter(user=user)
        .defer("result")
        .annotate(
            summary_return=KT("result__summary__total_return"),
            summary_trades=KT("result__summary__trades"),
        )
        .order_by("-created_at")
    )


def sweeps_for_user(*, user) -> QuerySet[SweepRun]:
    """The user's sweeps, newest first, without their rows."""
    return SweepRun.objects.filter(user=user).defer("rows").order_by("-created_at")


def candle_downloads_for_user(*, user) -> QuerySet[CandleDownload]:
    """The user's candle downloads, newest first."""
    return CandleDownload.objects.filter(user=user).order_by("-created_at")


def download_exchanges_for_user(*, user) -> list[str]:
    """Exchanges the user may download candles from: paper, and those of their active keys."""
    keyed = (
        ExchangeKey.objects.filter(user=user, status=ExchangeKey.Status.ACTIVE)
        .exclude(exchange=PAPER_ID)
        .values_list("exchange", flat=True)
        .distinct()
    )
    return [PAPER_ID, *sorted(set(keyed))]
