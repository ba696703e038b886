"""Exchange-key pages: list, connect, detail, edit, disable, delete. Secrets are write-only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import key_get_for_user, key_list_for_user
from accounts.services.key_reminders import key_rotation_snooze, reminder_stage
from accounts.services.keys import (
    CONNECT_PERMISSION,
    key_connect,
    key_delete,
    key_disable,
    key_update,
)
from accounts.validators import WITHDRAW_CONFIRMATION_PHRASE
from trading.exchange.catalog import credential_map, exchange_choices
from trading.forms import KeyConnectForm, KeyDisableForm, KeyEditForm, KeyRotateForm
from trading.services.key_rotation import key_rotate_verified
from trading.tasks import account_sync_task, key_verify_task

_CREDENTIALS = ("api_key", "secret", "passphrase")
GET_POST = require_http_methods(["GET", "POST"])


def _exchange_names() -> dict[str, str]:
    return dict(exchange_choices())


@login_required
def key_list(request):
    """List the user's keys with their fingerprints, scopes and warnings."""
    names = _exchange_names()
    rows = [
        (key, names.get(key.exchange, key.exchange)) for key in key_list_for_user(user=request.user)
    ]
    return render(request, "trading/key_list.html", {"rows": rows})


@sensitive_post_parameters(*_CREDENTIALS)
@login_required
@GET_POST
@permission_required(CONNECT_PERMISSION, raise_exception=True)
def key_connect_view(request):
    """Connect a new key: pick the exchange, paste its credentials, declare its scopes."""
    form = KeyConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key = key_connect(user=request.user, request=request, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            # The worker checks the key with its exchange, then reads its account.
            key_verify_task.delay_on_commit(str(key.pk))
            account_sync_task.delay_on_commit(str(key.pk))
            messages.success(
                request,
                f"Connected “{key.label}” ({key.fingerprint}). keytrade is checking it with "
                "the exchange.",
            )
            return redirect("trading:key_detail", id=key.id)
    context = {
        "form": form,
        "exchanges": exchange_choices(),
        "credential_map": credential_map(),
        "phrase": WITHDRAW_CONFIRMATION_PHRASE,
    }
    return render(request, "trading/key_connect.html", context)


@login_required
def key_detail(request, id):
    """Show one key: fingerprint, scopes, whitelist, dates and status; never its credentials."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    names = _exchange_names()
    context = {
        "key": key,
        "exchange_name": names.get(key.exchange, key.exchange),
        "rotation_stage": reminder_stage(due=key.replace_by, today=timezone.now().date()),
    }
    return render(request, "trading/key_detail.html", context)


@login_required
@GET_POST
def key_edit(request, id):
    """Change label, scopes, IP whitelist and rotation period; credentials cannot be edited."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    if not request.user.has_perm(CONNECT_PERMISSION):
        raise PermissionDenied("Your role cannot change exchange keys.")
    form = KeyEditForm(request.POST or None, initial=KeyEditForm.initial_for(key))
    if request.method == "POST" and form.is_valid():
        try:
            key_update(key=key, actor=request.user, request=request, **form.scope_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved “{key.label}”.")
            return redirect("trading:key_detail", id=key.id)
    context = {"key": key, "form": form, "phrase": WITHDRAW_CONFIRMATION_PHRASE}
    return render(request, "trading/key_edit.html", context)


@login_required
@GET_POST
def key_disable_view(request, id):
    """Confirm, then stop the key from being used."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    form = KeyDisableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"] or f"Disabled by {request.user.get_username()}."
        was_active = key.status == key.Status.ACTIVE
        key_disable(key=key, reason=reason, actor=request.user, request=request)
        if was_active:
            messages.success(request, f"Disabled “{key.label}”. Nothing will be sent with it.")
        else:
            messages.info(request, f"“{key.label}” is already {key.get_status_display().lower()}.")
        return redirect("trading:key_detail", id=key.id)
    return render(request, "trading/key_disable.html", {"key": key, "form": form})


@login_required
@GET_POST
def key_delete_view(request, id):
    """Confirm, then delete the key and its encrypted credentials."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    if not request.user.has_perm(CONNECT_PERMISSION):
        raise PermissionDenied("Your role cannot change exchange keys.")
    if request.method == "POST":
        key_delete(key=key, actor=request.user, request=request)
        messages.success(
            request,
            f"Deleted “{key.label}”. Revoke it on the exchange too if you no longer use it.",
        )
        return redirect("trading:key_list")
    return render(request, "trading/key_delete.html", {"key": key})


@sensitive_post_parameters(*_CREDENTIALS)
@login_required
@GET_POST
def key_rotate_view(request, id):
    """Paste a replacement key; it is checked with the exchange before it replaces the old one."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    if not request.user.has_perm(CONNECT_PERMISSION):
        raise PermissionDenied("Your role cannot change exchange keys.")
    form = KeyRotateForm(request.POST or None, exchange=key.exchange)
    if request.method == "POST" and form.is_valid():
        old_fingerprint = key.fingerprint
        try:
            key_rotate_verified(
                key=key, actor=request.user, request=request, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                f"Rotated “{key.label}”: keytrade now uses {key.fingerprint}. Delete the old key "
                f"({old_fingerprint}) on the exchange now.",
            )
            return redirect("trading:key_detail", id=key.id)
    context = {"key": key, "form": form, "exchange_name": _exchange_names().get(key.exchange)}
    return render(request, "trading/key_rotate.html", context)


@login_required
@require_POST
def key_snooze_view(request, id):
    """Silence this key's rotation reminders for 7 days (once per rotate-by date)."""
    key = key_get_for_user(user=request.user, id=id, request=request)
    try:
        key_rotation_snooze(key=key, actor=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        until = key.rotation_snoozed_until
        messages.success(
            request, f"Rotation reminders for “{key.label}” paused until {until:%Y-%m-%d}."
        )
    return redirect("trading:key_detail", id=key.id)
