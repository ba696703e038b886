"""Template filters for bot pages: signed P&L (sign and word, never colour alone)."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def signed(value, places: int = 2) -> str:
    """ "+1.50" / "-1.50" / "0.00" with fixed decimals."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = f"{abs(number):,.{int(places)}f}"
    if number > 0 and text.strip("0.,"):
        return "+" + text
    if number < 0 and text.strip("0.,"):
        return "−" + text
    return text


@register.filter
def pnl_class(value) -> str:
    """A CSS class for a P&L figure (the sign already says it; colour only repeats it)."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return "pnl-up" if number > 0 else "pnl-down" if number < 0 else ""
