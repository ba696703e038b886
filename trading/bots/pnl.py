"""A bot's P&L from its own fills: signed positions at average cost, per symbol, in quote.

Selling what the bot did not buy opens a short against its starting holdings, so P&L always
means "compared with not running the bot". Fees are counted in quote at the fill's price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass
class PnlBook:
    """Positions {symbol: (pos, cost)} plus realized P&L and fees, all Decimal."""

    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    realized: Decimal = ZERO
    fees: Decimal = ZERO

    @classmethod
    def from_json(cls, book: dict, *, realized: Decimal, fees: Decimal) -> PnlBook:
        positions = {
            symbol: (Decimal(row["pos"]), Decimal(row["cost"]))
            for symbol, row in (book or {}).items()
        }
        return cls(positions, Decimal(realized), Decimal(fees))

    def to_json(self) -> dict:
        return {s: {"pos": str(p), "cost": str(c)} for s, (p, c) in self.positions.items()}

    def apply(self, *, symbol: str, side: str, price: Decimal, amount: Decimal, fee_quote) -> None:
        """Book one fill."""
        pos, cost = self.positions.get(symbol, (ZERO, ZERO))
        qty = amount if side == "buy" else -amount
        self.fees += fee_quote
        if pos == 0 or (pos > 0) == (qty > 0):
            self.positions[symbol] = (pos + qty, cost + qty * price)
            return
        sign = 1 if pos > 0 else -1
        closing = min(abs(qty), abs(pos))
        average = cost / pos
        self.realized += closing * (price - average) * sign
        pos, cost = pos - sign * closing, cost - sign * average * closing
        opening = abs(qty) - closing
        if opening:
            pos, cost = pos - sign * opening, cost - sign * opening * price
        self.positions[symbol] = (pos, cost if pos else ZERO)

    def unrealized(self, prices: dict[str, Decimal]) -> Decimal:
        """Mark every open position at `prices` (symbols without a price count as flat)."""
        total = ZERO
        for symbol, (pos, cost) in self.positions.items():
            price = prices.get(symbol)
            if pos and price is not None:
                total += pos * price - cost
        return total

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, (ZERO, ZERO))[0]
