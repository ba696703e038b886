from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """Show the signed-in user's starting page."""
    return render(request, "accounts/home.html")
