"""The market simulator: deterministic prices, candles and order books for the paper exchange.

Each symbol follows a geometric random walk at one-minute resolution. The walk is a Brownian
bridge over a period of SPAN minutes built by Lévy's midpoint construction: the value at any
minute depends only on (seed, symbol, minute) through a counter-based hash, so a candle from
last year costs as much to compute as the current one (about 22 hashes, shared and memoised
between neighbours) and history is continuous with the live walk by construction.

The price during minute m is the close of candle m; its open is the close of m-1, and its
high/low add a hashed wiggle. Test controls can pin a price at a minute ("anchors"): from an
anchor on, the walk continues multiplicatively from the pinned price.

Floats are used only inside the kernel; everything leaving this module is an integer count of
ticks (prices) or steps (quantities), or a Decimal.
"""

import bisect
import hashlib
import math
import random
import struct
from array import array
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

EPOCH_MINUTE = 1_704_067_200_000 // 60_000  # 2024-01-01T00:00Z
SPAN = 1 << 22  # minutes (~8 years); the bridge is tied to 0 at both ends, so it wraps smoothly
MINUTE_MS = 60_000
HOUR = 60
EIGHT_DP = Decimal("0.00000001")


@dataclass(frozen=True)
class SymbolSpec:
    """A tradable pair with Binance-style filters and the simulator's parameters."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    start_price: float
    sigma: float  # log-price standard deviation per minute
    minute_volume: float  # average base volume per minute
    level_qty: float  # average base quantity per synthetic book level
    depth_per_bp: Decimal  # base quantity available per basis point a price trades through
    # A cross pair follows base/quote of two other symbols (times a small own drift), so
    # ETH/BTC stays close to ETH/USDT divided by BTC/USDT as arbitrage would keep it.
    cross: tuple[str, str] | None = None

    @property
    def max_price(self) -> Decimal:
        return self.tick * 10**8

    @property
    def unified(self) -> str:
        return f"{self.base}/{self.quote}"

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def qty(self, steps: int) -> Decimal:
        return steps * self.step


def _spec(symbol, base, quote, tick, step, min_qty, max_qty, min_notional, max_notional, **sim):
    return SymbolSpec(
        symbol=symbol,
        base=base,
        quote=quote,
        tick=Decimal(tick),
        step=Decimal(step),
        min_qty=Decimal(min_qty),
        max_qty=Decimal(max_qty),
        market_max_qty=Decimal(max_qty) / 10,
        min_notional=Decimal(min_notional),
        max_notional=Decimal(max_notional),
        **sim,
    )


SYMBOLS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in (
        _spec(
            "BTCUSDT",
            "BTC",
            "USDT",
            "0.01",
            "0.00001",
            "0.00001",
            "9000",
            "5",
            "9000000",
            start_price=65000.0,
            sigma=0.0006,
            minute_volume=2.0,
            level_qty=0.8,
            depth_per_bp=Decimal("0.5"),
        ),
        _spec(
            "ETHUSDT",
            "ETH",
            "USDT",
            "0.01",
            "0.0001",
            "0.0001",
            "9000",
            "5",
            "9000000",
            start_price=3200.0,
            sigma=0.0007,
            minute_volume=30.0,
            level_qty=10.0,
            depth_per_bp=Decimal("8"),
        ),
        _spec(
            "ETHBTC",
            "ETH",
            "BTC",
            "0.00001",
            "0.0001",
            "0.0001",
            "100000",
            "0.0001",
            "9000",
            start_price=0.049,
            sigma=0.0009,
            minute_volume=10.0,
            level_qty=5.0,
            depth_per_bp=Decimal("4"),
            cross=("ETHUSDT", "BTCUSDT"),
        ),
        _spec(
            "SOLUSDT",
            "SOL",
            "USDT",
            "0.01",
            "0.001",
            "0.001",
            "90000",
            "5",
            "9000000",
            start_price=150.0,
            sigma=0.0009,
            minute_volume=400.0,
            level_qty=120.0,
            depth_per_bp=Decimal("100"),
        ),
    )
}
ASSETS = sorted({a for s in SYMBOLS.values() for a in (s.base, s.quote)})


# --- the random kernel ------------------------------------------------------------------------


def _uniforms(seed: int, symbol: str, tag: str, index: int) -> tuple[float, float]:
    digest = hashlib.blake2b(f"{seed}:{symbol}:{tag}:{index}".encode(), digest_size=16).digest()
    a, b = struct.unpack("<QQ", digest)
    return (a + 0.5) / 2**64, (b + 0.5) / 2**64


def _normal(seed: int, symbol: str, tag: str, index: int) -> float:
    u1, u2 = _uniforms(seed, symbol, tag, index)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


BLOCK = 64  # minutes per leaf block: the tree reaches block edges, a PRNG fills the inside


@lru_cache(maxsize=1 << 17)
def _bridge(seed: int, symbol: str, point: int) -> float:
    """Standard Brownian bridge on [0, SPAN] at a multiple of BLOCK (Lévy midpoint construction)."""
    if point % SPAN == 0:
        return 0.0
    half = point & -point  # the point is the midpoint of [point - half, point + half]
    mid = 0.5 * (_bridge(seed, symbol, point - half) + _bridge(seed, symbol, point + half))
    return mid + _normal(seed, symbol, "w", point) * math.sqrt(2 * half) / 2


@dataclass(frozen=True)
class _Leaf:
    # Compact arrays (~2.6 kB per block): the cache holds thousands of blocks.
    closes: array  # BLOCK + 1 un-anchored closes, both block edges included
    up: array  # per minute: high wiggle multiplier (>= 1)
    down: array  # per minute: low wiggle multiplier (<= 1)
    volume: array  # per minute: base volume before the size-of-move boost
    count: array  # per minute: number of trades


CROSS_DRIFT_SIGMA = 0.000005  # per minute: a cross pair stays within ~1% of its legs


def _closes(spec: "SymbolSpec", seed: int, block: int, walk: list[float]) -> tuple[float, ...]:
    if spec.cross is None:
        return tuple(spec.start_price * math.exp(spec.sigma * w) for w in walk)
    base, quote = (_leaf(symbol, seed, block).closes for symbol in spec.cross)
    return tuple(
        b / q * math.exp(CROSS_DRIFT_SIGMA * w) for b, q, w in zip(base, quote, walk, strict=True)
    )


@lru_cache(maxsize=8192)  # ~21 MB; history aggregates are cached per hour anyway
def _leaf(symbol: str, seed: int, block: int) -> _Leaf:
    """Fill one block of the bridge between its tree-given edges with a seeded PRNG."""
    spec = SYMBOLS[symbol]
    first = block * BLOCK
    walk = [0.0] * (BLOCK + 1)
    walk[0] = _bridge(seed, spec.symbol, first)
    walk[BLOCK] = _bridge(seed, spec.symbol, first + BLOCK)
    digest = hashlib.blake2b(f"{seed}:{spec.symbol}:leaf:{block}".encode(), digest_size=8)
    rng = random.Random(int.from_bytes(digest.digest(), "little"))  # noqa: S311 - simulation
    half = BLOCK // 2
    while half:
        for mid in range(half, BLOCK, 2 * half):
            mean = 0.5 * (walk[mid - half] + walk[mid + half])
            walk[mid] = mean + rng.gauss(0.0, 1.0) * math.sqrt(2 * half) / 2
        half //= 2
    wiggle = spec.sigma * 0.8
    return _Leaf(
        closes=array("d", _closes(spec, seed, block, walk)),
        up=array("d", (math.exp(wiggle * rng.expovariate(1.0)) for _ in range(BLOCK))),
        down=array("d", (math.exp(-wiggle * rng.expovariate(1.0)) for _ in range(BLOCK))),
        volume=array("d", (spec.minute_volume * (0.3 + 1.4 * rng.random()) for _ in range(BLOCK))),
        count=array("i", (20 + int(200 * rng.random()) for _ in range(BLOCK))),
    )


def _locate(spec: "SymbolSpec", seed: int, minute: int) -> tuple[_Leaf, int]:
    point = (minute - EPOCH_MINUTE) % SPAN
    return _leaf(spec.symbol, seed, point // BLOCK), point % BLOCK


def walk_close(spec: "SymbolSpec", seed: int, minute: int) -> float:
    """Return the un-anchored close of a minute (a float in quote units)."""
    leaf, offset = _locate(spec, seed, minute)
    return leaf.closes[offset]


# --- anchors (test controls pin a price at a minute) --------------------------------------------


@dataclass(frozen=True)
class Anchors:
    """Pinned prices for one symbol, sorted by minute; empty in normal operation."""

    minutes: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()

    @classmethod
    def build(cls, spec: SymbolSpec, seed: int, pins: list[tuple[int, Decimal]]):
        pins = sorted(pins)
        return cls(
            minutes=tuple(m for m, _ in pins),
            factors=tuple(float(p) / walk_close(spec, seed, m) for m, p in pins),
        )

    def factor(self, minute: int) -> float:
        i = bisect.bisect_right(self.minutes, minute)
        return self.factors[i - 1] if i else 1.0

    def uniform(self, first: int, last: int) -> bool:
        """Whether minutes first-1..last share one factor (no anchor in first..last)."""
        i = bisect.bisect_left(self.minutes, first)
        return i == len(self.minutes) or self.minutes[i] > last


NO_ANCHORS = Anchors()


# --- candles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candle:
    """OHLC in ticks, volume in steps, quote volume in units of step*tick/3 (exact sums)."""

    minute: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote_units: int
    count: int

    def merge(self, other: "Candle") -> "Candle":
        return Candle(
            minute=self.minute,
            open=self.open,
            high=max(self.high, other.high),
            low=min(self.low, other.low),
            close=other.close,
            volume=self.volume + other.volume,
            quote_units=self.quote_units + other.quote_units,
            count=self.count + other.count,
        )


def _ticks(spec: SymbolSpec, value: float) -> int:
    return max(1, round(value / float(spec.tick)))


def close_ticks(spec: SymbolSpec, seed: int, minute: int, anchors: Anchors = NO_ANCHORS) -> int:
    """Return the price (in ticks) during a minute."""
    return _ticks(spec, walk_close(spec, seed, minute) * anchors.factor(minute))


def _minute_candle(spec, seed, minute, f_prev, f_now) -> Candle:
    leaf, i = _locate(spec, seed, minute)
    if i == 0:  # the open is the previous block's last close (same value, by construction)
        prev_leaf, j = _locate(spec, seed, minute - 1)
        o_raw = prev_leaf.closes[j]
    else:
        o_raw = leaf.closes[i - 1]
    return _candle_from(spec, minute, o_raw * f_prev, leaf.closes[i] * f_now, leaf, i)


def _ohlcv(spec, o_raw: float, c_raw: float, leaf: _Leaf, i: int) -> tuple[int, ...]:
    tick = float(spec.tick)
    o = max(1, round(o_raw / tick))
    c = max(1, round(c_raw / tick))
    h = max(o, c, round(max(o, c) * leaf.up[i]))
    lo = max(1, min(o, c, round(min(o, c) * leaf.down[i])))
    move = abs(math.log(c / o)) / spec.sigma
    volume = max(1, round(leaf.volume[i] * (1 + 0.3 * move) / float(spec.step)))
    return o, h, lo, c, volume


def _candle_from(spec, minute, o_raw, c_raw, leaf, i) -> Candle:
    o, h, lo, c, volume = _ohlcv(spec, o_raw, c_raw, leaf, i)
    return Candle(minute, o, h, lo, c, volume, volume * (h + lo + c), leaf.count[i])


def minute_candle(spec: SymbolSpec, seed: int, minute: int, anchors: Anchors = NO_ANCHORS):
    """Return the 1-minute candle starting at `minute` (minutes since the Unix epoch)."""
    return _minute_candle(spec, seed, minute, anchors.factor(minute - 1), anchors.factor(minute))


def _block(spec: SymbolSpec, seed: int, first: int, length: int, factor: float) -> Candle:
    return _cached_block(spec.symbol, seed, first, length, factor)


@lru_cache(maxsize=1 << 17)
def _cached_block(symbol: str, seed: int, first: int, length: int, factor: float) -> Candle:
    # The same arithmetic as minute_candle, without building a Candle per minute (hot loop).
    spec = SYMBOLS[symbol]
    o_raw = walk_close(spec, seed, first - 1) * factor
    o = h = lo = c = None
    volume = quote_units = count = 0
    for minute in range(first, first + length):
        leaf, i = _locate(spec, seed, minute)
        c_raw = leaf.closes[i] * factor
        m_o, m_h, m_lo, c, m_v = _ohlcv(spec, o_raw, c_raw, leaf, i)
        o_raw = c_raw
        if o is None:
            o, h, lo = m_o, m_h, m_lo
        h, lo = max(h, m_h), min(lo, m_lo)
        volume += m_v
        quote_units += m_v * (m_h + m_lo + c)
        count += leaf.count[i]
    return Candle(first, o, h, lo, c, volume, quote_units, count)


def aggregate(spec: SymbolSpec, seed: int, first: int, last: int, anchors: Anchors = NO_ANCHORS):
    """Merge the 1-minute candles first..last (inclusive) into one candle."""
    candle = None
    minute = first
    while minute <= last:
        block_end = min(last, minute - minute % HOUR + HOUR - 1)
        whole_hour = minute % HOUR == 0 and block_end - minute == HOUR - 1
        if whole_hour and anchors.uniform(minute, block_end):
            part = _block(spec, seed, minute, HOUR, anchors.factor(minute))
        else:
            part = minute_candle(spec, seed, minute, anchors)
            block_end = minute
        candle = part if candle is None else candle.merge(part)
        minute = block_end + 1
    return candle


def hour_low_high(spec, seed, first_minute_of_hour, anchors) -> tuple[int, int] | None:
    """Return (low, high) of a whole hour when it can be read from the cache, else None."""
    last = first_minute_of_hour + HOUR - 1
    if first_minute_of_hour % HOUR or not anchors.uniform(first_minute_of_hour, last):
        return None
    block = _block(spec, seed, first_minute_of_hour, HOUR, anchors.factor(first_minute_of_hour))
    return block.low, block.high


def quote_volume(spec: SymbolSpec, candle: Candle) -> Decimal:
    """Return a candle's quote volume (sum of volume x typical price), to 8 decimals."""
    value = Decimal(candle.quote_units) * spec.step * spec.tick / 3
    return value.quantize(EIGHT_DP, rounding=ROUND_HALF_UP)


