"""SIGNED account endpoints: account, myTrades, and sapi apiRestrictions."""

from paper.api import Call
from paper.feed import spec_for
from paper.models import PaperBalance, PaperTrade
from paper.views.params import int_param, paged, required
from paper.wire import account_json, restrictions_json, trade_json


def account(call: Call):
    balances = list(PaperBalance.objects.filter(account_id=call.account_id).order_by("asset"))
    if call.params.get("omitZeroBalances") == "true":
        balances = [b for b in balances if b.total > 0]
    return account_json(call.key, balances, call.now.market_ms)


def my_trades(call: Call):
    spec = spec_for(required(call.params, "symbol"))
    trades = PaperTrade.objects.filter(account_id=call.account_id, symbol=spec.symbol)
    order_id = int_param(call.params, "orderId")
    if order_id is not None:
        trades = trades.filter(order_id=order_id)
    return [trade_json(t) for t in paged(trades, call.params, "id", "time_ms", "fromId")]


def api_restrictions(call: Call):
    return restrictions_json(call.key)
