"""Bots: create, start, pause, stop, risk stop, stop everything, the kill switch, and ticks.

A bot is a row. Beat's dispatcher (`bots_due`) hands due bot ids to workers in batches;
`bots_tick` claims each row with a conditional UPDATE (a lease; one statement per batch), so
a bot never ticks twice at once, and a lease left by a dead worker expires. Lifecycle
changes are audited and written to the bot's log.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.selectors import user_has_mfa
from accounts.services.audit import audit_record
from accounts.services.notifications import notify
from trading.bots.engine import BotFailure, KeyUnusable, TickOutcome, tick_run
from trading.bots.market import MarketData
from trading.bots.models import Bot, BotEvent, BotSnapshot, BotTrade
from trading.bots.row_update import row_update
from trading.exchange import errors
from trading.models import AccountLimits, Order, OrderIntent
from trading.services.halt import trading_is_halted
from trading.services.orders import OrderRefused, order_cancel
from trading.services.transitions import intent_transition
from trading.strategies import ParamError, strategy_build

logger = logging.getLogger("trading.bots")
RUN_PERMISSION = "accounts.run_bots"
PAPER_EXCHANGE = "paper"
MAX_FAILURES = 3
_TICK_KEY_FIELDS = (
    "key__id",
    "key__user_id",
    "key__exchange",
    "key__label",
    "key__status",
    "key__scope_read",
    "key__scope_trade",
)
St = Bot.Status
S = OrderIntent.Status


class BotRefused(Exception):
    """The bot cannot do that; `reason` is for the user."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def bot_event(bot: Bot, kind: str, message: str, *, level: str = "info", **data) -> BotEvent:
    """Append one line to the bot's event log."""
    return BotEvent.objects.create(
        bot=bot, kind=kind, level=level, message=message[:500], data=data
    )


def bot_notify(*, bot: Bot, kind: str, title: str, body: str) -> None:
    """Tell the bot's owner in-app (and by their email/webhook settings); the log has it too."""
    notify(
        user=bot.user,
        kind=kind,
        title=title,
        body=body,
        link=reverse("trading:bot_detail", args=[bot.pk]),
        # One per bot, kind and stop: a bot that is restarted and stops again says so again.
        dedupe_key=f"bot:{bot.pk}:{kind}:{bot.tick_seq}",
    )


def _audit(bot: Bot, event_type: str, *, actor=None, request=None, outcome=None, **detail) -> None:
    audit_record(
        event_type=event_type,
        actor=actor,
        request=request,
        target=bot,
        outcome=outcome or AuditEvent.Outcome.SUCCESS,
        detail={
            "name": bot.name,
            "strategy": bot.strategy,
            "symbol": bot.symbol,
            "mode": bot.mode,
            "key": str(bot.key_id),
            **detail,
        },
    )


def _require_permission(user) -> None:
    if not user.has_perm(RUN_PERMISSION):
        raise BotRefused("Your role can view bots but not run them.")


# --- create ----------------------------------------------------------------------------------


def bot_create(
    *,
    user,
    key,
    name: str,
    symbol: str,
    strategy: str,
    params: dict,
    max_order_notional: Decimal,
    daily_loss_limit: Decimal,
    max_open_orders: int = 20,
    max_position: Decimal | None = None,
    max_position_unit: str = Bot.PositionUnit.QUOTE,
    mode: str = Bot.Mode.DRY_RUN,
    tick_interval_seconds: int = 10,
    request=None,
) -> Bot:
    """Create a stopped bot after validating its strategy parameters and limits."""
    _require_permission(user)
    if key.user_id != user.pk:
        raise BotRefused("This key does not belong to you.")
    symbol = symbol.strip().upper()
    try:
        built = strategy_build(slug=strategy, symbol=symbol, params=params)
    except ParamError as exc:
        raise ValidationError(
            {f"params.{k}" if k else "params": v for k, v in exc.errors.items()}
        ) from None
    except ValueError as exc:
        raise ValidationError({"symbol": str(exc)}) from None
    bot = Bot(
        user=user,
        key=key,
        name=name.strip() or f"{built.name} {symbol}",
        symbol=symbol,
        strategy=strategy,
        params=built.params_json(),
        max_order_notional=max_order_notional,
        daily_loss_limit=daily_loss_limit,
        max_open_orders=max_open_orders,
        max_position=max_position,
        max_position_unit=max_position_unit,
        mode=mode,
        tick_interval_seconds=tick_interval_seconds,
    )
    bot.full_clean()
    with transaction.atomic():
        bot.save(force_insert=True)
        _audit(bot, "bot.created", actor=user, request=request, params=bot.params)
        bot_event(bot, "lifecycle", f"Created ({bot.get_mode_display().lower()}).")
    return bot


