"""The Strategy base class and the registry of built-in strategies.

A strategy instance is its validated parameters bound to a symbol; `decide` is a pure
function of (state, market, open orders, position, fills). State is a JSON-serialisable
dict that the engine stores between decisions, so a bot survives a worker restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from trading.strategies.params import TIMEFRAME_SECONDS, Param, ParamError
from trading.strategies.types import (
    JSON,
    Decision,
    Fill,
    MarketSnapshot,
    OpenOrder,
    Position,
    Quiet,
    split_symbol,
)


class Strategy:
    """Subclass, set `slug`, `name`, `description` and `params`, and implement `decide`."""

    slug: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, *, symbol: str, params: Mapping[str, Any] | None = None):
        self.symbol = symbol
        self.base_asset, self.quote_asset = split_symbol(symbol)
        self.p = self.validate(params or {})

    @classmethod
    def validate(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Return typed parameters from raw (form or JSON) values; raise ParamError."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for param in cls.params:
            raw_value = raw.get(param.name, param.default)
            try:
                values[param.name] = param.parse(raw_value)
            except ValueError as exc:
                errors[param.name] = str(exc)
        unknown = set(raw) - {param.name for param in cls.params}
        if unknown:
            errors[""] = f"Unknown parameters: {', '.join(sorted(unknown))}."
        if errors:
            raise ParamError(errors)
        cls.clean(values)
        return values

    @classmethod
    def clean(cls, values: dict[str, Any]) -> None:
        """Check rules across parameters; raise ParamError. Override when needed."""

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Return the default parameters as JSON primitives."""
        return {param.name: param.to_json(param.parse(param.default)) for param in cls.params}

    def params_json(self) -> dict[str, Any]:
        """Return this instance's parameters as JSON primitives (Decimals as strings)."""
        return {param.name: param.to_json(self.p[param.name]) for param in self.params}

    @property
    def timeframe(self) -> str:
        """The candle timeframe the strategy reads."""
        return self.p.get("timeframe", "1m")

    @property
    def timeframe_seconds(self) -> int:
        return TIMEFRAME_SECONDS[self.timeframe]

    def lookback(self) -> int:
        """How many closed candles `decide` needs to see (the latest included)."""
        return 1

    def symbols(self) -> list[str]:
        """Every symbol whose ticker `decide` reads; the first is the bot's own."""
        return [self.symbol]

    def initial_state(self) -> JSON:
        return {}

    def decide(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
        fills: Sequence[Fill] = (),
    ) -> Decision:
        raise NotImplementedError

    def quiet(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
    ) -> Quiet | None:
        """Return when `decide` could next act, or None for "call me on every bar"."""
        return None


strategy_registry: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its slug."""
    if cls.slug in strategy_registry:
        raise ValueError(f"duplicate strategy slug {cls.slug!r}")
    strategy_registry[cls.slug] = cls
    return cls


def strategy_build(*, slug: str, symbol: str, params: Mapping[str, Any]) -> Strategy:
    """Return the registered strategy `slug` bound to `symbol` with validated `params`."""
    try:
        cls = strategy_registry[slug]
    except KeyError:
        raise ParamError({"": f"Unknown strategy {slug!r}."}) from None
    return cls(symbol=symbol, params=params)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (state stores times this way)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return int(round(moment.timestamp() * 1000))


def dec(value: Any) -> Decimal:
    """Decimal from a JSON state value (stored as a string)."""
    return Decimal(str(value))
