"""What every long backtesting job shares: claim, progress, cancel, finish.

The row is the truth. A worker claims a queued job with a conditional update, so a job
queued twice (or cancelled while queued) runs at most once. Progress is written and the
cancel flag read at most a few times a second, whatever the engine's callback rate.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.services.audit import audit_record
from trading.backtest_models import Job
from trading.services.bots import RUN_PERMISSION

S = Job.Status
_WRITE_EVERY = 0.5  # seconds between progress writes / cancel-flag reads


def job_require_permission(user) -> None:
    """Refuse to queue or cancel a job for a user whose role may not run bots (a viewer).

    Downloads, backtests and sweeps take the worker's time and reach exchanges (downloads):
    they belong with running bots, not with viewing.
    """
    if not user.has_perm(RUN_PERMISSION):
        raise PermissionDenied("Your role can view backtests but not run them.")


def job_claim(*, model: type[Job], id) -> Job | None:
    """Move a queued job to running and return it; None when it is not queued any more."""
    claimed = model.objects.filter(pk=id, status=S.QUEUED).update(
        status=S.RUNNING, started_at=timezone.now(), progress=0
    )
    return model.objects.get(pk=id) if claimed else None


class JobHooks:
    """The `progress(done, total)` and `cancelled()` callbacks the engine takes, for one row."""

    def __init__(self, job: Job, *, clock=time.monotonic):
        self.job, self.clock = job, clock
        self._written = self._checked = float("-inf")
        self._percent = job.progress
        self._cancel = False

    def progress(self, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 0
        percent = max(0, min(percent, 99))  # 100 only when the result is stored
        now = self.clock()
        if percent != self._percent and now - self._written >= _WRITE_EVERY:
            self._written, self._percent = now, percent
            type(self.job).objects.filter(pk=self.job.pk, status=S.RUNNING).update(progress=percent)

    def cancelled(self) -> bool:
        now = self.clock()
        if not self._cancel and now - self._checked >= _WRITE_EVERY:
            self._checked = now
            self._cancel = (
                type(self.job).objects.filter(pk=self.job.pk, cancel_requested=True).exists()
            )
        return self._cancel


def job_finish(*, job: Job, status: str, error: str = "", **fields) -> None:
    """Record a job's end: status, error message for the user, and its result fields."""
    job.status, job.error, job.finished_at = status, error[:500], timezone.now()
    if status == S.DONE:
        job.progress = 100
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "error", "finished_at", "progress", *fields])


def job_cancel(*, job: Job, user, request=None) -> bool:
    """Stop a job: a queued one is cancelled at once, a running one at its next check.

    Returns False when the job had already finished.
    """
    job_require_permission(user)
    model = type(job)
    with transaction.atomic():
        now = timezone.now()
        stopped = model.objects.filter(pk=job.pk, status=S.QUEUED).update(
            status=S.CANCELLED, cancel_requested=True, finished_at=now
        )
        if not stopped:
            stopped = model.objects.filter(pk=job.pk, status=S.RUNNING).update(
                cancel_requested=True
            )
        if stopped:
            audit_record(
                event_type=f"{model._meta.model_name}.cancel",
                actor=user,
                request=request,
                target=job,
                detail={"status": job.status},
            )
    job.refresh_from_db()
    return bool(stopped)


def job_queue_allowed(*, model: type[Job], user, limit: int) -> bool:
    """True while the user has fewer than `limit` unfinished jobs of this kind."""
    return model.objects.filter(user=user, status__in=Job.UNFINISHED).count() < limit


def jobs_expire(*, limits: dict[type[Job], int], now=None) -> int:
    """Fail jobs left running past their task's hard time limit (their worker died).

    `limits` maps a job model to seconds; a minute of grace covers clock differences.
    """
    now = now or timezone.now()
    expired = 0
    for model, seconds in limits.items():
        expired += model.objects.filter(
            status=S.RUNNING, started_at__lt=now - timedelta(seconds=seconds + 60)
        ).update(
            status=S.FAILED,
            finished_at=now,
            error="The worker running this job stopped before it finished: start it again.",
        )
    return expired
