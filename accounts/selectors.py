"""Reads about users and their keys: roles, two-factor status, owner-scoped keys."""

from allauth.mfa.models import Authenticator
from django.db.models import QuerySet
from django.http import Http404

from accounts import sql
from accounts.models import AuditEvent, ExchangeKey, Notification
from accounts.services.audit import audit_record

# Recovery codes alone are a fallback, not a second factor.
_SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def user_has_mfa(*, user) -> bool:
    """Return True when the user has an active second factor (an authenticator app)."""
    if user is None or not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type__in=_SECOND_FACTOR_TYPES).exists()


def user_role_names(*, user) -> list[str]:
    """Return the user's roles for display: "admin" for staff, then their group names."""
    roles = ["admin"] if user.is_staff or user.is_superuser else []
    roles.extend(group.name for group in user.groups.all())
    return roles


def user_has_perm(*, user, perm: str) -> bool:
    """`user.has_perm(perm)` under keytrade's backends (ModelBackend and allauth's subclass of
    it), in one query instead of two, cached on the user object for the request as Django's
    own permission cache is (a role change shows from the next request).
    """
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    names = getattr(user, "_keytrade_perm_names", None)
    if names is None:
        names = user._keytrade_perm_names = sql.permission_names(user_id=user.pk)
    return perm in names


# Pages never load the encrypted columns, so the web process never decrypts a credential.
_SECRET_FIELDS = ("api_key", "secret", "passphrase")


def key_list_for_user(*, user) -> QuerySet[ExchangeKey]:
    """Return the user's exchange keys, newest first, without their credentials."""
    return ExchangeKey.objects.filter(user=user).defer(*_SECRET_FIELDS).order_by("-created_at")


def key_rows_for_user(*, user, fields=None) -> list[ExchangeKey]:
    """list(key_list_for_user(user=)) (or with `fields` only those columns), newest first,
    read by one hand-written statement (accounts.sql): for pages that list every key."""
    return sql.keys_of_user(user_id=user.pk, fields=fields)


def key_get_for_user(*, user, id, request=None) -> ExchangeKey:
    """Return the user's key with that id; 404 otherwise, auditing attempts on others' keys."""
    key = key_list_for_user(user=user).filter(pk=id).first()
    if key is not None:
        return key
    if ExchangeKey.objects.filter(pk=id).exists():
        audit_record(
            event_type="access.denied",
            actor=user,
            request=request,
            target_type=ExchangeKey._meta.label_lower,
            target_id=str(id),
            outcome=AuditEvent.Outcome.DENIED,
        )
    raise Http404("No such exchange key.")


def notifications_for_user(*, user) -> QuerySet[Notification]:
    """Return the user's notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at")


def notification_unread_count(*, user) -> int:
    """Return how many of the user's notifications are unread (the header's bell, every page)."""
    return sql.notification_unread_count(user_id=user.pk)


def notification_get_for_user(*, user, id, request=None) -> Notification:
    """Return the user's notification with that id; 404 otherwise, auditing attempts on others'."""
    notification = notifications_for_user(user=user).filter(pk=id).first()
    if notification is not None:
        return notification
    if Notification.objects.filter(pk=id).exists():
        audit_record(
            event_type="access.denied",
            actor=user,
            request=request,
            target_type=Notification._meta.label_lower,
            target_id=str(id),
            outcome=AuditEvent.Outcome.DENIED,
        )
    raise Http404("No such notification.")
