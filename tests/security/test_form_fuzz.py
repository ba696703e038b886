"""Every form keytrade shows, fuzzed through its page: never a 500, nothing stored when refused.

The form classes are collected from the apps' modules; each must have a page to fuzz below
(or a stated reason not to), so a new form cannot slip past this spec.
"""

import importlib
import inspect
import pkgutil
import socket

import pytest
from django import forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.db import row_counts
from tests.trading.backtest_helpers import candle_root, store_synthetic  # noqa: F401
from tests.trading.factories import OrderFactory
from tests.trading.pages import login

pytestmark = pytest.mark.django_db

# Valid values for the forms that share a page with the fuzzed one: a fuzzed field that
# happens to be valid then reaches the service, not just the other form's errors.
BOT_SETUP = {
    "key": "{key}",
    "symbol": "BTC/USDT",
    "tick_interval_seconds": "60",
    "max_order_notional": "500",
    "max_position_unit": "quote",
    "max_open_orders": "5",
    "daily_loss_limit": "100",
    "mode": "dry_run",
}
BACKTEST_SETUP = {
    "strategy": "sma_crossover",
    "series": "paper|BTC/USDT|1m",
    "fee_rate": "0.001",
    "slippage": "0",
    "starting_cash": "10000",
}
SMA = {"fast": "5", "slow": "20", "timeframe": "1m"}


def _prefixed(prefix: str, values: dict) -> dict:
    return {f"{prefix}-{k}": v for k, v in values.items()}


# Form class -> (method, URL template, fixed fields), or a list of them. {key}, {order} and
# {bot} are the owner's (a paper key, an open order, a stopped dry-run bot).
PAGES = {
    "trading.forms.KeyConnectForm": ("post", "/keys/connect/", {}),
    "trading.forms.KeyEditForm": ("post", "/keys/{key}/edit/", {}),
    "trading.forms.KeyDisableForm": ("post", "/keys/{key}/disable/", {}),
    "trading.forms.KeyRotateForm": ("post", "/keys/{key}/rotate/", {}),
    "trading.forms_dashboard.QuoteForm": ("post", "/overview/refresh/", {}),
    "trading.forms_dashboard.OrderFilterForm": ("get", "/orders/", {}),
    "trading.forms_dashboard.FillFilterForm": ("get", "/fills/", {}),
    "trading.forms_dashboard.OrderTicketForm": (
        "post",
        "/market/{key}/BTC-USDT/order/confirm/",
        {},
    ),
    "trading.forms_dashboard.AmendForm": ("post", "/orders/{order}/amend/", {}),
    "trading.forms_dashboard.LimitsForm": ("post", "/limits/", {}),
    "accounts.forms.WebhookURLForm": ("post", "/settings/webhook/", {"action": "save"}),
    "paper.forms.KeyForm": ("post", "/paper/keys/", {}),
    "paper.forms.PriceForm": ("post", "/paper/controls/", {"form": "price"}),
    "paper.forms.ClockForm": ("post", "/paper/controls/", {"form": "clock"}),
    "paper.forms.FaultForm": ("post", "/paper/controls/", {"form": "fault"}),
    "trading.bots.forms.BotForm": (
        "post",
        "/bots/new/?strategy=dca",
        _prefixed("p", {"quote_amount": "10", "interval_minutes": "60"}),
    ),
    "trading.bots.forms.BotStartForm": ("post", "/bots/{bot}/start/", {}),
    "trading.bots.forms.BotStopForm": ("post", "/bots/{bot}/stop/", {}),
    # Each strategy's parameter schema builds a different form: fuzz every one of them.
    "trading.strategies.forms.StrategyParamsForm": [
        ("post", f"/bots/new/?strategy={slug}", BOT_SETUP)
        for slug in ("dca", "grid", "market_making", "rebalance", "sma_crossover")
    ],
    "trading.forms_backtests.BacktestSetupForm": (
        "post",
        "/backtests/new/?strategy=sma_crossover",
        _prefixed("p", SMA),
    ),
    "trading.forms_backtests.SweepGridForm": (
        "post",
        "/backtests/sweeps/new/?strategy=sma_crossover",
        BACKTEST_SETUP,
    ),
    "trading.forms_backtests.CandleDownloadForm": ("post", "/candles/", {}),
    "trading.forms_backtests.ReportForm": ("get", "/bots/{bot}/vs-backtest/", {}),
}
# Forms whose fields come from a strategy's schema, under the prefix their page gives them.
PREFIXED_SCHEMA = {
    "trading.strategies.forms.StrategyParamsForm": "p",
    "trading.forms_backtests.SweepGridForm": "g",
}
NOT_FUZZED = {
    "trading.forms.KeyScopesForm": "the shared base of KeyConnectForm and KeyEditForm",
    "accounts.forms.ActivateTOTPForm": "allauth's form behind re-authentication; "
    "tests/accounts/test_two_factor.py drives it",
}
# Values that reach deeper than random text: real choices, numbers, edge cases.
INTERESTING = [
    "",
    "0",
    "-1",
    "1e309",
    "NaN",
    "0.00000001",
    "99999999999999999999999999999",
    "buy",
    "sell",
    "limit",
    "market",
    "paper",
    "binance",
    "BTC/USDT",
    "BTC-USDT",
    "on",
    "127.0.0.1",
    "10.0.0.0/8",
    "https://hooks.example.com/x",
    "javascript:alert(1)",
    "freeze",
    "\x00",
    "<script>",
    "' OR 1=1 --",
]
VALUE = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(max_size=40),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)


