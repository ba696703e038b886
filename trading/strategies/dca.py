"""DCA: buy a fixed quote amount every interval; optionally sell everything at a profit target."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from trading.strategies.base import Strategy, dec, epoch_ms, register
from trading.strategies.params import Param
from trading.strategies.types import (
    JSON,
    ZERO,
    Decision,
    Fill,
    MarketSnapshot,
    OpenOrder,
    OrderRequest,
    Position,
    Quiet,
)


@register
class Dca(Strategy):
    slug = "dca"
    name = "DCA"
    description = (
        "Buys a fixed amount of quote currency at market every interval. With a take-profit, "
        "sells everything it bought once the price is that far above its average cost."
    )
    params = (
        Param(
            "quote_amount",
            "decimal",
            "100",
            "Amount per buy",
            "Quote currency spent on each buy.",
            min=Decimal("0.00000001"),
        ),
        Param("interval_minutes", "int", 1440, "Interval (minutes)", "Time between buys.", min=1),
        Param(
            "take_profit_pct",
            "decimal",
            None,
            "Take profit (%)",
            "Sell all once the price is this many percent above the average cost. Empty: never.",
            min=Decimal("0.01"),
            required=False,
        ),
    )

    def initial_state(self) -> JSON:
        # `held` and `cost` track what this strategy bought and what it paid, fees included.
        return {"next_buy": None, "held": "0", "cost": "0"}

    def decide(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
        fills: Sequence[Fill] = (),
    ) -> Decision:
        state = self._book_fills(state, fills)
        now = epoch_ms(market.time)
        pending = {order.tag for order in open_orders}
        place: list[OrderRequest] = []
        notes: list[str] = []
        target = self._take_profit_price(state)
        held = min(dec(state["held"]), position.amount(self.base_asset))
        if target is not None and held > 0 and market.price >= target and "tp" not in pending:
            place.append(OrderRequest(self.symbol, "sell", "market", "tp", amount=held))
            notes.append(f"take profit: price {market.price} reached {target}")
        if state["next_buy"] is None or now >= state["next_buy"]:
            state = {**state, "next_buy": now + self.p["interval_minutes"] * 60_000}
            amount = self.p["quote_amount"]
            if position.amount(self.quote_asset) >= amount and "buy" not in pending:
                place.append(OrderRequest(self.symbol, "buy", "market", "buy", quote_amount=amount))
            else:
                notes.append("skipped a buy: not enough quote balance or a buy still open")
        return Decision(state=state, place=tuple(place), notes=tuple(notes))

    def quiet(self, state, market, open_orders, position) -> Quiet | None:
        if state["next_buy"] is None:
            return None
        until = datetime.fromtimestamp(state["next_buy"] / 1000, tz=UTC)
        target = self._take_profit_price(state)
        if target is not None and dec(state["held"]) > 0:
            if market.price >= target:
                return None
            return Quiet(until=until, above=target)
        return Quiet(until=until)

    def _take_profit_price(self, state: JSON) -> Decimal | None:
        pct = self.p["take_profit_pct"]
        held = dec(state["held"])
        if pct is None or held <= 0:
            return None
        return dec(state["cost"]) / held * (1 + pct / 100)

    def _book_fills(self, state: JSON, fills: Sequence[Fill]) -> JSON:
        held, cost = dec(state["held"]), dec(state["cost"])
        for fill in fills:
            fee_in_base = fill.fee if fill.fee_asset == self.base_asset else ZERO
            fee_in_quote = fill.fee if fill.fee_asset == self.quote_asset else ZERO
            if fill.side == "buy":
                held += fill.amount - fee_in_base
                cost += fill.amount * fill.price + fee_in_quote
            elif fill.tag == "tp":
                # The take-profit sold everything; what rounding left behind is dust.
                held, cost = ZERO, ZERO
            elif held > 0:
                sold = min(fill.amount, held)
                cost -= cost * sold / held
                held -= sold
        if held <= 0:
            held, cost = ZERO, ZERO
        return {**state, "held": str(held), "cost": str(cost)}
