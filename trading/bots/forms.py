"""Forms for creating and controlling bots (strategy parameters come from the strategy schema)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from accounts.models import ExchangeKey
from trading.bots.models import Bot


class BotForm(forms.Form):
    """A bot's key, symbol, schedule, risk limits and mode (its parameters are a second form)."""

    name = forms.CharField(max_length=100, required=False, help_text="Leave empty for a default.")
    key = forms.ModelChoiceField(queryset=ExchangeKey.objects.none(), empty_label=None)
    symbol = forms.CharField(
        max_length=41, initial="BTC/USDT", help_text="BASE/QUOTE, e.g. BTC/USDT."
    )
    tick_interval_seconds = forms.IntegerField(
        min_value=1, max_value=86400, initial=10, label="Tick every (seconds)"
    )
    max_order_notional = forms.DecimalField(
        min_value=Decimal(0),
        initial=Decimal("500"),
        label="Max order value (quote)",
        help_text="No single order may be worth more than this.",
    )
    max_position = forms.DecimalField(
        min_value=Decimal(0),
        required=False,
        label="Max position",
        help_text="Buys stop once the position would exceed this. Empty: no limit.",
    )
    max_position_unit = forms.ChoiceField(
        choices=Bot.PositionUnit.choices,
        initial=Bot.PositionUnit.QUOTE,
        label="Position measured in",
    )
    max_open_orders = forms.IntegerField(
        min_value=1, max_value=500, initial=20, label="Max open orders"
    )
    daily_loss_limit = forms.DecimalField(
        min_value=Decimal(0),
        initial=Decimal("100"),
        label="Daily loss limit (quote)",
        help_text=(
            "Realized plus unrealized loss today (UTC) that stops the bot and cancels its "
            "orders. 0: off."
        ),
    )
    mode = forms.ChoiceField(
        choices=Bot.Mode.choices,
        initial=Bot.Mode.DRY_RUN,
        help_text=(
            "Dry run simulates fills against live prices and sends nothing. Live sends orders "
            "(the paper exchange counts as live and needs no IP whitelist)."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].queryset = (
            ExchangeKey.objects.filter(user=user, status=ExchangeKey.Status.ACTIVE)
            .defer("api_key", "secret", "passphrase")
            .order_by("label")
        )

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class BotStopForm(forms.Form):
    cancel_orders = forms.BooleanField(
        required=False, initial=True, label="Also cancel the bot's open orders"
    )


class BotStartForm(forms.Form):
    confirm_live = forms.BooleanField(
        required=False, label="I understand this bot will send real orders with this key"
    )
