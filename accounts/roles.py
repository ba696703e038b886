"""The roles: Django groups "trader" and "viewer" (created by migration 0004).

A transactional test's flush, or an admin deleting a group, would leave users without their
role; after every migrate (and flush) the groups that are missing are created again with
their default permissions. Existing groups are left as the admin set them.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

ROLE_PERMISSIONS = {
    "trader": ["connect_keys", "place_orders", "run_bots"],
    "viewer": [],
}


def ensure_role_groups(**kwargs) -> None:
    """post_migrate receiver: create any missing role group with its default permissions."""
    missing = set(ROLE_PERMISSIONS) - set(
        Group.objects.filter(name__in=ROLE_PERMISSIONS).values_list("name", flat=True)
    )
    if not missing:
        return
    user_type = ContentType.objects.get(app_label="accounts", model="user")
    for role in sorted(missing):
        group = Group.objects.create(name=role)
        group.permissions.set(
            Permission.objects.filter(content_type=user_type, codename__in=ROLE_PERMISSIONS[role])
        )
