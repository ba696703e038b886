"""Forms of the backtesting pages: candle download, backtest run, sweep, bot-vs-backtest."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from trading.backtest import candles_series_info, candles_series_list
from trading.strategies import Param, strategy_registry
from trading.strategies.params import TIMEFRAMES

DEFAULT_FEE = Decimal("0.001")
DEFAULT_CASH = Decimal("10000")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _utc_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


class CandleDownloadForm(forms.Form):
    exchange = forms.ChoiceField(help_text="The paper exchange, or one you have a key for.")
    symbol = forms.RegexField(
        regex=r"^[A-Za-z0-9]{1,20}/[A-Za-z0-9]{1,20}$",
        initial="BTC/USDT",
        help_text="BASE/QUOTE, as the exchange lists it.",
        error_messages={"invalid": "Use BASE/QUOTE, e.g. BTC/USDT."},
    )
    timeframe = forms.ChoiceField(choices=[(t, t) for t in TIMEFRAMES], initial="1h")
    days = forms.IntegerField(
        min_value=1, max_value=3650, initial=30, help_text="How far back from now."
    )

    def __init__(self, *args, exchanges: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exchange"].choices = [(e, e) for e in exchanges]

    def service_kwargs(self, *, now: datetime) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "exchange": data["exchange"],
            "symbol": data["symbol"].upper(),
            "timeframe": data["timeframe"],
            "since": now - timedelta(days=data["days"]),
            "until": now,
        }


def series_choices() -> list[tuple[str, str]]:
    """Stored candle series as (exchange|symbol|timeframe, description) choices."""
    choices = []
    for info in candles_series_list():
        if not info.get("count"):
            continue
        value = f"{info['exchange']}|{info['symbol']}|{info['timeframe']}"
        span = f"{_utc_date(info['first_ms'])} → {_utc_date(info['last_ms'])}"
        label = (
            f"{info['exchange']} · {info['symbol']} · {info['timeframe']} "
            f"({info['count']:,} candles, {span})"
        )
        choices.append((value, label))
    return choices


class BacktestSetupForm(forms.Form):
    """What every run and sweep needs: candles, period, strategy and the simulated broker."""

    series = forms.ChoiceField(
        label="Candles", help_text="A stored series: exchange · market · timeframe."
    )
    strategy = forms.ChoiceField(widget=forms.HiddenInput)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fee_rate = forms.DecimalField(
        min_value=0, max_value=Decimal("0.1"), initial=DEFAULT_FEE, help_text="0.001 is 0.1 %."
    )
    slippage = forms.DecimalField(
        min_value=0,
        max_value=Decimal("0.1"),
        initial=Decimal(0),
        help_text="Against market orders; 0.0005 is 0.05 %.",
    )
    starting_cash = forms.DecimalField(
        min_value=Decimal("0.01"), initial=DEFAULT_CASH, help_text="In the quote currency."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = series_choices()
        self.fields["strategy"].choices = [(s, s) for s in strategy_registry]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end must not be before the start.")
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        exchange, symbol, timeframe = data["series"].split("|")
        info = candles_series_info(exchange=exchange, symbol=symbol, timeframe=timeframe) or {}
        first = data["since"] or _utc_date(info.get("first_ms") or 0)
        last = data["until"] or _utc_date(info.get("last_ms") or 0)
        return {
            "strategy": data["strategy"],
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "since": _day_start(first),
            "until": _day_start(last) + timedelta(days=1),
            "fee_rate": data["fee_rate"],
            "slippage": data["slippage"],
            "starting_cash": data["starting_cash"],
        }


def _split_values(param: Param, text: str) -> list[str]:
    """ "5, 10, 20" or a range "5..50 step 5" (numbers only) as a list of raw values."""
    text = text.strip()
    if param.kind in ("int", "decimal") and ".." in text:
        bounds, _, step = text.partition("step")
        low, _, high = bounds.partition("..")
        try:
            low_d, high_d = Decimal(low.strip()), Decimal(high.strip())
            step_d = Decimal(step.strip() or "1")
        except InvalidOperation:
            raise forms.ValidationError('Write a range as "5..50 step 5".') from None
        if step_d <= 0 or high_d < low_d or (high_d - low_d) / step_d > 1000:
            raise forms.ValidationError("The range needs a positive step and at most 1,000 values.")
        count = int((high_d - low_d) / step_d) + 1
        return [str(low_d + i * step_d) for i in range(count)]
    if param.kind == "weights":
        return [text]  # weights contain commas: one value only
    return [part.strip() for part in text.split(",") if part.strip()]


class SweepGridForm(forms.Form):
    """One text input per strategy parameter: a single value, a list, or a numeric range."""

    def __init__(self, *args, strategy_cls, **kwargs):
        super().__init__(*args, **kwargs)
        self.strategy_cls = strategy_cls
        for param in strategy_cls.params:
            default = param.to_json(param.parse(param.default))
            self.fields[param.name] = forms.CharField(
                label=param.label,
                initial="" if default is None else str(default),
                required=param.required,
                help_text=f"{param.help} Several values: 5, 10, 20 or 5..50 step 5.",
            )

    def clean(self):
        cleaned = super().clean()
        values: dict[str, list[Any]] = {}
        for param in self.strategy_cls.params:
            text = cleaned.get(param.name)
            if text is None:
                continue
            try:
                raw = _split_values(param, text) or [""]
                parsed = [param.to_json(param.parse(value)) for value in raw]
            except forms.ValidationError as exc:
                self.add_error(param.name, exc.messages[0])
                continue
            except ValueError as exc:
                self.add_error(param.name, str(exc))
                continue
            values[param.name] = list(dict.fromkeys(parsed))  # no value twice
        cleaned["base_params"] = {k: v[0] for k, v in values.items() if len(v) == 1}
        cleaned["grid"] = {k: v for k, v in values.items() if len(v) > 1}
        return cleaned


class ReportForm(forms.Form):
    """The replay settings of a bot-versus-backtest report."""

    cash = forms.DecimalField(
        min_value=Decimal("0.01"),
        label="Starting cash (quote)",
        help_text="What the bot had to trade with when it started: amounts follow from it.",
    )
    fee_rate = forms.DecimalField(min_value=0, max_value=Decimal("0.1"), label="Fee rate")
