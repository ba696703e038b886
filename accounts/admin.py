from datetime import timedelta

from allauth.mfa.base.internal.flows import delete_dangling_recovery_codes
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.db.models.functions import Coalesce, Least
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from accounts.audit_csv import audit_events_csv_lines
from accounts.models import AuditEvent, ExchangeKey, Notification, NotificationWebhook, User
from accounts.selectors import user_role_names
from accounts.services.audit import audit_record
from accounts.services.keys import SECRET_FIELDS, key_disable

_ROLE_FIELDS = {"is_active", "is_staff", "is_superuser", "groups", "user_permissions"}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users with their roles: admin (staff) and the trader / viewer groups."""

    list_display = ("username", "email", "roles", "two_factor", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Roles",
            {
                "description": "Staff are admins. Traders may connect keys, place orders and "
                "run bots; viewers only see balances, orders and fills.",
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "email", "usable_password", "password1", "password2"),
            },
        ),
        ("Roles", {"fields": ("groups",)}),
    )

    def get_queryset(self, request):
        second_factor = Authenticator.objects.filter(
            user_id=OuterRef("pk"),
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
        )
        qs = super().get_queryset(request).prefetch_related("groups")
        return qs.annotate(has_two_factor=Exists(second_factor))

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(user_role_names(user=obj)) or "-"

    @admin.display(description="2FA", boolean=True, ordering="has_two_factor")
    def two_factor(self, obj):
        return obj.has_two_factor

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        # Least privilege: a new user is a viewer until someone makes them a trader.
        viewer = Group.objects.filter(name="viewer").first()
        if viewer and "groups" not in initial:
            initial["groups"] = [viewer.pk]
        return initial

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change or _ROLE_FIELDS & set(form.changed_data):
            user = form.instance
            audit_record(
                event_type="user.roles_changed" if change else "user.created",
                request=request,
                target=user,
                detail={
                    "username": user.get_username(),
                    "roles": user_role_names(user=user),
                    "is_active": user.is_active,
                    "is_superuser": user.is_superuser,
                    "changed": sorted(_ROLE_FIELDS & set(form.changed_data)),
                },
            )

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            audit_record(
                event_type="password.changed",
                request=request,
                target=user,
                detail={"flow": "admin", "username": user.get_username()},
            )
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only for everyone, superusers included."""

    list_display = (
        "seq",
        "created_at",
        "event_type",
        "outcome",
        "actor_username",
        "target",
        "ip_address",
    )
    list_filter = ("event_type", "outcome", "actor_username")
    date_hierarchy = "created_at"
    search_fields = ("actor_username", "event_type", "target_type", "target_id", "ip_address")
    list_per_page = 100
    show_full_result_count = False
    actions = ["export_selected_csv"]
    change_list_template = "admin/accounts/auditevent/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="target")
    def target(self, obj):
        return f"{obj.target_type} {obj.target_id}".strip() or "-"

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_csv_view)
        return [
            path("export-csv/", export, name="accounts_auditevent_export_csv"),
            *super().get_urls(),
        ]

    def export_csv_view(self, request):
        """Export every event matching the changelist's current filters and search."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, "Those filters are not valid; nothing was exported.")
            return redirect("admin:accounts_auditevent_changelist")
        return self._csv_response(request, changelist.get_queryset(request), "filtered")

    @admin.action(description="Export selected events as CSV")
    def export_selected_csv(self, request, queryset):
        return self._csv_response(request, queryset, "selected")

    def _csv_response(self, request, queryset, scope: str):
        # The rows stream after this returns: pin the export to the events that exist now,
        # so that it does not include its own "audit.exported" row.
        last_seq = AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0
        events = queryset.filter(seq__lte=last_seq).order_by("seq")
        audit_record(
            event_type="audit.exported",
            request=request,
            detail={"scope": scope, "count": events.count(), "query": request.GET.urlencode()},
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(
            audit_events_csv_lines(events=events.iterator(chunk_size=2000)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
        return response


if admin.site.is_registered(Authenticator):
    # allauth's own admin shows the authenticator's data: the TOTP secret and recovery seed.
    admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Second factors without their secrets; deleting one resets a user's lost device."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        user = obj.user
        obj.delete()
        delete_dangling_recovery_codes(user)
        audit_record(
            event_type="mfa.removed",
            request=request,
            target=user,
            detail={"type": obj.type, "by_admin": True, "username": user.get_username()},
        )

    def delete_queryset(self, request, queryset):
        for authenticator in queryset.select_related("user"):
            self.delete_model(request, authenticator)


def _replace_by():
    # The earlier of rotate-by and the exchange's reported expiry (rotate_by when none).
    return Least("rotate_by", Coalesce("exchange_expires_at", "rotate_by"))


class RotationFilter(admin.SimpleListFilter):
    title = "rotation"
    parameter_name = "rotation"

    def lookups(self, request, model_admin):
        return (("overdue", "Rotation overdue"), ("week", "Due within 7 days"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(replace_by_at__lt=now)
        if self.value() == "week":
            return queryset.filter(replace_by_at__gte=now, replace_by_at__lt=now + timedelta(7))
        return queryset


@admin.register(ExchangeKey)
class ExchangeKeyAdmin(admin.ModelAdmin):
    """Read-only view of keys: no credential field, not even its ciphertext, is ever loaded."""

    change_list_template = "admin/accounts/exchangekey/change_list.html"
    list_display = (
        "label",
        "user",
        "exchange",
        "fingerprint",
        "status",
        "scope_read",
        "scope_trade",
        "scope_withdraw",
        "created_at",
        "last_used_at",
        "rotate_by",
        "rotation",
    )
    list_filter = (RotationFilter, "status", "exchange", "scope_trade", "scope_withdraw")
    search_fields = ("label", "fingerprint", "user__username", "exchange")
    date_hierarchy = "created_at"
    fields = (
        "id",
        "user",
        "exchange",
        "label",
        "fingerprint",
        "status",
        "status_reason",
        "scope_read",
        "scope_trade",
        "scope_withdraw",
        "withdraw_confirmed",
        "ip_whitelist",
        "verified_scopes",
        "verified_at",
        "verified_ip_restricted",
        "exchange_expires_at",
        "created_at",
        "updated_at",
        "last_used_at",
        "rotation_period_days",
        "rotated_at",
        "rotate_by",
        "rotation_snoozed_until",
        "last_error",
        "enc_key_version",
    )
    readonly_fields = fields
    actions = ("disable_keys",)

    def get_queryset(self, request):
        qs = super().get_queryset(request).defer(*SECRET_FIELDS).select_related("user")
        return qs.annotate(replace_by_at=_replace_by())

    @admin.display(description="rotation", ordering="replace_by_at")
    def rotation(self, obj):
        days = (obj.replace_by_at.date() - timezone.now().date()).days
        if days < 0:
            return f"⚠ overdue {-days} d"
        return "due today" if days == 0 else f"in {days} d"

    def get_urls(self):
        summary = self.admin_site.admin_view(self.age_summary_view)
        return [
            path("age-summary/", summary, name="accounts_exchangekey_age_summary"),
            *super().get_urls(),
        ]

    def age_summary_view(self, request):
        """Per user: how many keys, the oldest credentials, and how many are overdue."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        rows = (
            ExchangeKey.objects.annotate(since=Coalesce("rotated_at", "created_at"))
            .annotate(replace_by_at=_replace_by())
            .values("user__username")
            .annotate(
                keys=Count("id"),
                active=Count("id", filter=Q(status=ExchangeKey.Status.ACTIVE)),
                oldest=Min("since"),
                overdue=Count("id", filter=Q(replace_by_at__lt=now)),
                next_due=Min("replace_by_at"),
            )
            .order_by("oldest")
        )
        users = [{**row, "oldest_days": (now - row["oldest"]).days} for row in rows]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Exchange-key age per user",
            "users": users,
        }
        return TemplateResponse(request, "admin/accounts/exchangekey/age_summary.html", context)

    def has_add_permission(self, request):
        return False  # keys are connected by their owner, through the audited service

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deletion goes through key_delete, which audits it

    def has_disable_permission(self, request):
        return request.user.has_perm("accounts.change_exchangekey")

    @admin.action(description="Disable selected keys", permissions=["disable"])
    def disable_keys(self, request, queryset):
        for key in queryset:
            key_disable(key=key, reason="Disabled by an administrator.", actor=request.user)
        self.message_user(request, f"Disabled {queryset.count()} key(s).")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Notifications as sent, read-only (for support: did the user get told?)."""

    list_display = ("created_at", "user", "kind", "title", "read_at", "emailed_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "title")
    date_hierarchy = "created_at"
    list_select_related = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NotificationWebhook)
class NotificationWebhookAdmin(admin.ModelAdmin):
    """Users' webhooks without their signing secret."""

    list_display = ("user", "url", "secret_created_at", "last_attempt_at", "last_status")
    fields = ("user", "url", "secret_created_at", "last_attempt_at", "last_status", "updated_at")
    readonly_fields = fields
    list_select_related = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