# --- lifecycle --------------------------------------------------------------------------------


def bot_live_requirements(*, bot: Bot, user) -> list[str]:
    """What is missing before this bot may trade live (empty when nothing is)."""
    key = bot.key
    missing = []
    if not user_has_mfa(user=user):
        missing.append("Turn on two-factor authentication.")
    if key.status != "active" or not key.scope_trade:
        missing.append("Use a key that is active and has its trade scope on.")
    if key.exchange != PAPER_EXCHANGE and not key.ip_whitelist:
        missing.append("Give the key an IP whitelist (the paper exchange does not need one).")
    return missing


def bot_start(*, bot: Bot, actor, request=None, confirm_live: bool = False) -> Bot:
    """Start (or resume) a bot; going live needs confirmation, 2FA and a trading key."""
    _require_permission(actor)
    if trading_is_halted():
        raise BotRefused("Trading is halted by an administrator; bots cannot start.")
    if bot.is_live:
        missing = bot_live_requirements(bot=bot, user=actor)
        if missing:
            raise BotRefused("Before this bot can trade live: " + " ".join(missing))
        if not confirm_live:
            raise BotRefused("Confirm that this bot will send real orders with this key.")
    now = timezone.now()
    with transaction.atomic():
        moved = (
            Bot.objects.filter(pk=bot.pk)
            .exclude(status=St.RUNNING)
            .update(
                status=St.RUNNING,
                status_reason="",
                next_tick_at=now,
                dispatched_until=None,
                consecutive_failures=0,
                started_at=now,
                updated_at=now,
            )
        )
        if not moved:
            return bot
        previous = bot.status
        bot.refresh_from_db()
        _audit(bot, "bot.started", actor=actor, request=request, previous=previous)
        bot_event(bot, "lifecycle", f"Started ({bot.get_mode_display().lower()}).")
    return bot


def bot_pause(*, bot: Bot, actor, request=None) -> Bot:
    """Pause a running bot: no more ticks; its open orders stay where they are."""
    _require_permission(actor)
    with transaction.atomic():
        if not Bot.objects.filter(pk=bot.pk, status=St.RUNNING).update(
            status=St.PAUSED, status_reason="Paused by you.", updated_at=timezone.now()
        ):
            raise BotRefused("Only a running bot can be paused.")
        bot.refresh_from_db()
        _audit(bot, "bot.paused", actor=actor, request=request)
        bot_event(bot, "lifecycle", "Paused; open orders were left in place.")
    return bot


def _halt(bot: Bot, *, status: str, reason: str) -> bool:
    """Move the bot to a stopped state unless it is already there; True if it moved."""
    moved = (
        Bot.objects.filter(pk=bot.pk)
        .exclude(status=status)
        .update(
            status=status, status_reason=reason[:300], next_tick_at=None, updated_at=timezone.now()
        )
    )
    if moved:
        bot.status, bot.status_reason, bot.next_tick_at = status, reason[:300], None
    return bool(moved)


def bot_stop(
    *, bot: Bot, actor, request=None, cancel_orders: bool = True, reason: str = "Stopped by you."
) -> Bot:
    """Stop a bot; by default cancel its open orders (through the order path)."""
    _require_permission(actor)
    with transaction.atomic():
        previous = bot.status
        if _halt(bot, status=St.STOPPED, reason=reason):
            _audit(
                bot,
                "bot.stopped",
                actor=actor,
                request=request,
                previous=previous,
                cancel_orders=cancel_orders,
            )
            suffix = " Cancelling its open orders." if cancel_orders else ""
            bot_event(bot, "lifecycle", reason + suffix)
    if cancel_orders:
        bot_orders_cancel(bot=bot)
    return bot


