"""One tick of one bot: market data, fills, P&L, risk, the strategy's decision, its orders.

The engine does every exchange call; the strategy stays pure. Live orders go through the
order path (`order_place` / `order_cancel`) with intent ids derived from (bot, tick, leg), so a
tick retried after a lost worker finds the intents it already created instead of doubling
them. Dry-run orders go to a simulated wallet that uses the backtest broker's fill rules.

`tick_run` computes everything and returns a TickOutcome; nothing about the bot row itself is
written here (services/bots.py stores the outcome in one transaction).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

from trading.bots.dryrun import DryRunWallet
from trading.bots.market import MarketData, key_balances, market_snapshot
from trading.bots.models import Bot, BotEvent, BotTrade
from trading.bots.pnl import PnlBook
from trading.bots.risk import RiskLimits, daily_loss_breached, order_refusal
from trading.exchange import errors
from trading.exchange.connect import client_for_key
from trading.models import Fill as FillRow
from trading.models import Order, OrderIntent
from trading.services.ledger import fills_record
from trading.services.orders import OrderRefused, order_cancel, order_place
from trading.services.submission import intent_apply
from trading.services.transitions import intent_transition
from trading.strategies import strategy_build
from trading.strategies.types import Fill, OpenOrder, OrderRequest, Position, split_symbol

S = OrderIntent.Status
LIVE_OPEN = (S.NEW, S.SUBMITTING, S.UNKNOWN, S.OPEN)
AMOUNT_STEP = Decimal("0.00000001")


class BotFailure(Exception):
    """A tick could not run; the message is for the bot's owner (no secrets)."""


class KeyUnusable(BotFailure):
    """The bot's key cannot be used (disabled, expired, revoked, rejected): stop at once."""


@dataclass
class TickOutcome:
    state: dict
    book: PnlBook
    unrealized: Decimal
    prices: dict[str, Decimal]
    sim: dict | None = None
    trades: list[BotTrade] = field(default_factory=list)
    events: list[BotEvent] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)
    risk_stop: str = ""

    def event(self, bot, kind, message, *, level=BotEvent.Level.INFO, **data) -> None:
        self.events.append(
            BotEvent(bot=bot, kind=kind, level=level, message=message[:500], data=data)
        )


def leg_id(bot: Bot, seq: int, leg: str) -> uuid.UUID:
    """The intent id of one leg of one tick: the same on every retry of that tick."""
    return uuid.uuid5(bot.pk, f"{seq}:{leg}")


def _fee_quote(fill: Fill, quote: str) -> Decimal:
    return fill.fee if fill.fee_asset == quote else fill.fee * fill.price


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _describe(request: OrderRequest) -> str:
    size = (
        f"{_fmt(request.quote_amount)} quote of" if request.amount is None else _fmt(request.amount)
    )
    price = f" @ {_fmt(request.price)}" if request.price is not None else ""
    return f"{request.side} {size} {request.symbol} {request.type}{price} ({request.tag})"


# --- the two venues -----------------------------------------------------------------------------


class DryVenue:
    """Orders and fills simulated locally against live prices; nothing is sent."""

    def __init__(self, bot: Bot, strategy, client_factory, data: MarketData):
        self.bot = bot
        self.wallet = DryRunWallet(
            sim=bot.sim, symbols=strategy.symbols(), fee_rate=settings.BOTS_DRY_RUN_FEE_RATE
        )
        if not self.wallet.funded:
            assets = {a for s in strategy.symbols() for a in split_symbol(s)}
            balances = key_balances(key_id=bot.key_id, client_factory=client_factory, data=data)
            self.wallet.fund({a: balances.get(a, Decimal(0)) for a in sorted(assets)})

    def fills(self, out: TickOutcome, seq: int, now: datetime) -> list[Fill]:
        fills, rejected = self.wallet.match(out.prices, now)
        for reason in rejected:
            out.event(self.bot, "order", f"Simulated order rejected: {reason}", level="warning")
        for fill in fills:
            out.trades.append(_trade(self.bot, seq, fill, dry_run=True))
        return fills

    def open_orders(self) -> list[OpenOrder]:
        return self.wallet.open_orders()

    def position(self) -> Position:
        return self.wallet.position()

    def cancel(self, out: TickOutcome, seq: int, ref: str) -> bool:
        return self.wallet.cancel(ref)

    def place(self, out: TickOutcome, seq: int, request: OrderRequest, price: Decimal):
        ref, why = self.wallet.place(request)
        if ref is None:
            out.event(self.bot, "order", f"Simulated order rejected: {why}", level="warning")
        return ref

    def finish(self, out: TickOutcome) -> None:
        out.sim = self.wallet.to_json()


