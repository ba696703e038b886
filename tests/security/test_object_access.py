"""Every URL that names an object answers 404 to anyone but its owner, and changes nothing.

The routes come from the URLconf (tests/security/urlconf.py), the objects from the registry
in tests/security/objects.py: a new URL with an id is covered the day it is added, and one
whose id has no factory fails here.
"""

import pytest

from tests.security.db import changed_tables, snapshot
from tests.security.objects import ALLOWED_ELSEWHERE, build_url, is_allowed_elsewhere
from tests.security.urlconf import routes
from tests.trading.pages import login

pytestmark = pytest.mark.django_db

ID_ROUTES = [r for r in routes() if r.kwargs and not is_allowed_elsewhere(r)]

# Plausible values for every form field a view might read: a missing ownership check would
# then act, not merely fail validation.
PAYLOAD = {
    "label": "hijacked",
    "reason": "hijacked",
    "scope_read": "on",
    "scope_trade": "on",
    "rotation_period_days": "30",
    "ip_whitelist": "",
    "side": "buy",
    "type": "limit",
    "amount": "0.001",
    "price": "10000",
    "can_trade": "on",
    "follow": "1",
    "confirm": "1",
}


def test_the_generated_routes_include_every_kind_of_owned_object():
    names = {r.name for r in ID_ROUTES}
    assert {
        "trading:key_detail",
        "trading:key_delete",
        "trading:order_cancel",
        "trading:market",
        "accounts:notification_read",
        "paper:key_edit",
    } <= names
    assert not [r for r in ID_ROUTES if r.is_regex], "re_path routes need a sample builder"
    assert all(prefix.endswith("/") for prefix in ALLOWED_ELSEWHERE)


def _refused(response, owner_status: int) -> bool:
    # 405 reveals nothing when the owner gets it too (the method is wrong for everyone).
    return response.status_code == 404 or response.status_code == owner_status == 405


@pytest.mark.parametrize("route", ID_ROUTES, ids=str)
def test_another_user_gets_404_and_the_object_is_unchanged(route, owner, intruder):
    try:
        url, _objects = build_url(route, owner)
    except LookupError as exc:
        pytest.fail(str(exc))
    owner_client = login(owner)
    owner_get = owner_client.get(url).status_code
    assert owner_get != 404, f"the owner cannot reach {url}: the factory is wrong"

    before = snapshot()
    client = login(intruder)
    got = client.get(url)
    posted = client.post(url, PAYLOAD)
    assert _refused(got, owner_get), (url, got.status_code)
    owner_post = 405 if posted.status_code == 405 else None
    assert _refused(posted, owner_post), (url, posted.status_code)
    assert changed_tables(before, snapshot()) == []


def test_an_outsider_without_any_role_gets_404_too(owner, intruder):
    """A viewer's missing permission is never checked first: someone else's id is a 404."""
    from django.contrib.auth.models import Group

    intruder.user_permissions.clear()
    intruder.groups.set(Group.objects.filter(name="viewer"))
    client = login(type(intruder).objects.get(pk=intruder.pk))
    urls = [build_url(route, owner)[0] for route in ID_ROUTES]
    before = snapshot()
    answers = [
        (url, client.get(url).status_code, client.post(url, PAYLOAD).status_code) for url in urls
    ]
    # 405 answers the method, whoever asks and whatever the id: it reveals nothing.
    assert [a for a in answers if not {a[1], a[2]} <= {404, 405}] == []
    assert changed_tables(before, snapshot()) == []
