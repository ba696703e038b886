"""The admin site: reached through allauth's login, and only with two-factor enrolled."""

from functools import wraps

from allauth.account.adapter import get_adapter
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from accounts.selectors import user_has_mfa

MFA_REQUIRED_MESSAGE = (
    "Administrators must set up two-factor authentication before the admin opens."
)


def _staff_without_mfa(user) -> bool:
    return user.is_active and user.is_staff and not user_has_mfa(user=user)


def _require_mfa(request):
    messages.warning(request, MFA_REQUIRED_MESSAGE)
    return redirect("mfa_activate_totp")


class KeytradeAdminSite(admin.AdminSite):
    """Admin site requiring two-factor for staff; login and logout go through allauth."""

    site_header = "keytrade admin"
    site_title = "keytrade admin"
    index_title = "Administration"

    def has_permission(self, request) -> bool:
        """Allow active staff who have enrolled a second factor."""
        return super().has_permission(request) and user_has_mfa(user=request.user)

    def admin_view(self, view, cacheable=False):
        """Wrap every admin view: staff without two-factor are sent to enrol first."""
        protected = super().admin_view(view, cacheable)

        @wraps(view)
        def inner(request, *args, **kwargs):
            if _staff_without_mfa(request.user):
                return _require_mfa(request)
            return protected(request, *args, **kwargs)

        return inner

    def login(self, request, extra_context=None):
        """Send visitors to keytrade's login (throttled, two-factor) instead of the admin's."""
        user = request.user
        if not user.is_authenticated:
            next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                next_url = reverse("admin:index", current_app=self.name)
            login_url = resolve_url("account_login")
            return redirect(f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
        if _staff_without_mfa(user):
            return _require_mfa(request)
        if not self.has_permission(request):
            raise PermissionDenied("This account cannot use the admin.")
        return redirect("admin:index")

    def password_change(self, request, extra_context=None):
        """Use keytrade's password change, which keeps this session and audits the change."""
        return redirect("account_change_password")

    def logout(self, request, extra_context=None):
        """Log out through allauth's adapter so that the logout is audited."""
        if request.method != "POST":
            return redirect("account_logout")
        get_adapter(request).logout(request)
        return redirect("account_login")
