"""accounts.sql's hand-written reads answer what Django's permission checks and the ORM do."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import ExchangeKey, Notification
from accounts.selectors import (
    key_list_for_user,
    key_rows_for_user,
    notification_unread_count,
    user_has_perm,
)
from accounts.services.keys import SECRET_FIELDS
from tests.conftest import make_user
from tests.vault_helpers import connect

pytestmark = pytest.mark.django_db


def fresh(user):
    return type(user).objects.get(pk=user.pk)  # no permission caches from before


@pytest.fixture
def people(alice, bob, charlie):
    perms = list(Permission.objects.order_by("pk"))
    direct, grouped, both = perms[:3], perms[3:7], perms[5:9]
    group = Group.objects.create(name="sql-test-group")
    group.permissions.add(*grouped)
    other = Group.objects.create(name="sql-test-other")
    other.permissions.add(*both)
    alice.user_permissions.add(*direct)  # direct only
    bob.groups.add(group, other)  # two groups, overlapping
    bob.user_permissions.add(perms[6])  # also granted by a group
    dave = make_user("dave", is_superuser=True)
    erin = make_user("erin", is_active=False)
    erin.user_permissions.add(*direct)
    return [alice, bob, charlie, dave, erin]


def test_user_has_perm_is_django_has_perm_for_every_permission(people):
    names = [
        f"{app}.{codename}"
        for app, codename in Permission.objects.order_by("pk").values_list(
            "content_type__app_label", "codename"
        )
    ]
    for person in people:
        ours, djangos = fresh(person), fresh(person)
        for name in [*names, "accounts.no_such_permission"]:
            assert user_has_perm(user=ours, perm=name) == djangos.has_perm(name), (person, name)
    assert user_has_perm(user=fresh(people[0]), perm=names[0])  # someone holds something


def test_a_role_change_shows_on_the_next_request(alice):
    perm = Permission.objects.get(content_type__app_label="accounts", codename="place_orders")
    assert not user_has_perm(user=fresh(alice), perm="accounts.place_orders")
    alice.user_permissions.add(perm)
    assert user_has_perm(user=fresh(alice), perm="accounts.place_orders")


def test_unread_count_is_the_orm_count(alice, bob):
    now = timezone.now()
    for user, read in ((alice, None), (alice, None), (alice, now), (bob, None)):
        Notification.objects.create(user=user, kind="key_reminder", title="t", read_at=read)
    for user in (alice, bob):
        expected = Notification.objects.filter(user=user, read_at__isnull=True).count()
        assert notification_unread_count(user=user) == expected
    assert notification_unread_count(user=alice) == 2


def test_key_rows_are_the_key_list_without_credentials(alice, bob):
    alice = fresh(alice)
    alice.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename="connect_keys")
    )
    alice = fresh(alice)
    for n in range(3):
        connect(alice, label=f"K{n}", api_key=f"KEY{n}" + "x" * 20)
    listed = list(key_list_for_user(user=alice))
    fields = [f.attname for f in ExchangeKey._meta.concrete_fields if f.name not in SECRET_FIELDS]
    rows = key_rows_for_user(user=alice)
    assert [[getattr(k, f) for f in fields] for k in rows] == [
        [getattr(k, f) for f in fields] for k in listed
    ]
    assert all(set(SECRET_FIELDS) <= k.get_deferred_fields() for k in rows)
    few = key_rows_for_user(user=alice, fields=("id", "label", "exchange"))
    assert [(k.pk, k.label, k.exchange) for k in few] == [
        (k.pk, k.label, k.exchange) for k in listed
    ]
    assert "fingerprint" in few[0].get_deferred_fields()
    assert key_rows_for_user(user=bob) == []
    with pytest.raises(ValueError):
        key_rows_for_user(user=alice, fields=("id", "secret"))