def bot_risk_stop(*, bot: Bot, reason: str) -> None:
    """Stop a bot that breached a risk limit, cancel its orders, audit and notify."""
    with transaction.atomic():
        if not _halt(bot, status=St.RISK_STOPPED, reason=reason):
            return
        _audit(bot, "bot.risk_stop", outcome=AuditEvent.Outcome.FAILURE, reason=reason)
        bot_event(bot, "risk", f"Risk stop: {reason} Cancelling its open orders.", level="error")
    bot_orders_cancel(bot=bot)
    bot_notify(
        bot=bot, kind="risk_stop", title=f"Bot “{bot.name}” stopped: daily loss limit", body=reason
    )


def bots_stop_all(*, user, request=None) -> int:
    """The user's "Stop everything": stop every bot of theirs and cancel the bots' open orders."""
    _require_permission(user)
    bots = list(Bot.objects.filter(user=user).select_related("key", "user"))
    audit_record(
        event_type="bots.stop_all",
        actor=user,
        request=request,
        target=user,
        detail={"bots": len(bots)},
    )
    stopped = 0
    for bot in bots:
        if bot.status in (St.RUNNING, St.PAUSED):
            bot_stop(bot=bot, actor=user, request=request, reason="Stopped by “Stop everything”.")
            stopped += 1
        else:
            bot_orders_cancel(bot=bot)
    return stopped


def bots_kill_switch(*, actor=None, reason: str = "", user=None) -> int:
    """The kill switch: stop every running or paused bot (of one user, or everyone's).

    Their exchange orders are cancelled by the halt's own cancel-all per key; a dry-run
    bot's simulated orders are cancelled here.
    """
    bots = Bot.objects.filter(status__in=(St.RUNNING, St.PAUSED)).select_related("key", "user")
    if user is not None:
        bots = bots.filter(user=user)
    halts_forget()
    message = "Stopped by the kill switch" + (f": {reason}" if reason else ".")
    count = 0
    for bot in bots:
        with transaction.atomic():
            if not _halt(bot, status=St.STOPPED, reason=message):
                continue
            _audit(bot, "bot.kill_switch", actor=actor, reason=reason)
            bot_event(bot, "risk", message, level="error")
        if not bot.is_live:
            bot_orders_cancel(bot=bot)
        bot_notify(bot=bot, kind="kill_switch", title=f"Bot “{bot.name}” stopped", body=message)
        count += 1
    return count


def bot_orders_cancel(*, bot: Bot) -> int:
    """Cancel the bot's open orders: unsent intents at once, exchange orders via the order path."""
    if not bot.is_live:
        sim = Bot.objects.filter(pk=bot.pk).values_list("sim", flat=True).first() or {}
        count = len(sim.get("orders") or {})
        if count:
            from trading.bots.dryrun import DryRunWallet

            wallet = DryRunWallet(sim=sim, symbols=_symbols(bot), fee_rate=Decimal(0))
            for order in wallet.open_orders():
                wallet.cancel(order.ref)
            Bot.objects.filter(pk=bot.pk).update(sim=wallet.to_json())
            bot_event(bot, "order", f"Cancelled {count} simulated orders.")
        return count
    cancelled = 0
    for intent in OrderIntent.objects.filter(bot=bot, kind=OrderIntent.Kind.PLACE, status=S.NEW):
        cancelled += intent_transition(
            intent,
            to=S.CANCELED,
            frm=(S.NEW,),
            fields={"reject_reason": "The bot was stopped before this order was sent."},
            detail={"bot": str(bot.pk)},
        )
    pending_cancel = OrderIntent.objects.filter(
        kind=OrderIntent.Kind.CANCEL, status__in=(S.NEW, S.SUBMITTING)
    ).values("target_order_id")
    orders = Order.objects.filter(intent__bot=bot, status=Order.Status.OPEN).exclude(
        pk__in=pending_cancel
    )
    for order in orders.select_related("key"):
        try:
            order_cancel(user=bot.user, order=order, bot=bot)
            cancelled += 1
        except OrderRefused as exc:
            bot_event(bot, "error", f"Could not cancel an order: {exc.reason}", level="error")
    if cancelled:
        bot_event(bot, "order", f"Cancelling {cancelled} open orders.")
    return cancelled