class LiveVenue:
    """Orders through the order path to the exchange (the paper exchange counts as live)."""

    def __init__(self, bot: Bot, strategy, client_factory, data: MarketData):
        self.bot, self.strategy, self.client_factory = bot, strategy, client_factory
        self.data = data
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def _intents(self):
        return OrderIntent.objects.filter(bot=self.bot, kind=OrderIntent.Kind.PLACE)

    def fills(self, out: TickOutcome, seq: int, now: datetime) -> list[Fill]:
        self._refresh_open()
        # Fills of the bot's orders not yet booked, plus those a crashed try of this tick booked.
        rows = list(
            FillRow.objects.filter(intent__bot=self.bot, bot_trade__isnull=True)
            .select_related("intent")
            .order_by("executed_at", "id")
        )
        fills = []
        for row in rows:
            fill = Fill(
                ref=str(row.intent_id),
                tag=row.intent.bot_tag,
                symbol=row.symbol,
                side=row.side,
                price=row.price,
                amount=row.amount,
                fee=row.fee or Decimal(0),
                fee_asset=row.fee_currency,
                time=row.executed_at,
            )
            trade = _trade(self.bot, seq, fill, dry_run=False)
            trade.fill = row
            out.trades.append(trade)
            fills.append(fill)
        return fills

    def _refresh_open(self) -> None:
        """Ask the exchange about the bot's open orders that left its open list."""
        open_intents = list(self._intents().filter(status=S.OPEN).select_related("key"))
        if not open_intents:
            return
        key = self.bot.key
        for symbol in sorted({i.symbol for i in open_intents}):
            listed = self.data.get(
                f"key:{key.pk}:open:{symbol}",
                lambda symbol=symbol: {
                    o.client_order_id for o in self.client.fetch_open_orders(symbol)
                },
            )
            for intent in open_intents:
                if intent.symbol == symbol and intent.client_order_id not in listed:
                    self._settle(intent)

    def _settle(self, intent: OrderIntent) -> None:
        try:
            order = self.client.fetch_order(
                symbol=intent.symbol, client_order_id=intent.client_order_id
            )
        except errors.OrderNotFound:
            return
        if order.is_open:
            return  # listed late (the open list was from earlier in this window)
        intent_apply(intent, order, frm=(S.OPEN,))
        if order.filled and not order.trades:
            trades = self.client.fetch_order_trades(symbol=intent.symbol, order_id=order.id)
            fills_record(key=intent.key, trades=trades, intent=intent)

    def open_orders(self) -> list[OpenOrder]:
        return [
            OpenOrder(
                ref=str(i.pk),
                tag=i.bot_tag,
                symbol=i.symbol,
                side=i.side,
                type=i.type,
                price=i.price,
                amount=i.amount,
                filled=i.filled,
            )
            for i in self._intents().filter(status__in=LIVE_OPEN).order_by("created_at")
        ]

    def position(self) -> Position:
        balances = key_balances(
            key_id=self.bot.key_id, client_factory=self.client_factory, data=self.data
        )
        return Position(dict(balances))

    def cancel(self, out: TickOutcome, seq: int, ref: str) -> bool:
        intent = self._intents().filter(pk=ref).first()
        if intent is None:
            return False
        if intent.status == S.NEW:
            return intent_transition(
                intent,
                to=S.CANCELED,
                frm=(S.NEW,),
                fields={"reject_reason": "Cancelled by the bot before it was sent."},
                detail={"bot": str(self.bot.pk)},
            )
        order = Order.objects.filter(intent=intent, status=Order.Status.OPEN).first()
        if order is None:
            return False  # not on the book yet (sending or being checked): next tick
        cancel_id = leg_id(self.bot, seq, f"cancel:{ref}")
        pending = OrderIntent.objects.filter(
            kind=OrderIntent.Kind.CANCEL, target_order=order, status__in=(S.NEW, S.SUBMITTING)
        )
        if OrderIntent.objects.filter(pk=cancel_id).exists() or pending.exists():
            return True
        order_cancel(user=self.bot.user, order=order, bot=self.bot, intent_id=cancel_id)
        return True

    def place(self, out: TickOutcome, seq: int, request: OrderRequest, price: Decimal):
        intent_id = leg_id(self.bot, seq, request.tag)
        if OrderIntent.objects.filter(pk=intent_id).exists():
            return str(intent_id)  # a retry of this tick: the intent already exists
        amount = request.amount
        if amount is None:  # a market buy for a quote amount: size it at the ask
            amount = (request.quote_amount / price).quantize(AMOUNT_STEP, rounding=ROUND_DOWN)
        intent = order_place(
            user=self.bot.user,
            key=self.bot.key,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            amount=amount,
            price=request.price if request.type == "limit" else None,
            source=OrderIntent.Source.BOT,
            bot=self.bot,
            bot_tag=request.tag,
            intent_id=intent_id,
        )
        return str(intent.pk)

    def finish(self, out: TickOutcome) -> None:
        out.sim = None


