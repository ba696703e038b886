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


@register.filter
def duration_short(seconds) -> str:
    """A duration in seconds as "45 s", "12 min", "3 h 5 min" or "2 d 4 h"."""
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    if total < 60:
        return f"{total} s"
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 3600:
        return f"{minutes} min"
    if total < 86400:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


@register.filter
def strategy_name(slug) -> str:
    """A strategy's display name ("SMA crossover") from its slug; an unknown slug as it is."""
    from trading.strategies import strategy_registry

    cls = strategy_registry.get(str(slug or ""))
    return cls.name if cls is not None else str(slug or "")


@register.filter
def normalize(value) -> str:
    """A decimal without trailing zeros or exponent ("0.1000" -> "0.1"); "" if None."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def rate_percent(value) -> str:
    """A fraction as an exact percentage: 0.001 -> "0.1 %", 0.00075 -> "0.075 %"."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)) * 100
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{normalize(number)} %"


@register.filter
def backtest_stat(value, key: str) -> str:
    """A backtest statistic as the results page prints it ("+12.34 %", "1,204"); "–" if none."""
    from trading.services.backtest_reports import stat_text

    try:
        return stat_text(key, value)
    except (TypeError, ValueError):
        return "–"
