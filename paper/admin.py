from django.contrib import admin

from paper.models import Fault, PaperAccount, PaperApiKey, PaperOrder, PriceAnchor, SimClock


@admin.register(PaperAccount)
class PaperAccountAdmin(admin.ModelAdmin):
    list_display = ["public_id", "user", "created_at"]
    readonly_fields = ["public_id", "user", "created_at", "write_seq"]


@admin.register(PaperApiKey)
class PaperApiKeyAdmin(admin.ModelAdmin):
    list_display = ["label", "fingerprint", "account", "can_trade", "can_withdraw", "is_enabled"]
    # Never the key material: the admin shows the fingerprint only.
    exclude = ["api_key", "secret"]
    readonly_fields = ["fingerprint", "account", "created_at"]


@admin.register(PaperOrder)
class PaperOrderAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "symbol", "side", "type", "price", "orig_qty", "status"]
    list_filter = ["status", "symbol"]


admin.site.register([SimClock, PriceAnchor, Fault])