def _trade(bot: Bot, seq: int, fill: Fill, *, dry_run: bool) -> BotTrade:
    quote = split_symbol(fill.symbol)[1]
    return BotTrade(
        bot=bot,
        tick_seq=seq,
        ts=fill.time,
        ref=fill.ref,
        tag=fill.tag,
        symbol=fill.symbol,
        side=fill.side,
        price=fill.price,
        amount=fill.amount,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        fee_quote=_fee_quote(fill, quote),
        dry_run=dry_run,
    )


# --- the tick ---------------------------------------------------------------------------------


def tick_run(bot: Bot, *, seq: int, now: datetime, data: MarketData | None = None) -> TickOutcome:
    """Run one decision step of `bot` (tick number `seq`) and return what to store.

    `data` is shared by the ticks of one batch: market data and exchange clients per batch.
    """
    data = data or MarketData()
    try:
        strategy = strategy_build(slug=bot.strategy, symbol=bot.symbol, params=bot.params)
    except ValueError as exc:
        raise BotFailure(f"The bot's parameters are no longer valid: {exc}") from None
    if bot.is_live and (bot.key.status != "active" or not bot.key.scope_trade):
        raise KeyUnusable("The bot's key is not active for trading, so the bot cannot run live.")

    def factory():
        return data.client(bot.key_id, lambda: client_for_key(bot.key))

    market = market_snapshot(
        exchange=bot.key.exchange, client_factory=factory, strategy=strategy, now=now, data=data
    )
    book = PnlBook.from_json(bot.book, realized=bot.realized_pnl, fees=bot.fees_quote)
    out = TickOutcome(
        # A deep copy: the store writes the state only when it differs from the row's, so a
        # strategy that changed a nested value in place must not change the row's copy too.
        state=copy.deepcopy(bot.state) if bot.state else strategy.initial_state(),
        book=book,
        unrealized=Decimal(0),
        prices={s: t.last for s, t in market.tickers.items()},
    )
    venue = (LiveVenue if bot.is_live else DryVenue)(bot, strategy, factory, data)
    fills = venue.fills(out, seq, now)
    for trade in out.trades:
        book.apply(
            symbol=trade.symbol,
            side=trade.side,
            price=trade.price,
            amount=trade.amount,
            fee_quote=trade.fee_quote,
        )
        out.event(
            bot,
            "order",
            f"Filled: {trade.side} {_fmt(trade.amount)} {trade.symbol} @ {_fmt(trade.price)}"
            f" ({trade.tag or trade.ref})",
            dry_run=trade.dry_run,
        )
    out.unrealized = book.unrealized(out.prices)
    limits = RiskLimits.of(bot)
    day_pnl = book.realized + out.unrealized - book.fees - _day_start(bot, now)
    if daily_loss_breached(limits, day_pnl=day_pnl):
        out.risk_stop = (
            f"Daily loss of {_fmt(-day_pnl.quantize(Decimal('0.01')))} {bot.quote_asset} reached "
            f"the limit of {_fmt(limits.daily_loss_limit)}."
        )
        venue.finish(out)
        return out
    _decide(bot, strategy, market, venue, out, seq, fills, limits)
    venue.finish(out)
    return out


def _day_start(bot: Bot, now: datetime) -> Decimal:
    """Total P&L at the start of today (UTC); a new day starts from the last stored total."""
    if bot.pnl_day == now.date():
        return bot.pnl_day_start
    return bot.total_pnl


def _decide(bot, strategy, market, venue, out: TickOutcome, seq, fills, limits) -> None:
    open_orders = venue.open_orders()
    position = venue.position()
    decision = strategy.decide(out.state, market, open_orders, position, fills)
    out.state = decision.state
    cancelled = [ref for ref in decision.cancel if venue.cancel(out, seq, ref)]
    remaining = [o for o in open_orders if o.ref not in set(cancelled)]
    holdings = dict(position.balances)
    placed = []
    for request in decision.place:
        price = market.tickers[request.symbol].ask or out.prices[request.symbol]
        why = order_refusal(limits, request, price=price, open_orders=remaining, holdings=holdings)
        if why:
            out.event(
                bot,
                "risk",
                f"Order refused by the bot's limits: {why}.",
                level="warning",
                order=_describe(request),
            )
            continue
        try:
            ref = venue.place(out, seq, request, price)
        except OrderRefused as exc:
            out.event(
                bot,
                "risk",
                f"Order refused: {exc.reason}",
                level="warning",
                order=_describe(request),
            )
            continue
        if ref is None:
            continue
        placed.append(_describe(request))
        out.placed.append(ref)
        amount = request.amount if request.amount is not None else request.quote_amount / price
        remaining.append(
            OpenOrder(
                ref, request.tag, request.symbol, request.side, request.type, request.price, amount
            )
        )
    if placed or cancelled or decision.notes:
        message = f"Placed {len(placed)}, cancelled {len(cancelled)}"
        if decision.notes:
            message += ": " + "; ".join(decision.notes)
        out.event(bot, "decision", message, placed=placed, cancelled=cancelled, seq=seq)
