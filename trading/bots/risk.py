"""The bot's own risk limits, checked before every order (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading.strategies.types import OpenOrder, OrderRequest, split_symbol

ZERO = Decimal(0)


@dataclass(frozen=True)
class RiskLimits:
    max_order_notional: Decimal
    max_position: Decimal | None
    position_in_quote: bool
    max_open_orders: int
    daily_loss_limit: Decimal

    @classmethod
    def of(cls, bot) -> RiskLimits:
        return cls(
            max_order_notional=bot.max_order_notional,
            max_position=bot.max_position,
            position_in_quote=bot.max_position_unit == "quote",
            max_open_orders=bot.max_open_orders,
            daily_loss_limit=bot.daily_loss_limit,
        )


def order_notional(request: OrderRequest, price: Decimal) -> Decimal:
    """The order's value in quote (a limit order at its price, a market order at `price`)."""
    if request.quote_amount is not None:
        return request.quote_amount
    return request.amount * (request.price if request.price is not None else price)


def order_refusal(
    limits: RiskLimits,
    request: OrderRequest,
    *,
    price: Decimal,
    open_orders: Sequence[OpenOrder],
    holdings: dict[str, Decimal],
) -> str | None:
    """Return why the bot may not place `request`, or None when every limit allows it.

    `open_orders` includes orders already accepted in this tick; `holdings` is the bot's
    amount of each base asset.
    """
    notional = order_notional(request, price)
    if notional > limits.max_order_notional:
        return (
            f"order worth {notional:.2f} is above the bot's limit of "
            f"{limits.max_order_notional:.2f} per order"
        )
    if len(open_orders) + 1 > limits.max_open_orders:
        return (
            f"the bot already has {len(open_orders)} open orders (limit {limits.max_open_orders})"
        )
    if request.side == "buy" and limits.max_position is not None:
        base, _ = split_symbol(request.symbol)
        buying = sum(
            (
                o.amount - o.filled
                for o in open_orders
                if o.side == "buy" and o.symbol == request.symbol
            ),
            ZERO,
        )
        amount = request.amount if request.amount is not None else notional / price
        projected = holdings.get(base, ZERO) + buying + amount
        value = projected * price if limits.position_in_quote else projected
        if value > limits.max_position:
            unit = "quote" if limits.position_in_quote else base
            return (
                f"the position would reach {value:.8g} {unit}, above the bot's limit of "
                f"{limits.max_position:.8g}"
            )
    return None


def daily_loss_breached(limits: RiskLimits, *, day_pnl: Decimal) -> bool:
    """True when today's P&L (realized + unrealized, after fees) lost more than the limit."""
    return limits.daily_loss_limit > 0 and day_pnl <= -limits.daily_loss_limit
