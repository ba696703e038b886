"""Binance's JSON shapes for orders, trades, balances and key restrictions."""

from paper.feed import fmt
from paper.models import PaperApiKey, PaperBalance, PaperOrder, PaperTrade


def order_json(order: PaperOrder, trades: list[PaperTrade] | None = None) -> dict:
    """An order as GET /api/v3/order returns it, or with `fills` as a FULL POST response."""
    body = {
        "symbol": order.symbol,
        "orderId": order.pk,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt(order.price),
        "origQty": fmt(order.orig_qty),
        "executedQty": fmt(order.executed_qty),
        "origQuoteOrderQty": fmt(order.orig_quote_order_qty),
        "cummulativeQuoteQty": fmt(order.cumm_quote_qty),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "workingTime": order.created_ms,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }
    if trades is None:
        body.update(
            {
                "stopPrice": fmt(0),
                "icebergQty": fmt(0),
                "time": order.created_ms,
                "updateTime": order.updated_ms,
                "isWorking": True,
            }
        )
        return body
    body["transactTime"] = order.updated_ms
    body["fills"] = [
        {
            "price": fmt(t.price),
            "qty": fmt(t.qty),
            "commission": fmt(t.commission),
            "commissionAsset": t.commission_asset,
            "tradeId": t.pk,
        }
        for t in trades
    ]
    return body


def cancel_json(order: PaperOrder, cancel_client_id: str | None) -> dict:
    """A DELETE /api/v3/order answer: clientOrderId is the cancel request's own id."""
    body = order_json(order)
    for name in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking", "workingTime"):
        body.pop(name)
    body["origClientOrderId"] = order.client_order_id
    body["clientOrderId"] = cancel_client_id or order.client_order_id
    body["transactTime"] = order.updated_ms
    return body


def trade_json(trade: PaperTrade) -> dict:
    return {
        "symbol": trade.symbol,
        "id": trade.pk,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fmt(trade.price),
        "qty": fmt(trade.qty),
        "quoteQty": fmt(trade.quote_qty),
        "commission": fmt(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time_ms,
        "isBuyer": trade.is_buyer,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def account_json(key: PaperApiKey, balances: list[PaperBalance], now_ms: int) -> dict:
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": "0.00100000",
            "taker": "0.00100000",
            "buyer": "0",
            "seller": "0",
        },
        "canTrade": key.can_trade,
        "canWithdraw": key.can_withdraw,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": b.asset, "free": fmt(b.free), "locked": fmt(b.locked)} for b in balances
        ],
        "permissions": ["SPOT"],
        "uid": key.account_id,
    }


def restrictions_json(key: PaperApiKey) -> dict:
    """GET /sapi/v1/account/apiRestrictions for a key: its real permissions."""
    body = {
        "ipRestrict": bool(key.ip_whitelist),
        "createTime": int(key.created_at.timestamp() * 1000),
        "enableReading": True,
        "enableSpotAndMarginTrading": key.can_trade,
        "enableWithdrawals": key.can_withdraw,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": False,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enablePortfolioMarginTrading": False,
    }
    if key.expires_at is not None:
        body["tradingAuthorityExpirationTime"] = int(key.expires_at.timestamp() * 1000)
    return body
