"""manage.py paper_key and paper_control, as scripts and tests use them."""

import re
from io import StringIO

import ccxt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from paper.clock import clock_read
from paper.models import Fault, PaperApiKey

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_paper_key_create_prints_a_working_key_and_secret(alice, paper_binance):
    output = run("paper_key", "create", "--user", "alice", "--trade", "--ip", "127.0.0.1/32",
                 "--expires", "3")  # fmt: skip
    values = dict(line.split(" ", 1) for line in output.splitlines())
    ex = paper_binance(values["api_key"], values["secret"])
    restrictions = ex.sapi_get_account_apirestrictions()
    assert restrictions["enableSpotAndMarginTrading"] and restrictions["ipRestrict"]
    assert ex.fetch_balance()["USDT"]["free"] == 10000

    listing = run("paper_key", "list")
    key = PaperApiKey.objects.get()
    assert key.fingerprint in listing and "read,trade" in listing
    assert key.api_key not in listing and values["secret"] not in listing

    run("paper_key", "disable", values["api_key"])
    with pytest.raises(ccxt.AuthenticationError):
        paper_binance(values["api_key"], values["secret"]).fetch_balance()
    run("paper_key", "delete", values["api_key"])
    assert not PaperApiKey.objects.exists()


def test_paper_key_refuses_unknown_users_and_bad_networks(alice):
    with pytest.raises(CommandError, match="No user"):
        run("paper_key", "create", "--user", "nobody")
    with pytest.raises(CommandError, match="Not an IP"):
        run("paper_key", "create", "--user", "alice", "--ip", "300.1.1.1")


def test_paper_control_drives_clock_prices_and_faults():
    run("paper_control", "freeze")
    frozen = clock_read().market_ms
    run("paper_control", "advance", "120")
    assert clock_read().market_ms == frozen + 120_000
    status = run("paper_control", "price", "BTCUSDT", "42000")
    assert re.search(r"BTCUSDT +42000.00\b", status)
    run("paper_control", "fault", "latency", "--endpoint", "api/v3/time", "--value", "50")
    assert Fault.objects.get().value == 50
    run("paper_control", "reset")
    assert not clock_read().frozen and not Fault.objects.exists()
