"""Pure matching rules: walking the synthetic book, and when a resting order trades.

No database here: inputs are Decimals, a Feed (deterministic market data) and an order's
matching state; outputs are fills. The ledger services apply them.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from itertools import islice

from paper.market import HOUR, SymbolSpec

MAX_LEVELS = 5000  # the deepest book Binance serves; a market order never walks further
EIGHT_DP = Decimal("0.00000001")


@dataclass(frozen=True)
class Fill:
    price: Decimal
    qty: Decimal
    is_maker: bool
    minute: int | None = None  # set for resting fills: the minute the price traded through


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def quote_amount(qty: Decimal, price: Decimal) -> Decimal:
    """Quote value of a fill, to Binance's 8 decimals."""
    return (qty * price).quantize(EIGHT_DP, rounding=ROUND_HALF_UP)


def fee_amount(received: Decimal, rate: Decimal) -> Decimal:
    """Commission on the received amount, to 8 decimals (half up)."""
    return (received * rate).quantize(EIGHT_DP, rounding=ROUND_HALF_UP)


def crosses(is_buy: bool, level_price: Decimal, limit: Decimal | None) -> bool:
    """Whether a book level is within a limit price (always, for market orders)."""
    return limit is None or (level_price <= limit if is_buy else level_price >= limit)


def take(
    levels: Iterable[tuple[Decimal, Decimal]],
    *,
    is_buy: bool,
    step: Decimal,
    qty: Decimal | None = None,
    quote: Decimal | None = None,
    limit: Decimal | None = None,
) -> list[Fill]:
    """Walk the opposite side of the book, best first, for a base quantity or a quote budget."""
    fills: list[Fill] = []
    remaining_qty, remaining_quote = qty, quote
    for price, size in islice(levels, MAX_LEVELS):
        if not crosses(is_buy, price, limit):
            break
        if remaining_qty is not None:
            amount = min(size, remaining_qty)
        else:
            amount = min(size, floor_step(remaining_quote / price, step))
        if amount <= 0:
            break
        fills.append(Fill(price=price, qty=amount, is_maker=False))
        if remaining_qty is not None:
            remaining_qty -= amount
            if remaining_qty <= 0:
                break
        else:
            remaining_quote -= amount * price
    return fills


def would_take(levels: Iterator[tuple[Decimal, Decimal]], is_buy: bool, price: Decimal) -> bool:
    """Whether a limit price reaches the best opposite level (LIMIT_MAKER must not)."""
    best, _ = next(levels)
    return crosses(is_buy, best, price)


def liquidity(spec: SymbolSpec, is_buy: bool, limit: Decimal, extreme: Decimal) -> Decimal:
    """Base quantity available to a resting order when the price reaches `extreme`.

    Only a price strictly through the limit fills; the deeper it goes, the more fills
    (spec.depth_per_bp per basis point), so a shallow touch gives a partial fill.
    """
    through = (limit - extreme) if is_buy else (extreme - limit)
    if through <= 0:
        return Decimal(0)
    basis_points = through / limit * 10000
    return floor_step(basis_points * spec.depth_per_bp, spec.step)


@dataclass(frozen=True)
class RestingState:
    """What the matcher needs to know about a resting limit order."""

    is_buy: bool
    price: Decimal
    remaining: Decimal
    placed_minute: int
    checked_minute: int
    minute_filled: Decimal


def _extreme(feed, state: RestingState, minute: int) -> Decimal:
    # During the minute it was placed an order sees only that minute's price; in later
    # minutes the whole candle (the wiggle is trading that happened within the minute).
    if minute == state.placed_minute:
        return feed.spec.price(feed.close_ticks(minute))
    candle = feed.minute_candle(minute)
    return feed.spec.price(candle.low if state.is_buy else candle.high)


def _hour_cannot_fill(feed, state: RestingState, minute: int) -> bool:
    if minute % HOUR or minute + HOUR - 1 > feed.minute or minute == state.checked_minute:
        return False
    low_high = feed.hour_low_high(minute)
    if low_high is None:
        return False
    low, high = (feed.spec.price(t) for t in low_high)
    return low >= state.price if state.is_buy else high <= state.price


def resting_fills(feed, state: RestingState) -> list[Fill]:
    """Return the maker fills a resting limit order gets from its last check up to now."""
    fills: list[Fill] = []
    remaining = state.remaining
    minute = state.checked_minute
    while minute <= feed.minute and remaining > 0:
        if _hour_cannot_fill(feed, state, minute):
            minute += HOUR
            continue
        available = liquidity(feed.spec, state.is_buy, state.price, _extreme(feed, state, minute))
        if minute == state.checked_minute:
            available -= state.minute_filled
        amount = min(remaining, available)
        if amount > 0:
            fills.append(Fill(price=state.price, qty=amount, is_maker=True, minute=minute))
            remaining -= amount
        minute += 1
    return fills