def _symbols(bot: Bot) -> list[str]:
    try:
        return strategy_build(slug=bot.strategy, symbol=bot.symbol, params=bot.params).symbols()
    except ValueError:
        return [bot.symbol]


# --- dispatch and ticks -----------------------------------------------------------------------


def bots_due(*, limit: int = 5000) -> list[str]:
    """Return the ids of running bots whose tick is due, marking them dispatched.

    The mark keeps the next dispatch (a second later) from queueing the same bot again while
    its tick waits in the queue; it expires, so a lost message is dispatched again.
    """
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    undispatched = Q(dispatched_until__isnull=True) | Q(dispatched_until__lt=now)
    ids = list(
        Bot.objects.filter(status=St.RUNNING, next_tick_at__lte=now)
        .filter(free & undispatched)
        .order_by("next_tick_at")
        .values_list("pk", flat=True)[:limit]
    )
    until = now + timedelta(seconds=settings.BOTS_DISPATCH_TTL_SECONDS)
    for start in range(0, len(ids), 500):
        Bot.objects.filter(pk__in=ids[start : start + 500]).update(dispatched_until=until)
    return [str(pk) for pk in ids]


def _claim_token(worker: str) -> str:
    # One token per batch, not the worker's name: two pool processes of one worker share the
    # name, and only the batch that claimed a row may store its tick.
    return f"{worker[:180]}#{uuid.uuid4().hex[:12]}"


def _claim_batch(bot_ids, token: str) -> list[Bot]:
    """Claim the due, unclaimed bots among `bot_ids` for `token`; return them loaded."""
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    # The compare-and-set that keeps a bot from ticking twice at once: one UPDATE for the
    # whole batch, each row claimed on its own conditions.
    claimed = (
        Bot.objects.filter(pk__in=bot_ids, status=St.RUNNING, next_tick_at__lte=now)
        .filter(free)
        .update(
            claimed_until=now + timedelta(seconds=settings.BOTS_TICK_LEASE_SECONDS),
            claimed_by=token,
            dispatched_until=None,
        )
    )
    bots = []
    if claimed:
        # Only the key columns a tick reads: selecting every key and user column costs more
        # than the rest of a dry-run tick.
        bot_fields = [f.attname for f in Bot._meta.concrete_fields]
        bots = list(
            Bot.objects.filter(pk__in=bot_ids, claimed_by=token)
            .select_related("key")
            .only(*bot_fields, *_TICK_KEY_FIELDS)
            .order_by("next_tick_at")
        )
    if len(bots) < len(bot_ids):
        # Not due (or someone else's): free the dispatch mark so beat queues it when it is due.
        mine = {str(bot.pk) for bot in bots}
        Bot.objects.filter(
            pk__in=[pk for pk in bot_ids if str(pk) not in mine], dispatched_until__isnull=False
        ).update(dispatched_until=None)
    return bots


def _claim(bot_id, worker: str) -> Bot | None:
    """Claim one due bot for `worker`; None when it is not due or someone else has it."""
    bots = _claim_batch([bot_id], _claim_token(worker))
    return bots[0] if bots else None


