from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import user_has_mfa, user_role_names


@login_required
def home(request):
    """Show the signed-in user's starting page."""
    context = {
        "has_mfa": user_has_mfa(user=request.user),
        "roles": user_role_names(user=request.user),
    }
    return render(request, "accounts/home.html", context)
