"""Forms for the dashboard pages: filters, the order ticket, amend, and account limits.

They only parse input; trading.services.orders and trading.services.limits own every rule.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from trading.models import SYMBOL_VALIDATOR, OrderIntent
from trading.selectors_dashboard import QUOTES

SIDES = [("", "Any side"), ("buy", "Buy"), ("sell", "Sell")]
_NUMBER = {"inputmode": "decimal", "autocomplete": "off", "class": "num"}


def _symbol(value: str) -> str:
    value = (value or "").strip().upper().replace("-", "/")
    if value:
        SYMBOL_VALIDATOR(value)
    return value


class QuoteForm(forms.Form):
    quote = forms.ChoiceField(choices=[(q, q) for q in QUOTES], required=False)

    def quote_or_default(self) -> str:
        return (self.is_valid() and self.cleaned_data["quote"]) or QUOTES[0]


class OrderFilterForm(forms.Form):
    key = forms.UUIDField(required=False)
    symbol = forms.CharField(required=False, max_length=41, help_text="e.g. BTC/USDT")

    def clean_symbol(self):
        return _symbol(self.cleaned_data["symbol"])


class FillFilterForm(OrderFilterForm):
    side = forms.ChoiceField(choices=SIDES, required=False)
    bot = forms.UUIDField(required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def selector_kwargs(self, key) -> dict:
        data = self.cleaned_data
        return {
            "key_id": key.pk if key else None,
            "symbol": data.get("symbol") or None,
            "side": data.get("side") or None,
            "bot": data.get("bot"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class OrderTicketForm(forms.Form):
    """A manual order: limit or market, buy or sell."""

    side = forms.ChoiceField(choices=OrderIntent.Side.choices, widget=forms.RadioSelect)
    type = forms.ChoiceField(choices=OrderIntent.Type.choices, initial="limit")
    amount = forms.DecimalField(
        min_value=0, max_digits=36, decimal_places=18, widget=forms.TextInput(attrs=_NUMBER)
    )
    price = forms.DecimalField(
        min_value=0,
        max_digits=36,
        decimal_places=18,
        required=False,
        widget=forms.TextInput(attrs=_NUMBER),
        help_text="Limit orders only.",
    )

    def clean(self):
        data = super().clean()
        if data.get("amount") is not None and data["amount"] <= 0:
            self.add_error("amount", "Enter an amount greater than zero.")
        if data.get("type") == "limit":
            price = data.get("price")
            if price is None or price <= 0:
                self.add_error("price", "A limit order needs a price greater than zero.")
        else:
            data["price"] = None
        return data


class AmendForm(forms.Form):
    """A new price and/or amount for an open limit order."""

    price = forms.DecimalField(
        min_value=0,
        max_digits=36,
        decimal_places=18,
        required=False,
        widget=forms.TextInput(attrs=_NUMBER),
    )
    amount = forms.DecimalField(
        min_value=0,
        max_digits=36,
        decimal_places=18,
        required=False,
        widget=forms.TextInput(attrs=_NUMBER),
    )

    def clean(self):
        data = super().clean()
        if data.get("price") is None and data.get("amount") is None:
            raise ValidationError("Change the price, the amount, or both.")
        for name in ("price", "amount"):
            if data.get(name) is not None and data[name] <= 0:
                self.add_error(name, "Must be greater than zero.")
        return data


class LimitsForm(forms.Form):
    """The limits a user sets for themselves (never above the administrator's ceiling)."""

    max_order_notional = forms.DecimalField(
        min_value=0,
        max_digits=36,
        decimal_places=18,
        required=False,
        widget=forms.TextInput(attrs=_NUMBER),
        help_text="In the quote currency of each order. Empty: up to the ceiling.",
    )
    max_orders_per_minute = forms.IntegerField(
        min_value=1, required=False, help_text="Empty: up to the ceiling."
    )
    allowed_symbols = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text="One BASE/QUOTE symbol per line or comma-separated. Empty: any symbol.",
    )

    def clean_allowed_symbols(self) -> list[str]:
        raw = self.cleaned_data["allowed_symbols"].replace(",", "\n")
        symbols = []
        for line in raw.splitlines():
            if line.strip():
                try:
                    symbols.append(_symbol(line))
                except ValidationError:
                    raise ValidationError(f"“{line.strip()[:41]}” is not BASE/QUOTE.") from None
        return symbols

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)
