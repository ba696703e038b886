"""Owner-scoped reads for the dashboard pages: portfolio value, key health, market data.

Each function costs a fixed number of queries whatever the amount of data, so the pages'
query count does not grow with a user's history (tests/trading/test_pages_queries.py).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.models import AuditEvent, ExchangeKey
from accounts.selectors import key_list_for_user, key_rows_for_user
from accounts.services.audit import audit_record
from trading import sql_pages
from trading.models import (
    Candle,
    Fill,
    MarketInfo,
    MarketPrice,
    Order,
    OrderBookSnapshot,
    OrderIntent,
)
from trading.selectors import (
    balances_for_user,
    fill_time_bounds,
    fills_for_user,
    order_get_for_user,
)

QUOTES = ("USDT", "USDC", "BTC", "ETH", "EUR", "USD")
STABLE = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR"})
ROTATION_WARNING_DAYS = 14
ONE = Decimal(1)


@dataclass(frozen=True)
class Decimals:
    """How many decimals to show for a market's prices and amounts."""

    price: int
    amount: int


def asset_decimals(asset: str) -> int:
    """Return sensible display decimals for an amount of an asset with no market precision."""
    return 2 if asset.upper() in STABLE else 8


def _fallback(symbol: str) -> Decimals:
    base, _, quote = symbol.partition("/")
    return Decimals(price=2 if quote in STABLE else 8, amount=asset_decimals(base))


