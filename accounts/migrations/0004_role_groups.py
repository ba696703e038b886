"""Create the trader and viewer roles as Django groups."""

from django.db import migrations

ROLE_PERMISSIONS = {
    "trader": ["connect_keys", "place_orders", "run_bots"],
    # Viewers see balances, orders and fills, which needs no permission beyond logging in.
    "viewer": [],
}
PERMISSION_NAMES = {
    "connect_keys": "Can connect exchange keys",
    "place_orders": "Can place and cancel orders",
    "run_bots": "Can start and stop bots",
}


def create_role_groups(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after migrate (post_migrate); create them now so
    # that the groups can hold them. post_migrate later finds them and leaves them be.
    user_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for codename in codenames:
            permission, _ = Permission.objects.get_or_create(
                content_type=user_type,
                codename=codename,
                defaults={"name": PERMISSION_NAMES[codename]},
            )
            group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_role_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
