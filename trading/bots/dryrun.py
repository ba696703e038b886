"""Dry run: the backtest's simulated broker, kept between ticks as JSON, fed live prices.

Each tick is one "bar" at the live last price: market orders accepted on the previous tick
fill at this tick's price, resting limit orders fill when the price reaches them, with the
paper exchange's fee rule (fee in the asset received). Nothing is sent to the exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading.backtest.broker import BrokerConfig, SimBroker, _Order
from trading.strategies.types import ZERO, Fill, OpenOrder, OrderRequest, Position, split_symbol


@dataclass(slots=True)
class TickBar:
    """A bar made of one live price: what the broker's fill rules read."""

    index: int
    price: Decimal
    time_ms: int

    @property
    def open(self) -> Decimal:
        return self.price

    high = low = open


def _request_json(request: OrderRequest) -> dict:
    return {
        "symbol": request.symbol,
        "side": request.side,
        "type": request.type,
        "tag": request.tag,
        "amount": None if request.amount is None else str(request.amount),
        "price": None if request.price is None else str(request.price),
        "quote_amount": None if request.quote_amount is None else str(request.quote_amount),
    }


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


class DryRunWallet:
    """The simulated balances and resting orders of one dry-run bot, across its symbols."""

    def __init__(self, *, sim: dict, symbols: list[str], fee_rate: Decimal):
        self.balances = {a: Decimal(v) for a, v in (sim.get("balances") or {}).items()}
        self.locked = {a: Decimal(v) for a, v in (sim.get("locked") or {}).items()}
        self.seq = int(sim.get("seq", 0))
        config = BrokerConfig(fee_rate=fee_rate)
        # One broker per symbol; they share the balance and lock dicts (one wallet).
        self.brokers = {}
        for symbol in symbols:
            base, quote = split_symbol(symbol)
            self.brokers[symbol] = SimBroker(
                symbol, base, quote, config, self.balances, locked=self.locked
            )
        for ref, row in (sim.get("orders") or {}).items():
            self._restore(ref, row)

    @property
    def funded(self) -> bool:
        return bool(self.balances) or bool(self.locked)

    def fund(self, balances: dict[str, Decimal]) -> None:
        """Start the wallet from these balances (the key's, when the bot first runs)."""
        self.balances.update(balances)

    def _restore(self, ref: str, row: dict) -> None:
        request = OrderRequest(
            row["symbol"],
            row["side"],
            row["type"],
            row["tag"],
            amount=_dec(row["amount"]),
            price=_dec(row["price"]),
            quote_amount=_dec(row["quote_amount"]),
        )
        amount = _dec(row.get("accepted_amount"))
        view = OpenOrder(
            ref=ref,
            tag=request.tag,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            price=request.price,
            amount=amount if amount is not None else ZERO,
        )
        broker = self.brokers.get(request.symbol)
        if broker is not None:
            broker.orders[ref] = _Order(ref, request, amount, view, Decimal(row["locked"]))

    def position(self) -> Position:
        totals = dict(self.balances)
        for asset, amount in self.locked.items():
            totals[asset] = totals.get(asset, ZERO) + amount
        return Position(totals)

    def open_orders(self) -> list[OpenOrder]:
        return [o for broker in self.brokers.values() for o in broker.open_orders()]

    def cancel(self, ref: str) -> bool:
        for broker in self.brokers.values():
            if ref in broker.orders:
                broker.cancel(ref)
                return True
        return False

    def place(self, request: OrderRequest) -> tuple[str | None, str]:
        """Accept an order; return (ref, "") or (None, why it was rejected)."""
        broker = self.brokers.get(request.symbol)
        if broker is None:
            return None, "symbol not traded by this bot"
        self.seq += 1
        broker._seq = self.seq - 1
        ref = broker.place(request, self.seq)
        if ref is None:
            return None, broker.rejections[-1][2]
        return ref, ""

    def match(self, prices: dict[str, Decimal], now: datetime) -> tuple[list[Fill], list[str]]:
        """Fill what the live prices reach; return the fills and any rejections."""
        fills, rejected = [], []
        for symbol, broker in self.brokers.items():
            price = prices.get(symbol)
            if price is None or not broker.orders:
                continue
            before = len(broker.rejections)
            fills += broker.process_bar(TickBar(self.seq, price, int(now.timestamp() * 1000)))
            rejected += [f"{tag}: {why}" for _, tag, why in broker.rejections[before:]]
        return fills, rejected

    def to_json(self) -> dict:
        orders = {}
        for broker in self.brokers.values():
            for ref, order in broker.orders.items():
                orders[ref] = {
                    **_request_json(order.request),
                    "accepted_amount": None if order.amount is None else str(order.amount),
                    "locked": str(order.locked),
                }
        return {
            "balances": {a: str(v) for a, v in self.balances.items()},
            "locked": {a: str(v) for a, v in self.locked.items() if v},
            "orders": orders,
            "seq": self.seq,
        }
