from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts, keys and audit"

    def ready(self):
        # Registers the "encryption" health check used by /healthz and the worker guard.
        from accounts import canary

        post_migrate.connect(
            canary.create_canary_after_migrate, sender=self, dispatch_uid="accounts.canary"
        )
