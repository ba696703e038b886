"""Encrypt the TOTP secrets and recovery-code seeds allauth stored in clear before keytrade's
MFA adapter encrypted them (accounts.mfa_adapter)."""

from django.db import migrations

FIELDS = ("secret", "seed", "migrated_codes")


def encrypt_existing(apps, schema_editor):
    from accounts.mfa_adapter import is_encrypted, mfa_encrypt

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().iterator():
        data, changed = dict(authenticator.data), False
        for name in FIELDS:
            value = data.get(name)
            if isinstance(value, str) and not is_encrypted(value):
                data[name], changed = mfa_encrypt(value), True
            elif isinstance(value, list) and not all(is_encrypted(v) for v in value):
                data[name] = [v if is_encrypted(v) else mfa_encrypt(v) for v in value]
                changed = True
        if changed:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_notifications_webhooks_rotation_reminders"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop)]
