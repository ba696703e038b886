"""Reads about users: roles and two-factor status."""

from allauth.mfa.models import Authenticator

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
