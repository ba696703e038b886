from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts, keys and audit"

    def ready(self):
        from accounts import receivers

        receivers.connect()


class KeytradeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with keytrade's site (two-factor required for staff)."""

    default = False
    default_site = "accounts.admin_site.KeytradeAdminSite"
