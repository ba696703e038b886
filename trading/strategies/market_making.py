"""Market making: a bid and an ask around the mid price, skewed to work inventory back to target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from trading.strategies.base import Strategy, epoch_ms, register
from trading.strategies.params import Param, ParamError
from trading.strategies.types import (
    JSON,
    Decision,
    Fill,
    MarketSnapshot,
    OpenOrder,
    OrderRequest,
    Position,
    Quiet,
)

PRICE_DIGITS = Decimal("1e-10")


@register
class MarketMaking(Strategy):
    slug = "market_making"
    name = "Market making"
    description = (
        "Keeps one buy and one sell order around the mid price, refreshed on a clock and after "
        "every fill. Holding more than the target inventory lowers both quotes (and less raises "
        "them) so fills bring the inventory back; past the limits it quotes one side only."
    )
    params = (
        Param(
            "spread_pct",
            "decimal",
            "0.2",
            "Spread (%)",
            "Distance between the bid and the ask, as a percentage of the mid price.",
            min=Decimal("0.001"),
            max=Decimal(50),
        ),
        Param(
            "amount",
            "decimal",
            "0.01",
            "Order size",
            "Base currency on each quote.",
            min=Decimal("0.00000001"),
        ),
        Param(
            "max_inventory",
            "decimal",
            "0.1",
            "Inventory limit",
            "Most base currency held; the target is half of it.",
            min=Decimal("0.00000001"),
        ),
        Param(
            "skew_pct",
            "decimal",
            "0.1",
            "Skew at the limit (%)",
            "How far both quotes move when the inventory is at a limit.",
            min=Decimal(0),
            max=Decimal(50),
        ),
        Param("refresh_seconds", "int", 60, "Refresh (seconds)", "Re-quote this often.", min=1),
    )

    @classmethod
    def clean(cls, values):
        if values["amount"] > values["max_inventory"]:
            raise ParamError({"amount": "The order size cannot exceed the inventory limit."})

    def initial_state(self) -> JSON:
        return {"next_at": None}

    def decide(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
        fills: Sequence[Fill] = (),
    ) -> Decision:
        now = epoch_ms(market.time)
        due = state["next_at"] is None or now >= state["next_at"]
        if not due and not fills:
            return Decision(state=state)
        cancel = tuple(order.ref for order in open_orders)
        place = self._quotes(market, position)
        new_state = {**state, "next_at": now + self.p["refresh_seconds"] * 1000}
        return Decision(state=new_state, place=place, cancel=cancel)

    def quiet(self, state, market, open_orders, position) -> Quiet | None:
        if state["next_at"] is None:
            return None
        return Quiet(until=datetime.fromtimestamp(state["next_at"] / 1000, tz=UTC))

    def _quotes(self, market: MarketSnapshot, position: Position) -> tuple[OrderRequest, ...]:
        mid = _mid(market)
        amount, limit = self.p["amount"], self.p["max_inventory"]
        base = position.amount(self.base_asset)
        # -1 when empty, 0 at the target (half the limit), +1 at the limit.
        lean = max(Decimal(-1), min(Decimal(1), (base - limit / 2) / (limit / 2)))
        shift = -lean * self.p["skew_pct"] / 100
        half = self.p["spread_pct"] / 200
        orders = []
        bid = (mid * (1 - half + shift)).quantize(PRICE_DIGITS)
        ask = (mid * (1 + half + shift)).quantize(PRICE_DIGITS)
        quote = position.amount(self.quote_asset)
        if base + amount <= limit and quote >= bid * amount and bid > 0:
            orders.append(
                OrderRequest(self.symbol, "buy", "limit", "bid", amount=amount, price=bid)
            )
        if base >= amount:
            orders.append(
                OrderRequest(self.symbol, "sell", "limit", "ask", amount=amount, price=ask)
            )
        return tuple(orders)


def _mid(market: MarketSnapshot) -> Decimal:
    """Mid of the best bid and ask: from the book when there is one, else from the ticker."""
    book = market.book
    if book is not None and book.bids and book.asks:
        return (book.bids[0][0] + book.asks[0][0]) / 2
    return market.ticker.mid
