"""Roles: admin is staff; trader and viewer are groups holding keytrade's permissions."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.decorators import permission_required_or_403
from accounts.selectors import user_role_names

pytestmark = pytest.mark.django_db

TRADING_PERMISSIONS = {"connect_keys", "place_orders", "run_bots"}


@pytest.fixture
def trader(alice):
    alice.groups.add(Group.objects.get(name="trader"))
    return alice


@pytest.fixture
def viewer(bob):
    bob.groups.add(Group.objects.get(name="viewer"))
    return bob


def test_the_roles_exist_with_their_permissions():
    trader = Group.objects.get(name="trader")
    viewer = Group.objects.get(name="viewer")
    assert set(trader.permissions.values_list("codename", flat=True)) == TRADING_PERMISSIONS
    assert not viewer.permissions.exists()


def test_a_trader_may_trade(trader):
    for codename in TRADING_PERMISSIONS:
        assert trader.has_perm(f"accounts.{codename}")


def test_a_viewer_may_not_trade(viewer):
    for codename in TRADING_PERMISSIONS:
        assert not viewer.has_perm(f"accounts.{codename}")


def test_a_superuser_is_admin_and_may_do_everything(django_user_model):
    root = django_user_model.objects.create_superuser("root", "", "a long password 123")
    assert user_role_names(user=root) == ["admin"]
    assert root.has_perm("accounts.place_orders")


@permission_required_or_403("accounts.place_orders")
def _place_order_view(request):
    return HttpResponse("order placed")


def _request(user):
    request = RequestFactory().post("/orders/")
    request.user = user
    return request


def test_decorator_lets_traders_through(trader):
    assert _place_order_view(_request(trader)).content == b"order placed"


def test_decorator_answers_403_to_viewers(viewer):
    with pytest.raises(PermissionDenied):
        _place_order_view(_request(viewer))


def test_decorator_sends_anonymous_visitors_to_login():
    response = _place_order_view(_request(AnonymousUser()))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_role_names_show_groups(trader, viewer):
    assert user_role_names(user=trader) == ["trader"]
    assert user_role_names(user=viewer) == ["viewer"]
