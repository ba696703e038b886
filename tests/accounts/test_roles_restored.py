"""The trader and viewer groups come back after a flush or after an admin deleted one."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_missing_role_groups_are_recreated_with_their_permissions_by_migrate():
    Group.objects.filter(name="trader").delete()
    viewer = Group.objects.get(name="viewer")
    call_command("migrate", verbosity=0)
    trader = Group.objects.get(name="trader")
    assert sorted(trader.permissions.values_list("codename", flat=True)) == [
        "connect_keys",
        "place_orders",
        "run_bots",
    ]
    assert Group.objects.get(name="viewer").pk == viewer.pk  # existing groups are left alone


def test_the_groups_exist_after_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) == {"trader", "viewer"}
