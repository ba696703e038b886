"""Celery tasks for trading: thin wrappers (ids in, one service call, schedule the follow-up)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from accounts.models import ExchangeKey
from keytrade import publish
from trading.exchange import errors
from trading.services.halt import key_cancel_all
from trading.services.keys import key_verify
from trading.services.submission import (
    Followup,
    order_reconcile,
    order_submit,
    orders_recover,
    orders_stale_new,
)
from trading.services.sync import account_sync

logger = logging.getLogger("trading.tasks")
_TEMPORARY = (errors.ExchangeUnavailable, errors.RateLimited, errors.TimestampSkew)


def _schedule(intent_id: str, followup: Followup | None) -> None:
    if followup is None:
        return
    if followup.task == "submit":
        order_submit_task.apply_async(args=[intent_id], countdown=followup.countdown)
    else:
        order_reconcile_task.apply_async(
            args=[intent_id, followup.step], countdown=followup.countdown
        )


@shared_task(base=publish.PublishTask, bind=True, soft_time_limit=30, time_limit=45, acks_late=True)
def order_submit_task(self, intent_id: str) -> None:
    """Claim and send one order intent."""
    _schedule(intent_id, order_submit(intent_id=intent_id, worker=self.request.hostname or ""))


@shared_task(soft_time_limit=30, time_limit=45, acks_late=True)
def order_reconcile_task(intent_id: str, step: int = 0) -> None:
    """Look an UNKNOWN order intent up on the exchange by its client order id."""
    _schedule(intent_id, order_reconcile(intent_id=intent_id, step=step))


@shared_task(soft_time_limit=120, time_limit=150)
def orders_sweep_task() -> None:
    """Re-queue NEW intents whose message was lost; reconcile sends orphaned by a dead worker."""
    for intent_id in orders_stale_new():
        order_submit_task.delay(intent_id)
    for intent_id, followup in orders_recover(worker=""):
        _schedule(intent_id, followup)


@shared_task(
    soft_time_limit=120,
    time_limit=150,
    autoretry_for=_TEMPORARY,
    max_retries=3,
    retry_backoff=5,
    retry_backoff_max=60,
)
def account_sync_task(key_id: str) -> None:
    """Sync one key's balances, open orders and fills."""
    account_sync(key_id=key_id)


@shared_task(soft_time_limit=60, time_limit=90)
def accounts_sync_all_task() -> None:
    """Queue a sync for every active key that may read."""
    keys = ExchangeKey.objects.filter(status=ExchangeKey.Status.ACTIVE, scope_read=True)
    for key_id in keys.values_list("pk", flat=True):
        account_sync_task.delay(str(key_id))


@shared_task(
    soft_time_limit=60, time_limit=90, autoretry_for=_TEMPORARY, max_retries=3, retry_backoff=10
)
def key_verify_task(key_id: str) -> None:
    """Verify one key's permissions against its exchange."""
    try:
        key_verify(key_id=key_id)
    except (errors.KeyRejected, errors.ScopeRefused):
        pass  # recorded on the key (disabled / last error); nothing to retry


@shared_task(soft_time_limit=60, time_limit=90)
def keys_verify_all_task() -> None:
    """Queue the daily verification of every active key."""
    for key_id in ExchangeKey.objects.filter(status=ExchangeKey.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        key_verify_task.delay(str(key_id))


@worker_ready.connect
def reconcile_before_new_work(sender=None, **kwargs) -> None:
    """At worker start, reconcile unfinished sends before the first message is processed.

    worker_ready fires after the consumer subscribed but before its loop delivers a message,
    so the lookups below run before any new order is claimed by this worker.
    """
    worker = getattr(sender, "hostname", "") or ""
    followups = orders_recover(worker=worker)
    for intent_id, followup in followups:
        _schedule(intent_id, followup)
    logger.info("startup reconciliation done", extra={"worker": worker, "pending": len(followups)})


@shared_task(
    soft_time_limit=60, time_limit=90, autoretry_for=_TEMPORARY, max_retries=5, retry_backoff=2
)
def key_cancel_all_task(key_id: str) -> None:
    """Cancel every open order of one key, then resync it."""
    key_cancel_all(key_id=key_id)
    account_sync(key_id=key_id)


# Ticks travel in batches of ids: one Celery message per tick costs more CPU than a dry-run
# tick itself, and a batch is claimed, loaded and fed market data with a handful of queries and
# cache reads in all. Each bot is still claimed on its own row, so a batch that is delivered
# twice or split by a restart never ticks a bot twice.
BOTS_TICK_BUDGET_SECONDS = 30  # start no tick after this; well inside the limits and the lease


def _batches(ids: list[str], size: int) -> list[list[str]]:
    """Split ids into the fewest batches of at most `size`, as even as possible."""
    if not ids:
        return []
    count = -(-len(ids) // max(size, 1))
    step = -(-len(ids) // count)
    return [ids[start : start + step] for start in range(0, len(ids), step)]


@shared_task(soft_time_limit=20, time_limit=30, ignore_result=True)
def bots_dispatch_task() -> int:
    """Queue one tick for every running bot that is due (ids only, in batches)."""
    from django.conf import settings

    from trading.services.bots import bots_due  # bots import order services; keep startup lean

    ids = bots_due()
    for batch in _batches(ids, settings.BOTS_TICK_BATCH):
        bots_tick_task.delay(batch)
    return len(ids)


@shared_task(bind=True, soft_time_limit=30, time_limit=45, acks_late=True, ignore_result=True)
def bot_tick_task(self, bot_id: str) -> None:
    """Claim one bot and run its tick (a no-op if it is not due or someone else has it)."""
    from trading.services.bots import bot_tick

    bot_tick(bot_id=bot_id, worker=self.request.hostname or "")


@shared_task(bind=True, soft_time_limit=50, time_limit=60, acks_late=True, ignore_result=True)
def bots_tick_task(self, bot_ids: list[str]) -> None:
    """Run the ticks of a batch of bots, each claimed on its own row."""
    from trading.services.bots import bots_tick

    bots_tick(
        bot_ids=bot_ids,
        worker=self.request.hostname or "",
        budget_seconds=BOTS_TICK_BUDGET_SECONDS,
    )


# Backtesting's tasks live in their own module; imported here so Celery's autodiscovery
# (which imports trading.tasks) registers them.
from trading import tasks_backtest  # noqa: E402,F401
