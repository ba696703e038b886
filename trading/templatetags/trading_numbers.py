"""Number formatting for the trading pages: fixed decimals per market, grouped thousands."""

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

register = template.Library()
DASH = "—"


_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(19)}
# Quantizing needs room for every digit of the result: the default context's 28 would refuse
# 1e10 at 18 places. Money columns (max_digits 36) fit with room to spare.
_WIDE = Context(prec=80)


@register.filter
def fixed(value, decimals=2):
    """Format a number with exactly `decimals` decimals and thousands separators ('—' if None)."""
    if type(value) is Decimal and type(decimals) is int and 0 <= decimals <= 18:
        # The tables' case (a Decimal, an int), half the cost of the general path below.
        if not value.is_finite():
            return DASH
        rounded = value.quantize(_QUANTA[decimals], rounding=ROUND_HALF_EVEN, context=_WIDE)
        return f"{rounded:,.{decimals}f}"
    if value is None or value == "":
        return DASH
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        places = min(max(int(decimals), 0), 18)
    except (InvalidOperation, TypeError, ValueError):
        return DASH
    if not number.is_finite():
        return DASH
    rounded = number.quantize(_QUANTA[places], rounding=ROUND_HALF_EVEN, context=_WIDE)
    return f"{rounded:,.{places}f}"


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


def _side(css: str, word: str):
    return format_html('<span class="{}">{}</span>', css, word)


_SIDES = {"buy": _side("side side-buy", "Buy"), "sell": _side("side side-sell", "Sell")}


@register.filter
def side_label(side: str):
    """Buy / Sell as a word with an arrow and colour class (colour is never the only signal)."""
    label = _SIDES.get(side)  # built once: the fills tables show it on every row
    return label if label is not None else _side("side", side or DASH)
