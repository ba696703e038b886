from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import WebhookURLForm
from accounts.selectors import (
    notification_get_for_user,
    notification_unread_count,
    notifications_for_user,
    user_has_mfa,
    user_role_names,
)
from accounts.services.notifications import notification_mark_read, notifications_mark_all_read
from accounts.services.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    webhook_for_user,
    webhook_secret_rotate,
    webhook_send_test,
    webhook_set_url,
)


@login_required
def home(request):
    """Show the signed-in user's starting page."""
    context = {
        "has_mfa": user_has_mfa(user=request.user),
        "roles": user_role_names(user=request.user),
    }
    return render(request, "accounts/home.html", context)


@login_required
def notification_list(request):
    """List the user's notifications, newest first, 50 a page."""
    page = Paginator(notifications_for_user(user=request.user), 50).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "unread": notification_unread_count(user=request.user)}
    return render(request, "accounts/notifications.html", context)


@login_required
@require_GET
def notification_bell(request):
    """The header bell with the unread count (htmx polls this every 30 s)."""
    count = notification_unread_count(user=request.user)
    return render(request, "accounts/_notification_bell.html", {"unread_count": count})


@login_required
@require_POST
def notification_read(request, id):
    """Mark one notification read, then follow its link (or go back to the list)."""
    notification = notification_get_for_user(user=request.user, id=id, request=request)
    notification_mark_read(notification=notification)
    target = notification.link if request.POST.get("follow") else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("accounts:notifications")


@login_required
@require_POST
def notification_read_all(request):
    """Mark every notification read."""
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("accounts:notifications")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def webhook_settings(request):
    """Set the webhook URL, generate or rotate its signing secret, send a test event."""
    action = request.POST.get("action", "")
    webhook = webhook_for_user(user=request.user)
    form = WebhookURLForm(request.POST if action == "save" else None, initial={"url": webhook.url})
    new_secret = ""
    if action == "save" and form.is_valid():
        try:
            webhook_set_url(user=request.user, url=form.cleaned_data["url"], request=request)
        except ValidationError as exc:
            form.add_error("url", exc.message_dict.get("url", exc.messages))
        else:
            messages.success(request, "Saved the webhook URL.")
            return redirect("accounts:webhook_settings")
    elif action == "rotate_secret":
        new_secret = webhook_secret_rotate(user=request.user, request=request)
        webhook = webhook_for_user(user=request.user)
    elif action == "test":
        return _webhook_test(request, webhook)
    context = {
        "form": form,
        "webhook": webhook,
        "new_secret": new_secret,
        "signature_header": SIGNATURE_HEADER,
        "timestamp_header": TIMESTAMP_HEADER,
    }
    return render(request, "accounts/webhook_settings.html", context)


def _webhook_test(request, webhook):
    if not webhook.is_active:
        messages.error(request, "Set a URL and generate a secret before sending a test event.")
    else:
        webhook_send_test(user=request.user)
        messages.success(request, "Test event queued; the status below updates once it is sent.")
    return redirect("accounts:webhook_settings")
