"""Audit the two-factor events for which allauth offers signals but no adapter hook."""

from allauth.mfa import signals
from allauth.mfa.models import Authenticator

from accounts.models import AuditEvent
from accounts.services.audit import audit_record


def _on_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    event_type = (
        "mfa.recovery_codes.generated"
        if authenticator.type == Authenticator.Type.RECOVERY_CODES
        else "mfa.enrolled"
    )
    audit_record(
        event_type=event_type, actor=user, request=request, detail={"type": authenticator.type}
    )


def _on_authenticator_removed(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        event_type="mfa.removed", actor=user, request=request, detail={"type": authenticator.type}
    )


def _on_authenticator_reset(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        event_type="mfa.recovery_codes.generated",
        actor=user,
        request=request,
        detail={"type": authenticator.type, "replaced": True},
    )


def _on_authentication_failed(sender, request, user, authenticator, **kwargs) -> None:
    audit_record(
        event_type="mfa.failure",
        actor=user,
        request=request,
        outcome=AuditEvent.Outcome.FAILURE,
        detail={"type": authenticator.type, "reauthentication": kwargs.get("reauthentication")},
    )


def connect() -> None:
    """Connect the receivers once, from AccountsConfig.ready()."""
    uid = "accounts.audit"
    signals.authenticator_added.connect(_on_authenticator_added, dispatch_uid=f"{uid}.added")
    signals.authenticator_removed.connect(_on_authenticator_removed, dispatch_uid=f"{uid}.removed")
    signals.authenticator_reset.connect(_on_authenticator_reset, dispatch_uid=f"{uid}.reset")
    signals.authentication_failed.connect(
        _on_authentication_failed, dispatch_uid=f"{uid}.mfa_failed"
    )
