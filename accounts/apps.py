from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts, keys and audit"

    def ready(self):
        from accounts import canary, receivers, roles

        receivers.connect()
        # Registers the "encryption" health check used by /healthz and the worker guard.
        post_migrate.connect(
            canary.create_canary_after_migrate, sender=self, dispatch_uid="accounts.canary"
        )
        post_migrate.connect(roles.ensure_role_groups, sender=self, dispatch_uid="accounts.roles")


class KeytradeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with keytrade's site (two-factor required for staff)."""

    default = False
    default_site = "accounts.admin_site.KeytradeAdminSite"
