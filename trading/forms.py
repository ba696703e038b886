"""Forms for the exchange-key pages. accounts.services.keys is the authority on every rule;
these forms only parse input and check what needs ccxt's catalog (exchange, credentials)."""

from django import forms
from django.core.exceptions import ValidationError

from accounts.validators import WITHDRAW_CONFIRMATION_PHRASE
from trading.exchange.catalog import (
    exchange_choices,
    required_credentials,
    unsupported_credentials,
)

_SECRET_WIDGET_ATTRS = {"autocomplete": "off", "spellcheck": "false", "class": "mono"}


def _secret_field(label: str, help_text: str = "") -> forms.CharField:
    # strip=False: the service rejects stray whitespace instead of silently changing a secret.
    # No max_length: a browser would truncate silently; the service rejects oversized values.
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs=_SECRET_WIDGET_ATTRS),
    )


class KeyScopesForm(forms.Form):
    """Fields shared by connect and edit: label, scopes, IP whitelist, rotation period."""

    label = forms.CharField(max_length=100, help_text="A name for you, e.g. “Main account”.")
    scope_read = forms.BooleanField(label="Read balances and orders", required=False)
    scope_trade = forms.BooleanField(label="Trade (place and cancel orders)", required=False)
    scope_withdraw = forms.BooleanField(label="Withdraw funds", required=False)
    withdraw_confirmation = forms.CharField(
        label="Type to confirm withdraw scope",
        required=False,
        help_text=f"Type exactly: {WITHDRAW_CONFIRMATION_PHRASE}",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    ip_whitelist = forms.CharField(
        label="IP whitelist",
        required=False,
        help_text="Addresses or CIDR networks the exchange restricts this key to, "
        "one per line (IPv4 or IPv6).",
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
    )
    rotation_period_days = forms.IntegerField(
        label="Rotate every (days)", min_value=1, max_value=3650, initial=90
    )

    def scope_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "label": data["label"],
            "scope_read": data["scope_read"],
            "scope_trade": data["scope_trade"],
            "scope_withdraw": data["scope_withdraw"],
            "withdraw_confirmed": data["withdraw_confirmation"].strip()
            == WITHDRAW_CONFIRMATION_PHRASE,
            "ip_whitelist": data["ip_whitelist"],
            "rotation_period_days": data["rotation_period_days"],
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ValidationError on the matching fields (or above the form)."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)


class KeyConnectForm(KeyScopesForm):
    """Connect a new exchange key."""

    exchange = forms.CharField(
        max_length=64,
        widget=forms.TextInput(
            attrs={"list": "exchange-options", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Start typing to search ccxt's exchanges, or pick “paper”.",
    )
    api_key = _secret_field("API key")
    secret = _secret_field("Secret")
    passphrase = _secret_field("Passphrase", "Only some exchanges (e.g. OKX, KuCoin) use one.")

    field_order = ["exchange", "label", "api_key", "secret", "passphrase"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope_read"].initial = True

    def clean_exchange(self) -> str:
        typed = self.cleaned_data["exchange"].strip()
        for exchange_id, name in exchange_choices():
            if typed.lower() in (exchange_id, name.lower()):
                break
        else:
            raise ValidationError(f"Unknown exchange “{typed[:64]}”: pick one from the list.")
        unsupported = unsupported_credentials(exchange_id)
        if unsupported:
            raise ValidationError(
                f"{name} needs credentials keytrade cannot store yet ({', '.join(unsupported)})."
            )
        return exchange_id

    def clean(self):
        data = super().clean()
        exchange_id = data.get("exchange")
        if exchange_id is None:
            return data
        if required_credentials(exchange_id).get("passphrase"):
            if not data.get("passphrase"):
                self.add_error("passphrase", "This exchange requires a passphrase.")
        else:
            # Not used by this exchange; never store what was not asked for.
            data["passphrase"] = ""
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            **self.scope_kwargs(),
            "exchange": data["exchange"],
            "api_key": data["api_key"],
            "secret": data["secret"],
            "passphrase": data["passphrase"],
        }


class KeyEditForm(KeyScopesForm):
    """Change a key's label, scopes, IP whitelist and rotation period (never its credentials)."""

    @classmethod
    def initial_for(cls, key) -> dict:
        return {
            "label": key.label,
            "scope_read": key.scope_read,
            "scope_trade": key.scope_trade,
            "scope_withdraw": key.scope_withdraw,
            "ip_whitelist": "\n".join(key.ip_whitelist),
            "rotation_period_days": key.rotation_period_days,
        }


class KeyDisableForm(forms.Form):
    reason = forms.CharField(
        max_length=300, required=False, help_text="Optional: why you are disabling it."
    )


class KeyRotateForm(forms.Form):
    """Paste the replacement key for the same exchange account."""

    api_key = _secret_field("New API key")
    secret = _secret_field("New secret")
    passphrase = _secret_field("New passphrase")

    def __init__(self, *args, exchange: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_passphrase = bool(required_credentials(exchange).get("passphrase"))
        if not self.needs_passphrase:
            del self.fields["passphrase"]

    def clean(self):
        data = super().clean()
        for name in ("api_key", "secret"):
            if not data.get(name):
                self.add_error(name, "Paste the new key's value here.")
        if self.needs_passphrase and not data.get("passphrase"):
            self.add_error("passphrase", "This exchange requires a passphrase.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "api_key": data["api_key"],
            "secret": data["secret"],
            "passphrase": data.get("passphrase", "") or "",
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)