def bots_tick(*, bot_ids, worker: str = "", budget_seconds: float | None = None) -> int:
    """Claim the due bots among `bot_ids` and run one tick of each; return how many ran.

    The batch shares one claim query, one load query, its market data (each value read from
    the cache once) and one transaction that stores every outcome; each bot still ticks,
    fails and is stopped on its own. Bots not started within `budget_seconds` are handed back
    unticked (beat dispatches them again at once).
    """
    token = _claim_token(worker)
    bots = _claim_batch(bot_ids, token)
    data = MarketData()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    ran: list[_Ran] = []
    done = 0
    try:
        for bot in bots:
            if deadline is not None and time.monotonic() > deadline:
                logger.warning("bot batch ran out of time", extra={"left": len(bots) - done})
                break
            try:
                tick = _tick_claimed(bot, token, data)
            except Exception:  # one bot's failure outside the engine must not skip the others
                logger.exception("bot tick failed outside the engine", extra={"bot": str(bot.pk)})
                tick = None
            if tick is not None:
                ran.append(tick)
            done += 1
    finally:
        if done < len(bots):  # cut short (time limit, shutdown): hand the rest back now
            left = [bot.pk for bot in bots[done:]]
            Bot.objects.filter(pk__in=left, claimed_by=token).update(
                claimed_until=None, claimed_by=""
            )
        _store_all(ran, token)
    for tick in ran:
        try:
            _after_store(tick)
        except Exception:
            logger.exception("bot tick failed after storing", extra={"bot": str(tick.bot.pk)})
    return done


def bot_tick(*, bot_id, worker: str = "") -> bool:
    """Claim a due bot and run one tick; return False when it was not due or already claimed."""
    return bots_tick(bot_ids=[bot_id], worker=worker) == 1


@dataclass
class _Ran:
    """A tick that ran and waits to be stored with the rest of its batch."""

    bot: Bot
    out: TickOutcome
    fields: dict
    rows: list = dc_field(default_factory=list)  # its trades, events and snapshot
    stopped_meanwhile: bool | None = None  # None: not stored (the claim was lost)


def _tick_claimed(bot: Bot, token: str, data: MarketData) -> _Ran | None:
    now = timezone.now()
    seq = bot.tick_seq + 1
    lateness_ms = int((now - bot.next_tick_at).total_seconds() * 1000)
    halted = _halt_reason(bot)
    if halted:
        _release(bot, token)
        bots_kill_switch(reason=halted, user=bot.user)
        return None
    try:
        outcome = tick_run(bot, seq=seq, now=now, data=data)
    except Exception as exc:  # a bot never fails silently: every failure is in its log
        _failed(bot, token, exc, now=now)
        return None
    fields = _tick_fields(bot, outcome, seq=seq, now=now, lateness_ms=lateness_ms)
    return _Ran(bot, outcome, fields, _tick_rows(bot, outcome, now=now))


def _after_store(tick: _Ran) -> None:
    bot = tick.bot
    if tick.out.risk_stop:
        bot_risk_stop(bot=bot, reason=tick.out.risk_stop)
    elif tick.stopped_meanwhile:
        # The owner stopped the bot while this tick placed orders: cancel those too.
        bot.refresh_from_db(fields=["status", "sim"])
        bot_orders_cancel(bot=bot)


_halts = {"at": -1.0, "global": False, "users": frozenset()}


def halts_forget() -> None:
    """Drop this process's memo of the halt flags (after a change, and between tests)."""
    _halts["at"] = -1.0


def _halt_reason(bot: Bot) -> str:
    # Read at most once a second per process: a thousand ticks a second must not mean two
    # thousand halt queries. Nothing is lost in that second: the order path checks the halt
    # again before anything is sent, and switching the halt on stops the bots at once.
    now = time.monotonic()
    if now - _halts["at"] >= 1.0:
        _halts["global"] = trading_is_halted()
        _halts["users"] = frozenset(
            AccountLimits.objects.filter(trading_halted=True).values_list("user_id", flat=True)
        )
        _halts["at"] = now
    if _halts["global"]:
        return "trading is halted by an administrator"
    if bot.user_id in _halts["users"]:
        return "trading is halted for this account by an administrator"
    return ""


def _next_tick(bot: Bot, now):
    # Keep the cadence (lateness does not accumulate) but never schedule in the past.
    step = timedelta(seconds=bot.tick_interval_seconds)
    scheduled = bot.next_tick_at + step
    return scheduled if scheduled > now else now + step


