"""View decorators for role checks."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required


def permission_required_or_403(perm: str) -> Callable:
    """Send anonymous users to the login page and answer 403 to users lacking `perm`.

    Roles are groups: `trader` holds accounts.connect_keys, accounts.place_orders and
    accounts.run_bots; `viewer` holds none of them.
    """

    def decorator(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorator
