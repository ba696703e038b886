"""Typed strategy parameters: a schema the web layer renders as a form, and its validation.

Parameters travel as JSON (strings for Decimals) between the browser, the database and a
backtest worker; `params_validate` turns such a mapping into typed Python values, or raises
`ParamError` with one message per field so a form can show them next to the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

ParamKind = Literal["decimal", "int", "bool", "choice", "weights"]


class ParamError(ValueError):
    """Invalid parameters; `errors` maps a field name ("" for the whole set) to a message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k or 'parameters'}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its kind, default, bounds and the help text shown under the input.

    `weights` is a mapping asset -> Decimal weight, written as "BTC:0.5, ETH:0.3, USDT:0.2".
    """

    name: str
    kind: ParamKind
    default: Any
    label: str
    help: str
    min: Decimal | int | None = None
    max: Decimal | int | None = None
    choices: tuple[str, ...] = ()
    required: bool = True

    def parse(self, raw: Any) -> Any:
        """Return `raw` as this parameter's Python type, or raise ValueError with a message."""
        if raw is None or raw == "":
            if self.required:
                raise ValueError("This field is required.")
            return None
        value = _PARSERS[self.kind](self, raw)
        if self.min is not None and value < self.min:
            raise ValueError(f"Must be at least {self.min}.")
        if self.max is not None and value > self.max:
            raise ValueError(f"Must be at most {self.max}.")
        return value

    def to_json(self, value: Any) -> Any:
        """Return `value` as a JSON-safe primitive (Decimals become strings)."""
        if value is None:
            return None
        if self.kind == "decimal":
            return str(value)
        if self.kind == "weights":
            return weights_format(value)
        return value


def _parse_decimal(param: Param, raw: Any) -> Decimal:
    if isinstance(raw, float | bool):
        raise ValueError("Give a decimal number as text, not a float.")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError("Enter a number.") from None
    if not value.is_finite():
        raise ValueError("Enter a finite number.")
    return value


def _parse_int(param: Param, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("Enter a whole number.")
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if not text.lstrip("-").isdigit():
        raise ValueError("Enter a whole number.")
    return int(text)


def _parse_bool(param: Param, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "on", "yes"}:
        return True
    if text in {"false", "0", "off", "no"}:
        return False
    raise ValueError("Enter true or false.")


def _parse_choice(param: Param, raw: Any) -> str:
    text = str(raw).strip()
    if text not in param.choices:
        raise ValueError(f"Choose one of: {', '.join(param.choices)}.")
    return text


def _parse_weights(param: Param, raw: Any) -> dict[str, Decimal]:
    items = raw.items() if isinstance(raw, Mapping) else _weight_pairs(str(raw))
    weights: dict[str, Decimal] = {}
    for asset, weight in items:
        name = str(asset).strip().upper()
        if not name.isalnum():
            raise ValueError(f"Not an asset code: {asset!r}.")
        value = _parse_decimal(param, weight)
        if value < 0:
            raise ValueError("Weights cannot be negative.")
        if name in weights:
            raise ValueError(f"{name} is listed twice.")
        weights[name] = value
    if len(weights) < 2:
        raise ValueError("List at least two assets.")
    if sum(weights.values()) <= 0:
        raise ValueError("Weights must not all be zero.")
    return weights


def _weight_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for chunk in text.replace(";", ",").split(","):
        if not chunk.strip():
            continue
        asset, sep, weight = chunk.partition(":")
        if not sep:
            raise ValueError('Write weights as "BTC:0.5, USDT:0.5".')
        pairs.append((asset, weight))
    return pairs


def weights_format(weights: Mapping[str, Decimal]) -> str:
    """Return weights in the text form the input accepts."""
    return ", ".join(f"{asset}:{weight}" for asset, weight in weights.items())


_PARSERS = {
    "decimal": _parse_decimal,
    "int": _parse_int,
    "bool": _parse_bool,
    "choice": _parse_choice,
    "weights": _parse_weights,
}

TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d")
TIMEFRAME_SECONDS = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}
