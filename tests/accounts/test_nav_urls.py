"""The header's links are reversed once per process, yet follow the URLconf's script prefix."""

import pytest
from django.template import TemplateSyntaxError, engines
from django.urls import reverse, set_script_prefix

from accounts.templatetags.nav_urls import nav_url


def test_nav_url_is_reverse_and_follows_the_script_prefix():
    assert nav_url("trading:fills") == reverse("trading:fills") == "/fills/"
    try:
        set_script_prefix("/keytrade/")
        assert nav_url("trading:fills") == "/keytrade/fills/"
    finally:
        set_script_prefix("/")
    assert nav_url("trading:fills") == "/fills/"


def test_the_header_links_every_section(client, django_user_model):
    user = django_user_model.objects.create_user("nav-user", password="a-long-password-1")
    client.force_login(user)
    page = client.get("/account/").content.decode()
    for name in ("trading:overview", "trading:fills", "accounts:notifications", "account_logout"):
        assert f'"{reverse(name)}"' in page, name


def test_a_nav_fragment_is_its_links_and_follows_the_script_prefix():
    source = "{% load nav_urls %}{% nav_fragment %}<a href=\"{% nav_url 'trading:fills' %}\">F</a>{% end_nav_fragment %}"  # noqa: E501
    template = engines["django"].from_string(source)
    assert template.render({}) == '<a href="/fills/">F</a>'
    try:
        set_script_prefix("/keytrade/")
        assert template.render({}) == '<a href="/keytrade/fills/">F</a>'
    finally:
        set_script_prefix("/")
    assert template.render({}) == '<a href="/fills/">F</a>'


def test_nothing_about_the_request_reaches_a_nav_fragment():
    source = "{% load nav_urls %}{% nav_fragment %}[{{ user.username }}]{% end_nav_fragment %}"
    template = engines["django"].from_string(source)
    assert template.render({"user": {"username": "alice"}}) == "[]"
    assert template.render({"user": {"username": "bob"}}) == "[]"
    with pytest.raises(TemplateSyntaxError):
        engines["django"].from_string(
            "{% load nav_urls %}{% nav_fragment x %}{% end_nav_fragment %}"
        )


def test_a_nav_fragment_sees_no_context_processor_either(rf, django_user_model):
    request = rf.get("/")
    request.user = django_user_model(username="alice")
    source = (
        "{% load nav_urls %}{% nav_fragment %}[{{ user }}{{ request.path }}]{% end_nav_fragment %}"
    )
    template = engines["django"].from_string(source)
    assert template.render({}, request) == "[]"