def _tick_fields(bot: Bot, out: TickOutcome, *, seq: int, now, lateness_ms: int) -> dict:
    """The bot row's new values after a tick: only what changed, plus the schedule."""
    book = out.book
    fields = {
        "unrealized_pnl": out.unrealized,
        "tick_seq": seq,
        "last_tick_at": now,
        "last_tick_lateness_ms": lateness_ms,
        "next_tick_at": _next_tick(bot, now),
        "claimed_until": None,
        "claimed_by": "",
        "updated_at": now,
    }
    # A quiet tick changes none of these; leaving them out spares their JSON and SQL.
    changed = {
        "state": out.state,
        "book": book.to_json(),
        "realized_pnl": book.realized,
        "fees_quote": book.fees,
        "consecutive_failures": 0,
        "pnl_day": now.date(),
        "pnl_day_start": bot.pnl_day_start if bot.pnl_day == now.date() else bot.total_pnl,
    }
    if out.sim is not None:
        changed["sim"] = out.sim
    fields.update({k: v for k, v in changed.items() if getattr(bot, k) != v})
    return fields


def _tick_rows(bot: Bot, out: TickOutcome, *, now) -> list:
    """The rows a tick adds: its trades, its events and (at most once a minute) a snapshot."""
    rows = [*out.trades, *out.events]
    if bot.last_tick_at is None or out.trades or bot.last_tick_at.minute != now.minute:
        book = out.book
        rows.append(
            BotSnapshot(
                bot=bot,
                ts=now,
                total_pnl=book.realized + out.unrealized - book.fees,
                realized_pnl=book.realized,
                unrealized_pnl=out.unrealized,
                fees_quote=book.fees,
                price=out.prices.get(bot.symbol),
            )
        )
    return rows


def _store_row(tick: _Ran, token: str) -> None:
    """Write one tick's bot row if this batch still holds its claim."""
    pk, fields = tick.bot.pk, tick.fields
    # Only the claimant stores: a tick that outlived its lease is discarded. The status
    # condition spots, in the same query, an owner who stopped the bot during the tick.
    tick.stopped_meanwhile = None
    live = (St.RUNNING, St.PAUSED)
    if row_update(Bot, pk=pk, values=fields, where={"claimed_by": token, "status__in": live}):
        tick.stopped_meanwhile = False
    elif row_update(Bot, pk=pk, values=fields, where={"claimed_by": token}):
        tick.stopped_meanwhile = True
    else:
        seq = tick.fields["tick_seq"]
        logger.warning("bot tick lost its claim", extra={"bot": str(tick.bot.pk), "seq": seq})


def _insert_rows(ticks: list[_Ran]) -> None:
    rows = [row for tick in ticks if tick.stopped_meanwhile is not None for row in tick.rows]
    for model in (BotTrade, BotEvent, BotSnapshot):
        batch = [row for row in rows if type(row) is model]
        if batch:
            model.objects.bulk_create(batch)


def _store_all(ticks: list[_Ran], token: str) -> None:
    """Store a batch's outcomes in one transaction (one at a time if that fails)."""
    if not ticks:
        return
    try:
        with transaction.atomic():
            for tick in ticks:
                _store_row(tick, token)
            _insert_rows(ticks)
    except Exception:
        # One bad outcome must not cost the batch: store each on its own.
        logger.exception("storing a batch of bot ticks failed; storing them one by one")
        for tick in ticks:
            try:
                with transaction.atomic():
                    _store_row(tick, token)
                    _insert_rows([tick])
            except Exception:
                tick.stopped_meanwhile = None
                logger.exception("storing a bot tick failed", extra={"bot": str(tick.bot.pk)})
    for tick in ticks:
        if tick.stopped_meanwhile is not None:
            for name, value in tick.fields.items():
                setattr(tick.bot, name, value)