def market_decimals(*, pairs) -> dict[tuple[str, str], Decimals]:
    """Return display decimals per (exchange, symbol): the market's precision, else a default."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = sql_pages.market_decimal_rows(
        exchanges=sorted({e for e, _ in pairs}), symbols=sorted({s for _, s in pairs})
    )
    out = {pair: _fallback(pair[1]) for pair in pairs}
    for exchange, symbol, price, amount in rows:
        if (exchange, symbol) in out:
            default = out[(exchange, symbol)]
            out[(exchange, symbol)] = Decimals(
                price=default.price if price is None else price,
                amount=default.amount if amount is None else amount,
            )
    return out


def decorate(rows, *, exchange_of=lambda r: r.key.exchange):
    """Attach `dec` (Decimals) to order or fill rows, in one query."""
    rows = list(rows)
    decimals = market_decimals(pairs={(exchange_of(r), r.symbol) for r in rows})
    for row in rows:
        row.dec = decimals[(exchange_of(row), row.symbol)]
    return rows


FILL_FIELDS = (
    "pk",
    "executed_at",
    "symbol",
    "side",
    "price",
    "amount",
    "cost",
    "fee",
    "fee_currency",
)
ORDER_FIELDS = ("pk", "placed_at", "symbol", "side", "type", "price", "amount", "filled")


def rows_of(queryset: QuerySet, fields, *, decimals: bool = True) -> list[SimpleNamespace]:
    """Load display rows as light objects (a third of a model instance's cost), with `dec`.

    Each row has the named fields plus `key` (id, label, exchange); for the hot tables only.
    With decimals=False the caller attaches `dec` itself, e.g. one `decorate` for three tables.
    """
    out = []
    for values in queryset.values(*fields, "key_id", "key__label", "key__exchange"):
        key = SimpleNamespace(
            id=values.pop("key_id"),
            label=values.pop("key__label"),
            exchange=values.pop("key__exchange"),
        )
        out.append(SimpleNamespace(key=key, key_id=key.id, **values))
    return decorate(out) if decimals else out


def _rows_from(rows, fields) -> list[SimpleNamespace]:
    """rows_of's rows from trading.sql_pages's lists: `fields`, key_id, key label, key exchange."""
    n = len(fields)
    out = []
    for row in rows:
        key = SimpleNamespace(id=row[n], label=row[n + 1], exchange=row[n + 2])
        out.append(SimpleNamespace(key=key, key_id=key.id, **dict(zip(fields, row, strict=False))))
    return out


def open_order_rows_for_user(*, user, limit: int) -> list[SimpleNamespace]:
    """rows_of(open_orders_for_user(user=)[:limit], ORDER_FIELDS, decimals=False), newest first.

    Without `dec`: the caller decorates (one query for several tables).
    """
    return _rows_from(sql_pages.open_order_rows(user_id=user.pk, limit=limit), ORDER_FIELDS)


# --- portfolio ---------------------------------------------------------------------------------


@dataclass
class BalanceRow:
    balance: object
    price: Decimal | None
    value: Decimal | None
    decimals: int


@dataclass
class KeyBalances:
    key: ExchangeKey
    rows: list[BalanceRow] = field(default_factory=list)
    value: Decimal = Decimal(0)


@dataclass
class AssetTotal:
    asset: str
    total: Decimal = Decimal(0)
    value: Decimal | None = Decimal(0)
    decimals: int = 8


@dataclass
class Portfolio:
    quote: str
    keys: list[KeyBalances]
    total: Decimal
    unpriced: list[str]
    prices_as_of: datetime | None
    assets: list[AssetTotal] = field(default_factory=list)


def _price(ticker: MarketPrice) -> Decimal | None:
    if ticker.last:
        return ticker.last
    if ticker.bid and ticker.ask:
        return (ticker.bid + ticker.ask) / 2
    return None


def _price_map(balances, quote: str) -> dict:
    symbols = set()
    for b in balances:
        symbols |= {f"{b.asset}/{quote}", f"{quote}/{b.asset}"}
    tickers = sql_pages.market_prices(
        exchanges=sorted({b.key.exchange for b in balances}), symbols=sorted(symbols)
    )
    return {(t.exchange, t.symbol): t for t in tickers}


def _balances(user, keys) -> list:
    if keys is None:
        return list(balances_for_user(user=user))
    # The caller loaded the keys already: attach them instead of joining them again.
    by_id = {key.pk: key for key in keys}
    rows = sql_pages.balances_of_user(user_id=user.pk)
    balances = [b for b in rows if b.key_id in by_id]  # a key connected since: next time
    for b in balances:
        b.key = by_id[b.key_id]
    return balances


def _value_of(balance, quote: str, prices: dict) -> tuple[Decimal | None, MarketPrice | None]:
    if balance.asset == quote:
        return ONE, None
    exchange = balance.key.exchange
    direct = prices.get((exchange, f"{balance.asset}/{quote}"))
    if direct and _price(direct):
        return _price(direct), direct
    inverse = prices.get((exchange, f"{quote}/{balance.asset}"))
    if inverse and _price(inverse):
        return ONE / _price(inverse), inverse
    return None, None


def portfolio_for_user(*, user, quote: str = "USDT", keys=None) -> Portfolio:
    """Value every balance of the user's keys in `quote` through the latest stored prices.

    `keys`: the user's keys (keys_for_user), when the caller has them already.
    """
    balances = _balances(user, keys)
    prices = _price_map(balances, quote) if balances else {}
    per_key: dict = {}
    unpriced, stamps = set(), []
    for b in balances:
        price, ticker = _value_of(b, quote, prices)
        value = None if price is None else b.total * price
        group = per_key.setdefault(b.key_id, KeyBalances(key=b.key))
        group.rows.append(BalanceRow(b, price, value, asset_decimals(b.asset)))
        if value is None:
            unpriced.add(b.asset)
        else:
            group.value += value
        if ticker is not None:
            stamps.append(ticker.fetched_at)
    keys = list(per_key.values())
    return Portfolio(
        quote=quote,
        keys=keys,
        total=sum((k.value for k in keys), Decimal(0)),
        unpriced=sorted(unpriced),
        prices_as_of=min(stamps) if stamps else None,
        assets=_by_asset(keys),
    )


def _by_asset(keys: list[KeyBalances]) -> list[AssetTotal]:
    assets: dict[str, AssetTotal] = {}
    for group in keys:
        for row in group.rows:
            total = assets.setdefault(
                row.balance.asset, AssetTotal(row.balance.asset, decimals=row.decimals)
            )
            total.total += row.balance.total
            total.value = (
                None if row.value is None or total.value is None else (total.value + row.value)
            )
    return sorted(assets.values(), key=lambda a: (a.value is None, -(a.value or 0), a.asset))


# --- key health ----------------------------------------------------------------------------------


@dataclass
class KeyHealth:
    key: ExchangeKey
    warnings: list[str]


def _key_warnings(key: ExchangeKey, now: datetime) -> list[str]:
    warnings = []
    if key.status == ExchangeKey.Status.UNDECRYPTABLE:
        warnings.append("Its credentials cannot be decrypted: reconnect it.")
    elif key.status != ExchangeKey.Status.ACTIVE:
        reason = f" ({key.status_reason})" if key.status_reason else ""
        warnings.append(f"It is {key.get_status_display().lower()}{reason}.")
    if key.scope_withdraw:
        warnings.append("It may withdraw funds: keytrade never needs that scope.")
    if not key.ip_whitelist and key.verified_ip_restricted is not True:
        warnings.append("It has no IP whitelist: restrict it to this server's address.")
    if key.rotate_by and key.rotate_by <= now:
        warnings.append("It is due for rotation.")
    elif key.rotate_by and key.rotate_by <= now + timedelta(days=ROTATION_WARNING_DAYS):
        warnings.append(f"Rotate it by {key.rotate_by:%Y-%m-%d}.")
    if key.exchange_expires_at and key.exchange_expires_at <= now + timedelta(days=7):
        warnings.append(f"The exchange expires it on {key.exchange_expires_at:%Y-%m-%d}.")
    if key.last_error and key.status == ExchangeKey.Status.ACTIVE:
        warnings.append(f"Last error: {key.last_error}")
    return warnings


def key_health_for_user(*, user, keys=None) -> list[KeyHealth]:
    """Return the user's keys that need attention, each with plain-language warnings.

    `keys`: the user's keys (keys_for_user), when the caller has them already.
    """
    now = timezone.now()
    out = []
    for key in key_list_for_user(user=user) if keys is None else keys:
        warnings = _key_warnings(key, now)
        if warnings:
            out.append(KeyHealth(key, warnings))
    return out


def keys_for_user(*, user) -> list[ExchangeKey]:
    """Return the user's keys (no credentials), for filters and selects."""
    return key_rows_for_user(user=user)


def key_choices_for_user(*, user) -> list[ExchangeKey]:
    """Return the user's keys with only what a filter shows (id, label, exchange), newest first.

    A third of keys_for_user's cost; any other field would cost a query per key to read.
    """
    return key_rows_for_user(user=user, fields=("id", "label", "exchange"))


# --- orders and fills ---------------------------------------------------------------------


def order_get_for_user_audited(*, user, id, request=None) -> Order:
    """Return one of the user's exchange orders; 404 otherwise, auditing attempts on others'."""
    try:
        return order_get_for_user(user=user, id=id)
    except Http404:
        if Order.objects.filter(pk=id).exists():
            audit_record(
                event_type="access.denied",
                actor=user,
                request=request,
                target_type=Order._meta.label_lower,
                target_id=str(id),
                outcome=AuditEvent.Outcome.DENIED,
            )
        raise


def fills_today_for_user(*, user, limit: int = 50, decimals: bool = True) -> list[Fill]:
    """Return the user's fills since midnight UTC, newest first (at most `limit`)."""
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = _rows_from(
        sql_pages.fill_rows_since(user_id=user.pk, since=start, limit=limit), FILL_FIELDS
    )
    return decorate(rows) if decimals else rows


def bot_filter_field() -> str | None:
    """Return the lookup that ties a fill to a bot, if the bot models exist yet."""
    for model, lookup in ((Fill, "bot"), (OrderIntent, "intent__bot")):
        try:
            model._meta.get_field("bot")
        except FieldDoesNotExist:
            continue
        return lookup
    return None


def fills_filtered(*, user, key_id=None, symbol=None, side=None, bot=None, **dates) -> QuerySet:
    """Return the user's fills with the Fills page's filters applied."""
    rows = fills_for_user(user=user, key_id=key_id, symbol=symbol, side=side, **dates)
    lookup = bot_filter_field()
    if bot and lookup:
        rows = rows.filter(**{lookup: bot})
    return rows


def fills_totals_for_user(*, user, **filters) -> dict:
    """Return the Fills page's totals and count from the daily totals (a few hundred rows).

    filters: key_id, symbol, side, date_from, date_to, as fills_for_user takes them.
    """
    per_symbol, fees = sql_pages.fill_totals_rows(user_id=user.pk, **filters)
    count = sum(row["count"] for row in per_symbol)
    return {"per_symbol": per_symbol, "fees": fees, "count": count}


def fill_day_counts_for_user(*, user, **filters) -> list[tuple[date, int]]:
    """Return (UTC day, number of fills) for the filtered fills, newest day first.

    filters: as fills_totals_for_user takes them. From the daily totals: one row per day.
    """
    return [(day, n) for day, n in sql_pages.fill_day_count_rows(user_id=user.pk, **filters) if n]


def fills_summary(fills: QuerySet) -> dict:
    """Return totals per symbol and side (quantity, notional, count) and fees per currency."""
    base = fills.order_by()
    per_symbol = list(
        base.values("symbol", "side")
        .annotate(amount=Sum("amount"), cost=Sum("cost"), count=Count("id"))
        .order_by("symbol", "side")
    )
    fees = list(
        base.exclude(Q(fee__isnull=True) | Q(fee_currency=""))
        .values("fee_currency")
        .annotate(fee=Sum("fee"))
        .order_by("fee_currency")
    )
    return {"per_symbol": per_symbol, "fees": fees, "count": sum(r["count"] for r in per_symbol)}


# --- market data -----------------------------------------------------------------------------


def market_snapshot(*, exchange: str, symbol: str) -> dict:
    """Return the stored ticker, order book and market rules of one symbol (None when absent)."""
    return {
        "price": MarketPrice.objects.filter(exchange=exchange, symbol=symbol).first(),
        "book": OrderBookSnapshot.objects.filter(exchange=exchange, symbol=symbol).first(),
        "info": MarketInfo.objects.filter(exchange=exchange, symbol=symbol).first(),
        "dec": market_decimals(pairs={(exchange, symbol)})[(exchange, symbol)],
    }


def candles_for(*, exchange: str, symbol: str, timeframe: str, limit: int = 500) -> list[Candle]:
    """Return the newest stored candles, oldest first."""
    rows = Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe=timeframe)
    return list(reversed(rows.order_by("-opened_at")[:limit]))


