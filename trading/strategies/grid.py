"""Grid: resting orders on evenly spaced price levels; each fill re-places the opposite order."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from trading.strategies.base import Strategy, dec, register
from trading.strategies.params import Param, ParamError
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
class Grid(Strategy):
    slug = "grid"
    name = "Grid"
    description = (
        "Places buy orders on the levels below the price and sell orders on the levels above. "
        "When a buy fills it offers the amount one level up; when a sell fills it bids one "
        "level down, so it earns the spacing each time the price swings between two levels."
    )
    params = (
        Param("lower", "decimal", "90", "Lowest level", "Price of the lowest grid level."),
        Param("upper", "decimal", "110", "Highest level", "Price of the highest grid level."),
        Param("levels", "int", 11, "Levels", "Number of price levels, ends included.", min=2),
        Param(
            "amount",
            "decimal",
            "1",
            "Amount per level",
            "Base currency bought or sold on each level.",
            min=Decimal("0.00000001"),
        ),
    )

    @classmethod
    def clean(cls, values):
        if values["lower"] <= 0:
            raise ParamError({"lower": "The lowest level must be above zero."})
        if values["upper"] <= values["lower"]:
            raise ParamError({"upper": "The highest level must be above the lowest."})
        if values["levels"] > 500:
            raise ParamError({"levels": "At most 500 levels."})

    def level_prices(self) -> list[Decimal]:
        if not hasattr(self, "_prices"):
            lower, upper, count = self.p["lower"], self.p["upper"], self.p["levels"]
            step = (upper - lower) / (count - 1)
            self._prices = [lower + step * i for i in range(count - 1)] + [upper]
        return self._prices

    def initial_state(self) -> JSON:
        # `partial` holds amounts filled so far on orders that are still open (by ref).
        return {"started": False, "partial": {}}

    def decide(
        self,
        state: JSON,
        market: MarketSnapshot,
        open_orders: Sequence[OpenOrder],
        position: Position,
        fills: Sequence[Fill] = (),
    ) -> Decision:
        if not state["started"]:
            return self._start(state, market, position)
        open_refs = {order.ref for order in open_orders}
        partial = dict(state["partial"])
        done: dict[str, tuple[Fill, Decimal]] = {}
        for fill in fills:
            net = fill.amount - (fill.fee if fill.fee_asset == self.base_asset else ZERO)
            got = dec(partial.get(fill.ref, "0")) + (net if fill.side == "buy" else fill.amount)
            if fill.ref in open_refs:
                partial[fill.ref] = str(got)
            else:
                partial.pop(fill.ref, None)
                done[fill.ref] = (fill, got)
        place = [self._opposite(fill, got) for fill, got in done.values()]
        new_state = {**state, "partial": partial}
        return Decision(state=new_state, place=tuple(o for o in place if o is not None))

    def quiet(self, state, market, open_orders, position) -> Quiet | None:
        # Once started, only a fill can make the grid act.
        return Quiet() if state["started"] else None

    def _start(self, state: JSON, market: MarketSnapshot, position: Position) -> Decision:
        prices = self.level_prices()
        nearest = min(range(len(prices)), key=lambda i: abs(prices[i] - market.price))
        amount = self.p["amount"]
        quote = position.amount(self.quote_asset)
        base = position.amount(self.base_asset)
        place: list[OrderRequest] = []
        for i in range(nearest - 1, -1, -1):  # nearest levels first while funds last
            if quote < prices[i] * amount:
                break
            quote -= prices[i] * amount
            place.append(self._order(i, "buy", amount))
        for i in range(nearest + 1, len(prices)):
            if base < amount:
                break
            base -= amount
            place.append(self._order(i, "sell", amount))
        notes = (f"grid started around level {nearest} ({prices[nearest]})",)
        return Decision(state={**state, "started": True}, place=tuple(place), notes=notes)

    def _opposite(self, fill: Fill, got: Decimal) -> OrderRequest | None:
        level = int(fill.tag.removeprefix("L").split("-")[0])
        if fill.side == "buy" and level + 1 < self.p["levels"]:
            return self._order(level + 1, "sell", got)
        if fill.side == "sell" and level > 0:
            return self._order(level - 1, "buy", self.p["amount"])
        return None

    def _order(self, level: int, side, amount: Decimal) -> OrderRequest:
        price = self.level_prices()[level]
        return OrderRequest(self.symbol, side, "limit", f"L{level}", amount=amount, price=price)
