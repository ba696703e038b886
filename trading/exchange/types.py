"""keytrade's own exchange data: small frozen dataclasses with Decimal values and aware UTC times.

Nothing outside `trading/exchange/` ever sees a ccxt structure; these are what the adapter returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation


def to_decimal(value) -> Decimal | None:
    """Convert a ccxt number (float, int, str or None) to Decimal without float noise."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        # repr(float) is the shortest string that round-trips, so 0.001 stays 0.001.
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def from_ms(value) -> datetime | None:
    """Convert epoch milliseconds to an aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True)
class Trade:
    """One execution of one of the account's orders (a fill)."""

    id: str
    order_id: str | None
    symbol: str
    side: str
    price: Decimal
    amount: Decimal
    cost: Decimal | None
    fee: Decimal | None
    fee_currency: str
    taker_or_maker: str
    timestamp: datetime | None


@dataclass(frozen=True)
class ExchangeOrder:
    """An order as the exchange reports it; status: open, closed, canceled, expired, rejected."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    status: str
    price: Decimal | None
    amount: Decimal | None
    filled: Decimal
    average: Decimal | None
    fee: Decimal | None
    fee_currency: str
    timestamp: datetime | None
    trades: tuple[Trade, ...] = field(default_factory=tuple)

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Ticker:
    symbol: str
    last: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    timestamp: datetime | None


@dataclass(frozen=True)
class Candle:
    opened_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class OrderBook:
    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    timestamp: datetime | None


@dataclass(frozen=True)
class KeyPermissions:
    """What the exchange says a key may do (None where the exchange does not report it)."""

    read: bool | None
    trade: bool | None
    withdraw: bool | None
    transfer: bool | None
    ip_restricted: bool | None
    expires_at: datetime | None = None
    raw_fields: tuple[str, ...] = ()

    @property
    def moves_funds(self) -> bool:
        """True when the key can take money off the account: keytrade refuses such keys."""
        return bool(self.withdraw or self.transfer)

    def as_scopes(self) -> dict:
        return {
            "read": self.read,
            "trade": self.trade,
            "withdraw": self.withdraw,
            "transfer": self.transfer,
        }