def chart_fills_for_user(*, user, key_id, symbol: str, since: datetime | None, limit: int = 500):
    """Return the user's fills on one key and symbol since a time, for chart markers."""
    rows = fills_for_user(user=user, key_id=key_id, symbol=symbol)
    if since is not None:
        rows = rows.filter(executed_at__gte=since)
    return list(rows.values("executed_at", "side", "price", "amount")[:limit])


def _display(model, name: str):
    """The get_<name>_display of a choices field, for rows that are not model instances."""
    labels = {value: str(label) for value, label in model._meta.get_field(name).flatchoices}
    return lambda value: labels.get(value, value)


_KIND_LABEL = _display(OrderIntent, "kind")
_STATUS_LABEL = _display(OrderIntent, "status")


def pending_intents_for_user(*, user, limit: int = 20, decimals: bool = True):
    """Return the user's order requests still on their way to the exchange, newest first.

    Light rows with what the overview shows: created_at, kind, symbol, side, amount, price,
    status, get_kind_display, get_status_display and key (label, exchange), read by
    trading.sql_pages in one statement.
    """
    rows = []
    for row in sql_pages.pending_intent_rows(user_id=user.pk, limit=limit):
        pk, created_at, kind, symbol, side, amount, price, status, label, exchange = row
        rows.append(
            SimpleNamespace(
                pk=pk,
                id=pk,
                created_at=created_at,
                kind=kind,
                symbol=symbol,
                side=side,
                amount=amount,
                price=price,
                status=status,
                get_kind_display=_KIND_LABEL(kind),
                get_status_display=_STATUS_LABEL(status),
                key=SimpleNamespace(label=label, exchange=exchange),
            )
        )
    return decorate(rows) if decimals else rows


