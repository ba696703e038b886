"""Owner-scoped reads."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import AuditEvent, ExchangeKey
from accounts.services.audit import audit_record

# Pages never load the encrypted columns, so the web process never decrypts a credential.
_SECRET_FIELDS = ("api_key", "secret", "passphrase")


def key_list_for_user(*, user) -> QuerySet[ExchangeKey]:
    """Return the user's exchange keys, newest first, without their credentials."""
    return ExchangeKey.objects.filter(user=user).defer(*_SECRET_FIELDS).order_by("-created_at")


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
