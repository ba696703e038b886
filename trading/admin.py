from django.contrib import admin

from trading.key_queries import with_key
from trading.models import AccountLimits, Balance, Fill, Order, OrderIntent, TradingHalt
from trading.services.halt import account_limits_admin_save, trading_halt_set


class ReadOnlyAdmin(admin.ModelAdmin):
    """Exchange data is written by the order path and sync only; the admin just looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrderIntent)
class OrderIntentAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "user",
        "kind",
        "side",
        "type",
        "amount",
        "symbol",
        "price",
        "status",
        "attempt",
        "client_order_id",
    )
    list_filter = ("status", "kind", "type", "source")
    search_fields = ("client_order_id", "exchange_order_id", "symbol", "user__username")
    list_select_related = ("user",)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("placed_at", "key", "side", "amount", "symbol", "price", "filled", "status")
    list_filter = ("status",)
    search_fields = ("exchange_order_id", "client_order_id", "symbol")

    def get_queryset(self, request):
        return with_key(super().get_queryset(request))


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = (
        "executed_at",
        "key",
        "side",
        "amount",
        "symbol",
        "price",
        "fee",
        "fee_currency",
    )
    search_fields = ("trade_id", "exchange_order_id", "symbol")

    def get_queryset(self, request):
        return with_key(super().get_queryset(request))


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ("key", "asset", "free", "used", "total", "updated_at")

    def get_queryset(self, request):
        return with_key(super().get_queryset(request))


@admin.register(AccountLimits)
class AccountLimitsAdmin(admin.ModelAdmin):
    """Admins set the ceilings and the per-user halt; the user's own choices are shown only."""

    list_display = (
        "user",
        "ceiling_max_order_notional",
        "ceiling_max_orders_per_minute",
        "trading_halted",
    )
    readonly_fields = ("max_order_notional", "max_orders_per_minute", "allowed_symbols")
    fields = (
        "user",
        "ceiling_max_order_notional",
        "ceiling_max_orders_per_minute",
        "ceiling_allowed_symbols",
        "trading_halted",
        *readonly_fields,
    )
    autocomplete_fields = ("user",)

    def save_model(self, request, obj, form, change):
        account_limits_admin_save(actor=request.user, limits=obj, request=request)


@admin.register(TradingHalt)
class TradingHaltAdmin(admin.ModelAdmin):
    """The global kill switch; saving goes through the service (audit, cancel-all)."""

    list_display = ("__str__", "reason", "changed_by", "changed_at")
    fields = ("active", "reason")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        trading_halt_set(actor=request.user, active=obj.active, reason=obj.reason, request=request)
