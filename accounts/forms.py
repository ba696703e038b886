"""Forms that adjust allauth's defaults."""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import TOTP
from django import forms


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's authenticator-app enrolment form, which also spends the code it accepts."""

    def clean_code(self) -> str:
        code = super().clean_code()
        # allauth checks the enrolment code without recording it, so the same code would still
        # open a login within its 30-second window. Record it in the shared cache, exactly as
        # a login does (tests/accounts/test_two_factor.py pins this to allauth's behaviour).
        TOTP(Authenticator(user_id=self.user.pk, type=Authenticator.Type.TOTP))._mark_code_used(
            code
        )
        return code


class WebhookURLForm(forms.Form):
    """Where keytrade POSTs your notifications (empty turns the webhook off)."""

    url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="keytrade POSTs each notification here as signed JSON. Leave empty to turn off.",
    )