def _form_classes() -> list[str]:
    found = set()
    for app in ("accounts", "trading", "paper", "keytrade"):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith(".tests"):
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, forms.BaseForm) and obj.__module__ == info.name:
                    found.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(found)


def _form_class(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _pages() -> list[tuple[str, tuple]]:
    pages = []
    for form_path, spec in sorted(PAGES.items()):
        pages += [(form_path, page) for page in (spec if isinstance(spec, list) else [spec])]
    return pages


def _page_id(case) -> str:
    form_path, (_, url, _) = case
    name = form_path.rsplit(".", 1)[-1]
    return f"{name}-{url.split('strategy=')[1]}" if "strategy=" in url else name


def _field_names(form_path: str, url: str) -> list[str]:
    """The names the page posts for this form: its fields, or its strategy's schema."""
    if form_path not in PREFIXED_SCHEMA:
        return list(_form_class(form_path).base_fields)
    from trading.strategies import strategy_registry

    strategy = strategy_registry[url.split("strategy=")[1]]
    return [f"{PREFIXED_SCHEMA[form_path]}-{param.name}" for param in strategy.params]


def test_every_form_has_a_page_to_fuzz():
    forms_found = _form_classes()
    assert "trading.forms.KeyConnectForm" in forms_found
    assert [f for f in forms_found if f not in PAGES and f not in NOT_FUZZED] == []
    assert set(PAGES) | set(NOT_FUZZED) <= set(forms_found)


@pytest.fixture
def no_network(monkeypatch, exchange_port):
    """No example may reach a real host: DNS refused, exchanges pointed at a counting port."""

    def refuse(host, *args, **kwargs):
        raise OSError(f"fuzzing must not resolve {host}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return exchange_port


@pytest.fixture
def staff_owner(owner):
    owner.is_staff = True  # the paper exchange's test controls are for staff
    owner.save(update_fields=["is_staff"])
    return type(owner).objects.get(pk=owner.pk)


def _stored_something(response) -> bool:
    """Whether the page says it accepted the input (a redirect, or a created paper key)."""
    return response.status_code in (301, 302) or b"Key created" in response.content


@pytest.fixture
def stored_candles(candle_root):  # noqa: F811 - the fixture it names
    """Candles for the backtest pages' series choice, in the test's own candle store."""
    return store_synthetic(500)


@pytest.mark.parametrize("case", _pages(), ids=_page_id)
def test_fuzzed_input_never_breaks_a_page_or_stores_a_refusal(
    case, staff_owner, no_network, stored_candles
):
    from tests.security.objects import bot, exchange_key

    form_path, (method, template, fixed) = case
    key = exchange_key(staff_owner)
    ids = {"key": key.pk, "order": OrderFactory(key=key).pk, "bot": bot(staff_owner).pk}
    url = template.format(**ids)
    fixed = {name: value.format(**ids) for name, value in fixed.items()}
    names = _field_names(form_path, url)
    client = login(staff_owner)
    client.get(url)  # pages create their per-user rows (paper account, webhook) on first visit

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.dictionaries(st.sampled_from(names), VALUE, max_size=len(names)))
    def fuzz(data):
        before = row_counts()
        response = getattr(client, method)(url, {**data, **fixed})
        assert response.status_code < 500, (data, response.status_code)
        if method == "get" or not _stored_something(response):
            assert row_counts() == before, data

    fuzz()
