"""keytrade's least-privilege guards act before any request leaves the process."""

from decimal import Decimal

import pytest

from trading.exchange import errors
from trading.exchange.ccxt_build import build_ccxt
from trading.exchange.client import ExchangeClient, Scopes


@pytest.fixture
def listener(exchange_port):
    return exchange_port


def client(scopes):
    ex = build_ccxt("paper", api_key="pk-test-0123456789", secret="sk-test-0123456789")
    return ex, ExchangeClient(ex, exchange_id="paper", scopes=scopes)


def test_withdraw_and_transfer_cannot_be_called(listener):
    ex, _ = client(Scopes(read=True, trade=True))
    with pytest.raises(errors.ForbiddenOperation):
        ex.withdraw("BTC", 1, "bc1qaddress")
    with pytest.raises(errors.ForbiddenOperation):
        ex.transfer("USDT", 1, "spot", "funding")
    with pytest.raises(errors.ForbiddenOperation):
        ex.sapi_post_capital_withdraw_apply({"coin": "BTC", "address": "x", "amount": 1})
    with pytest.raises(errors.ForbiddenOperation):
        ex.sapi_post_asset_transfer({"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": 1})
    assert listener == []
    assert ex.has["withdraw"] is False


def test_a_read_only_key_cannot_place_or_cancel(listener):
    _, read_only = client(Scopes(read=True, trade=False))
    with pytest.raises(errors.ScopeRefused, match="trade scope"):
        read_only.create_order(
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount=Decimal("0.01"),
            price=Decimal(100),
            client_order_id="kt1",
        )
    with pytest.raises(errors.ScopeRefused):
        read_only.cancel_order(symbol="BTC/USDT", order_id="1")
    assert listener == []


def test_a_trade_only_key_cannot_read_the_account(listener):
    _, trade_only = client(Scopes(read=False, trade=True))
    with pytest.raises(errors.ScopeRefused, match="read scope"):
        trade_only.fetch_balances()
    assert listener == []


def test_paper_points_every_api_section_at_the_paper_url(settings):
    settings.PAPER_EXCHANGE_URL = "http://127.0.0.1:9/paper/"
    ex = build_ccxt("paper", api_key="pk-test-0123456789", secret="sk-test-0123456789")
    assert ex.urls["api"]["private"] == "http://127.0.0.1:9/paper/api/v3"
    assert ex.urls["api"]["sapi"] == "http://127.0.0.1:9/paper/sapi/v1"
    assert "fapiPublic" not in ex.urls["api"]
    assert ex.options["fetchCurrencies"] is False and ex.options["defaultType"] == "spot"


def test_ccxt_calls_leave_the_decimal_context_alone(listener):
    import decimal

    from ccxt.base.decimal_to_precision import TRUNCATE

    decimal.getcontext().rounding = decimal.ROUND_HALF_EVEN
    _, c = client(Scopes(read=True, trade=True))
    # The function ccxt uses to round every amount and price (it rewrites its context).
    assert c._call("read", None, "decimal_to_precision", "0.123456", TRUNCATE, 2) == "0.12"
    assert decimal.getcontext().rounding == decimal.ROUND_HALF_EVEN
    assert not decimal.getcontext().traps[decimal.Underflow]
