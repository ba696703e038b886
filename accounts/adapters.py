"""allauth adapters: registration switch and the audit trail of logins and passwords."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from accounts.selectors import user_has_mfa
from accounts.services.audit import audit_record


def _attempted_username(credentials: dict) -> str:
    return str(credentials.get("username") or credentials.get("email") or "")[:150]


def _failure_event(request) -> str:
    # allauth also authenticates an already signed-in user to confirm a sensitive action.
    return "reauthentication.failure" if request.user.is_authenticated else "login.failure"


class AccountAdapter(DefaultAccountAdapter):
    """keytrade's account adapter: sign-up switch and audit events."""

    def is_open_for_signup(self, request) -> bool:
        """Allow sign-up only when ALLOW_REGISTRATION is on (it is off by default)."""
        return bool(getattr(settings, "ACCOUNT_ALLOW_REGISTRATION", False))

    def save_user(self, request, user, form, commit=True):
        """Create a signed-up user as a viewer (least privilege) and audit it."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            viewer = Group.objects.filter(name="viewer").first()
            if viewer:
                user.groups.add(viewer)
            audit_record(
                event_type="user.created",
                actor=user,
                request=request,
                target=user,
                detail={"flow": "signup", "roles": [viewer.name] if viewer else []},
            )
        return user

    def pre_authenticate(self, request, **credentials) -> None:
        """Refuse a throttled attempt before the password is checked, and audit the refusal."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            audit_record(
                event_type=_failure_event(request),
                request=request,
                outcome=AuditEvent.Outcome.DENIED,
                detail={"username": _attempted_username(credentials), "reason": "throttled"},
            )
            raise

    def authentication_failed(self, request, **credentials) -> None:
        """Audit a wrong username or password; the user sees one message for both."""
        audit_record(
            event_type=_failure_event(request),
            request=request,
            outcome=AuditEvent.Outcome.FAILURE,
            detail={"username": _attempted_username(credentials)},
        )

    def login(self, request, user) -> None:
        """Log the user in (Django rotates the session key) and audit it."""
        super().login(request, user)
        audit_record(
            event_type="login.success",
            actor=user,
            request=request,
            detail={"two_factor": user_has_mfa(user=user)},
        )

    def logout(self, request) -> None:
        """Audit the logout, then end the session (its row is deleted)."""
        if request.user.is_authenticated:
            audit_record(event_type="logout", request=request)
        super().logout(request)

    def set_password(self, user, password: str) -> None:
        """Set a new password (other sessions become invalid) and audit the change."""
        super().set_password(user, password)
        request = context.request
        signed_in = request is not None and request.user.is_authenticated
        audit_record(
            event_type="password.changed",
            actor=user,
            request=request,
            target=user,
            detail={"flow": "change" if signed_in else "reset"},
        )