# --- the synthetic order book ---------------------------------------------------------------------


def spread_ticks(spec: SymbolSpec, mid: int) -> tuple[int, int]:
    """Return (half spread, gap between levels) in ticks around a mid price in ticks."""
    return max(1, round(mid * 0.00005)), max(1, round(mid * 0.00002))


def book_levels(spec: SymbolSpec, seed: int, minute: int, mid: int, side: str):
    """Yield (price_ticks, qty_steps) levels of one side of the book, best first, forever-ish.

    side is "bids" or "asks". Sizes come from a PRNG seeded per (symbol, minute, side), so
    the book is the same on every request within a minute and for every reader.
    """
    half, gap = spread_ticks(spec, mid)
    digest = hashlib.blake2b(f"{seed}:{spec.symbol}:{side}:{minute}".encode(), digest_size=8)
    rng = random.Random(int.from_bytes(digest.digest(), "little"))  # noqa: S311 - simulation
    sign = -1 if side == "bids" else 1
    price = mid + sign * half
    mean_steps = spec.level_qty / float(spec.step)
    while price > 0:
        yield price, max(1, round(mean_steps * (0.2 + 1.6 * rng.random())))
        price += sign * gap


def best_bid_ask(spec: SymbolSpec, mid: int) -> tuple[int, int]:
    half, _ = spread_ticks(spec, mid)
    return max(1, mid - half), mid + half
