from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ExchangeKey, User
from accounts.services.keys import SECRET_FIELDS, key_disable

admin.site.register(User, UserAdmin)


@admin.register(ExchangeKey)
class ExchangeKeyAdmin(admin.ModelAdmin):
    """Read-only view of keys: no credential field, not even its ciphertext, is ever loaded."""

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
    )
    list_filter = ("status", "exchange", "scope_trade", "scope_withdraw")
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
        "rotate_by",
        "last_error",
        "enc_key_version",
    )
    readonly_fields = fields
    actions = ("disable_keys",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*SECRET_FIELDS).select_related("user")

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