def _release(bot: Bot, token: str) -> None:
    Bot.objects.filter(pk=bot.pk, claimed_by=token).update(claimed_until=None, claimed_by="")


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, BotFailure):
        return str(exc)
    if isinstance(exc, errors.ExchangeError):
        return f"The exchange call failed: {exc.user_message}"
    return f"The tick failed unexpectedly ({type(exc).__name__}); see the worker log."


def _key_rejected(bot: Bot, exc: errors.KeyRejected) -> KeyUnusable:
    """The exchange refused the bot's key: disable it (as expired when it is) and say so."""
    from trading.key_queries import keys_without_secrets
    from trading.services.keys import key_reject

    key = keys_without_secrets().get(pk=bot.key_id)
    if exc.disable_key:
        key_reject(key=key, reason=exc.user_message, detail=exc.detail)
        key.refresh_from_db(fields=["status", "status_reason"])
    what = "expired" if key.is_expired else "rejected"
    return KeyUnusable(f"The exchange {what} the bot's key “{key.label}”: {exc.user_message}")


def _key_stop_message(bot: Bot, message: str) -> str:
    """Why a key problem stopped the bot, and what is still on the exchange."""
    unsent = OrderIntent.objects.filter(bot=bot, kind=OrderIntent.Kind.PLACE, status=S.NEW)
    for intent in unsent:
        intent_transition(
            intent,
            to=S.CANCELED,
            frm=(S.NEW,),
            fields={"reject_reason": "The bot stopped: its key cannot be used."},
            detail={"bot": str(bot.pk)},
        )
    resting = Order.objects.filter(intent__bot=bot, status=Order.Status.OPEN).count()
    if not bot.is_live or not resting:
        return f"{message} The bot stopped; it has no order left on the exchange."
    return (
        f"{message} The bot stopped. {resting} of its orders may still rest on the exchange "
        "(listed on the bot's page): cancel them on the exchange, or rotate the key and stop "
        "the bot again to cancel them from here."
    )


def _failed(bot: Bot, token: str, exc: Exception, *, now) -> None:
    if isinstance(exc, errors.KeyRejected):
        exc = _key_rejected(bot, exc)
    message = _failure_message(exc)
    if not isinstance(exc, BotFailure | errors.ExchangeError):
        logger.exception("bot tick failed", extra={"bot": str(bot.pk)})
    if isinstance(exc, KeyUnusable):
        _key_unusable_stop(bot, token, message, now=now)
        return
    failures = bot.consecutive_failures + 1
    backoff = timedelta(seconds=min(bot.tick_interval_seconds * failures, 300))
    with transaction.atomic():
        Bot.objects.filter(pk=bot.pk, claimed_by=token).update(
            consecutive_failures=failures,
            next_tick_at=now + backoff,
            claimed_until=None,
            claimed_by="",
            updated_at=now,
        )
        bot_event(bot, "error", message, level="error", failures=failures)
        if failures < MAX_FAILURES:
            return
        _halt(bot, status=St.ERROR, reason=f"{MAX_FAILURES} ticks failed in a row: {message}")
        _audit(bot, "bot.error", outcome=AuditEvent.Outcome.FAILURE, reason=message)
        bot_event(
            bot, "lifecycle", f"Stopped after {MAX_FAILURES} failed ticks in a row.", level="error"
        )
    bot_notify(bot=bot, kind="bot_error", title=f"Bot “{bot.name}” stopped on errors", body=message)


def _key_unusable_stop(bot: Bot, token: str, message: str, *, now) -> None:
    """Stop a bot whose key cannot be used, at once: retrying cannot help."""
    with transaction.atomic():
        Bot.objects.filter(pk=bot.pk, claimed_by=token).update(
            claimed_until=None, claimed_by="", updated_at=now
        )
        message = _key_stop_message(bot, message)
        if not _halt(bot, status=St.ERROR, reason=message[:300]):
            return
        _audit(bot, "bot.error", outcome=AuditEvent.Outcome.FAILURE, reason=message)
        bot_event(bot, "error", message, level="error")
    bot_notify(
        bot=bot, kind="bot_error", title=f"Bot “{bot.name}” stopped: key unusable", body=message
    )
