"""The header's links are reversed once per process, yet follow the URLconf's script prefix."""

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
