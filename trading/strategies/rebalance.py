"""Rebalance: keep the value of the bot's assets at target weights, on drift and/or on a clock."""

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


@register
class Rebalance(Strategy):
    slug = "rebalance"
    name = "Rebalance"
    description = (
        "Trades the assets against the quote currency so that each one's share of the total "
        "value returns to its target weight, when a share drifts past the threshold and/or "
        "every interval."
    )
    params = (
        Param(
            "weights",
            "weights",
            "BTC:0.5, USDT:0.5",
            "Target weights",
            "Asset:weight pairs, quote currency included; they are scaled to sum to 1.",
        ),
        Param(
            "threshold_pct",
            "decimal",
            "5",
            "Drift threshold (%)",
            "Rebalance when an asset's share is this many points off target. 0: off.",
            min=Decimal(0),
            max=Decimal(100),
        ),
        Param(
            "interval_minutes",
            "int",
            0,
            "Interval (minutes)",
            "Also rebalance on this clock. 0: off.",
            min=0,
        ),
        Param(
            "min_trade",
            "decimal",
            "10",
            "Smallest trade",
            "Skip trades worth less than this in quote currency.",
            min=Decimal(0),
        ),
    )

    def __init__(self, *, symbol, params=None):
        super().__init__(symbol=symbol, params=params)
        if self.quote_asset not in self.p["weights"]:
            raise ParamError({"weights": f"Include the quote currency {self.quote_asset}."})
        if self.base_asset not in self.p["weights"]:
            raise ParamError({"weights": f"Include the bot's own asset {self.base_asset}."})
        total = sum(self.p["weights"].values())
        self.targets = {asset: w / total for asset, w in self.p["weights"].items()}

    @classmethod
    def clean(cls, values):
        if values["threshold_pct"] == 0 and values["interval_minutes"] == 0:
            raise ParamError({"": "Set a drift threshold, an interval, or both."})

    def symbols(self) -> list[str]:
        others = [f"{a}/{self.quote_asset}" for a in self.targets if a != self.quote_asset]
        return [self.symbol] + [s for s in others if s != self.symbol]

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
        if open_orders:
            return Decision(state=state)
        now = epoch_ms(market.time)
        values = self._values(market, position)
        total = sum(values.values())
        if total <= 0:
            return Decision(state=state, notes=("nothing to rebalance",))
        clock = self.p["interval_minutes"] > 0 and (
            state["next_at"] is None or now >= state["next_at"]
        )
        drift = max(abs(values[a] / total - self.targets[a]) for a in self.targets)
        drifted = self.p["threshold_pct"] > 0 and drift * 100 > self.p["threshold_pct"]
        if not (clock or drifted):
            return Decision(state=state)
        if self.p["interval_minutes"] > 0:
            state = {**state, "next_at": now + self.p["interval_minutes"] * 60_000}
        orders = self._orders(market, values, total)
        return Decision(state=state, place=orders, notes=(f"rebalancing, drift {drift:.4f}",))

    def quiet(self, state, market, open_orders, position) -> Quiet | None:
        if len(self.targets) != 2 or open_orders:
            return None
        until = None
        if self.p["interval_minutes"] > 0:
            if state["next_at"] is None:
                return None
            until = datetime.fromtimestamp(state["next_at"] / 1000, tz=UTC)
        if self.p["threshold_pct"] == 0:
            return Quiet(until=until)
        band = self._price_band(position)
        if band is None:
            return None
        below, above = band
        price = market.price
        if (below is not None and price <= below) or (above is not None and price >= above):
            return None
        return Quiet(until=until, above=above, below=below)

    def _values(self, market: MarketSnapshot, position: Position) -> dict[str, Decimal]:
        values = {}
        for asset in self.targets:
            amount = position.amount(asset)
            if asset == self.quote_asset:
                values[asset] = amount
            else:
                values[asset] = amount * market.tickers[f"{asset}/{self.quote_asset}"].last
        return values

    def _orders(self, market, values, total) -> tuple[OrderRequest, ...]:
        sells, buys = [], []
        for asset, target in self.targets.items():
            if asset == self.quote_asset:
                continue
            symbol = f"{asset}/{self.quote_asset}"
            delta = target * total - values[asset]
            if abs(delta) < max(self.p["min_trade"], Decimal("1e-12")):
                continue
            if delta < 0:
                amount = -delta / market.tickers[symbol].last
                sells.append(OrderRequest(symbol, "sell", "market", f"sell-{asset}", amount=amount))
            else:
                buys.append(
                    OrderRequest(symbol, "buy", "market", f"buy-{asset}", quote_amount=delta)
                )
        # Sells first: they free the quote currency the buys spend.
        return tuple(sells + buys)

    def _price_band(self, position: Position) -> tuple[Decimal | None, Decimal | None] | None:
        """Prices of the only other asset at which its share leaves the threshold band."""
        base = position.amount(self.base_asset)
        quote = position.amount(self.quote_asset)
        if base <= 0 or quote <= 0:
            return None
        target = self.targets[self.base_asset]
        width = self.p["threshold_pct"] / 100

        # share(p) = b·p / (b·p + q) rises with p; solve share(p) = w for p.
        def price_at(w: Decimal) -> Decimal | None:
            return None if not 0 < w < 1 else w * quote / (base * (1 - w))

        return price_at(target - width), price_at(target + width)
