from datetime import UTC, datetime, time

from django import forms
from django.core.exceptions import ValidationError

from paper.market import SYMBOLS
from paper.models import Fault
from paper.services.keys import ip_whitelist_normalize


class KeyForm(forms.Form):
    label = forms.CharField(max_length=64)
    can_trade = forms.BooleanField(required=False, label="Enable spot trading")
    can_withdraw = forms.BooleanField(required=False, label="Enable withdrawals")
    ip_whitelist = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Restrict access to these IP addresses or networks",
        help_text="One per line, e.g. 127.0.0.1 or 10.0.0.0/8. Empty: any address.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Expires on (UTC, end of day)",
    )

    def clean_ip_whitelist(self):
        raw = self.cleaned_data["ip_whitelist"].replace(",", "\n").splitlines()
        return ip_whitelist_normalize(raw)

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        return datetime.combine(day, time.max, tzinfo=UTC) if day else None

    @classmethod
    def for_key(cls, key):
        return cls(
            initial={
                "label": key.label,
                "can_trade": key.can_trade,
                "can_withdraw": key.can_withdraw,
                "ip_whitelist": "\n".join(key.ip_whitelist),
                "expires_on": key.expires_at.date() if key.expires_at else None,
            }
        )


SYMBOL_CHOICES = [(s, spec.unified) for s, spec in SYMBOLS.items()]


class PriceForm(forms.Form):
    symbol = forms.ChoiceField(choices=SYMBOL_CHOICES)
    price = forms.DecimalField(min_value=0, max_digits=24, decimal_places=8)
    minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1440,
        help_text="Empty: set now. Otherwise move there linearly over this many minutes.",
    )


class ClockForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("freeze", "Freeze"),
            ("resume", "Resume"),
            ("advance", "Advance"),
            ("skew", "Set server clock skew"),
            ("reset", "Reset everything"),
        ]
    )
    seconds = forms.IntegerField(required=False, help_text="Advance by / skew by (seconds)")

    def clean(self):
        data = super().clean()
        if data.get("action") in ("advance", "skew") and data.get("seconds") is None:
            raise ValidationError("Give a number of seconds.")
        return data


class FaultForm(forms.Form):
    kind = forms.ChoiceField(choices=Fault.Kind.choices)
    endpoint = forms.CharField(required=False, max_length=64, help_text="e.g. api/v3/order")
    method = forms.ChoiceField(
        required=False,
        choices=[("", "any"), ("GET", "GET"), ("POST", "POST"), ("DELETE", "DELETE")],
    )
    value = forms.IntegerField(required=False, min_value=0, initial=0, help_text="ms or seconds")
    count = forms.IntegerField(required=False, min_value=1, help_text="Empty: until cleared")
