"""Number formatting for the trading pages: fixed decimals per market, grouped thousands."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django import template

register = template.Library()
DASH = "—"


@register.filter
def fixed(value, decimals=2):
    """Format a number with exactly `decimals` decimals and thousands separators ('—' if None)."""
    if value is None or value == "":
        return DASH
    try:
        number = Decimal(str(value))
        places = max(int(decimals), 0)
    except (InvalidOperation, TypeError, ValueError):
        return DASH
    if not number.is_finite():
        return DASH
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_EVEN):,.{places}f}"


@register.filter
def symbol_slug(symbol: str) -> str:
    """BTC/USDT -> BTC-USDT, for URLs."""
    return (symbol or "").replace("/", "-")


@register.filter
def percent(value, decimals=2):
    """0.001 -> 0.10%."""
    if value is None:
        return DASH
    return f"{fixed(Decimal(str(value)) * 100, decimals)}%"
