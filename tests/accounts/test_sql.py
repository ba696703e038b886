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


def _as_loaded(user) -> tuple:
    """Everything a loaded instance carries: each field's value with its type, and its state."""
    values = {f.attname: getattr(user, f.attname) for f in type(user)._meta.concrete_fields}
    return repr(values), type(user), user._state.db, user._state.adding, user.get_deferred_fields()


def test_user_get_by_pk_is_the_orm_get(people):
    User = type(people[0])
    for person in people:
        ours = User.objects.get(pk=person.pk)  # authentication's lookup (ModelBackend.get_user)
        orms = User.objects.all().get(pk=person.pk)  # the queryset's get: the ORM's own path
        assert _as_loaded(ours) == _as_loaded(orms)
        assert _as_loaded(User.objects.get(id=person.pk)) == _as_loaded(orms)
        assert ours.last_login is None or ours.last_login.tzinfo is not None
        assert isinstance(ours.public_id, type(person.public_id))


def test_user_get_by_pk_reads_the_database_every_time(alice, django_assert_num_queries):
    User = type(alice)
    with django_assert_num_queries(1):
        User.objects.get(pk=alice.pk)
    User.objects.filter(pk=alice.pk).update(first_name="Alicia", is_active=False)
    again = User.objects.get(pk=alice.pk)
    assert (again.first_name, again.is_active) == ("Alicia", False)


def test_user_get_of_a_missing_pk_raises_does_not_exist(alice):
    User = type(alice)
    with pytest.raises(User.DoesNotExist, match="User matching query does not exist"):
        User.objects.get(pk=alice.pk + 1000)


def test_other_user_lookups_keep_the_orm_path(alice, bob):
    User = type(alice)
    group = Group.objects.create(name="only-bob")
    bob.groups.add(group)
    with pytest.raises(User.DoesNotExist):
        group.user_set.get(pk=alice.pk)  # a relation manager still filters by the relation
    assert group.user_set.get(pk=bob.pk) == bob
    assert User.objects.get(pk=str(alice.pk)) == alice  # not an int: the ORM converts it
    assert User.objects.get(username="alice") == alice
    with pytest.raises(User.DoesNotExist):
        User.objects.get(pk=alice.pk, username="bob")


def test_a_logged_in_page_loads_its_user_through_the_read(client, alice):
    client.force_login(alice)
    User = type(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    response = client.get("/")  # an inactive user is logged out, as ModelBackend decides
    assert response.status_code == 302