DEFAULT_FEE_RATE = Decimal("0.001")


@dataclass(frozen=True)
class OrderEstimate:
    price: Decimal | None
    price_source: str
    cost: Decimal | None
    fee_rate: Decimal
    fee: Decimal | None
    total: Decimal | None


def _best(levels) -> Decimal | None:
    return Decimal(levels[0][0]) if levels else None


def order_estimate(*, side: str, type: str, amount: Decimal, price, snapshot: dict):
    """Estimate an order's cost and fee in the quote currency from stored market data."""
    book, ticker, info = snapshot["book"], snapshot["price"], snapshot["info"]
    source = "your limit price"
    if type != "limit":
        price, source = None, "the last price"
        if book is not None:
            price = _best(book.asks if side == "buy" else book.bids)
            source = "the best ask" if side == "buy" else "the best bid"
        if price is None and ticker is not None:
            price, source = ticker.last, "the last price"
    rate = DEFAULT_FEE_RATE
    if info is not None and info.taker_fee is not None:
        rate = info.taker_fee
    cost = None if price is None else amount * price
    fee = None if cost is None else cost * rate
    total = None if cost is None else (cost + fee if side == "buy" else cost - fee)
    return OrderEstimate(price, source if price is not None else "", cost, rate, fee, total)


class FillsPage:
    """A fills queryset sliced for a Paginator with a deferred join, one key at a time.

    Per key, the page's ids are read in the (key, -executed_at, -id) index's own order (no
    sort); several keys' ids are merged here. Then only the page's rows are loaded.

    Deep pages: an OFFSET still walks every index entry it skips (50,000 for page 1,000),
    and merging keys reads that many rows per key. With `day_counts` (a callable returning
    fill_day_counts_for_user's list for the same filters) a page past DEEP rows first finds
    the UTC day it starts in, then reads from that day's end: the skip is bounded by one
    day's fills, so page 1,000 costs about what page 1 does.
    """

    DEEP = 500  # rows: ten pages; below it the plain skip is cheaper than a query

    def __init__(self, fills, *, key_ids, count: int, day_counts=None, user=None, filters=None):
        # fills: the filtered queryset, or a callable returning it, called only when the
        # written statements cannot answer (a bot filter; no user or filters given).
        self._fills = fills
        self.key_ids = list(key_ids)
        self.count = count
        self.day_counts = day_counts
        self.ordered = True
        # With the user and the page's plain filters (no bot, which the daily totals and
        # trading.sql_pages do not know), each key's ids are read by
        # trading.sql_pages.fill_page_ids, the same statement without building it through
        # the ORM on every request.
        self.plain = None
        if user is not None and filters is not None and not filters.get("bot"):
            self.plain = (user.pk, filters)

    def __len__(self) -> int:
        return self.count

    @cached_property
    def fills(self) -> QuerySet:
        fills = self._fills() if callable(self._fills) else self._fills
        return fills.order_by("-executed_at", "-pk")

    def _skip_days(self, start: int) -> tuple[datetime | None, int]:
        """Return the end of the day holding row `start` and the rows newer than that day."""
        newer = 0
        for day, count in self.day_counts():
            if newer + count > start:
                return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=1), newer
            newer += count
        return None, 0

    def _key_ids(
        self, key_id, *, end, offset: int, limit: int, times: bool = True
    ) -> list[tuple[datetime, int]] | list[int]:
        """One key's (executed_at, id) from `offset`, newest first; with times=False the ids."""
        if self.plain is None:
            fills = self.fills if end is None else self.fills.filter(executed_at__lt=end)
            fills = fills.filter(key_id=key_id)
            rows = (
                fills.values_list("executed_at", "pk")
                if times
                else fills.values_list("pk", flat=True)
            )
            return list(rows[offset : offset + limit])
        user_id, filters = self.plain
        since, before = fill_time_bounds(filters.get("date_from"), filters.get("date_to"))
        if end is not None:
            before = end if before is None else min(before, end)
        return sql_pages.fill_page_ids(
            user_id=user_id,
            key_id=key_id,
            offset=offset,
            limit=limit,
            symbol=filters.get("symbol"),
            side=filters.get("side"),
            since=since,
            before=before,
            times=times,
        )

    def _ids(self, window: slice) -> list[int]:
        start, stop = window.start or 0, window.stop or self.count
        end = None
        if start >= self.DEEP and self.day_counts is not None:
            end, skipped = self._skip_days(start)
            start, stop = start - skipped, stop - skipped
        if len(self.key_ids) == 1:  # nothing to merge: the ids alone
            key_id = self.key_ids[0]
            return self._key_ids(key_id, end=end, offset=start, limit=stop - start, times=False)
        per_key = [self._key_ids(k, end=end, offset=0, limit=stop) for k in self.key_ids]
        merged = heapq.merge(*per_key, reverse=True)
        return [pk for _, pk in itertools.islice(merged, start, stop)]

    def __getitem__(self, window: slice) -> list[SimpleNamespace]:
        ids = self._ids(window) if self.key_ids else []
        if not ids:
            return []
        return decorate(_rows_from(sql_pages.fill_rows_by_ids(ids=ids), FILL_FIELDS))
