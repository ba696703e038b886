"""Public market-data endpoints: ping, time, exchangeInfo, tickers, depth, klines, trades."""

from django.conf import settings

from paper import market
from paper.api import Call
from paper.errors import PaperError
from paper.feed import INTERVALS, Feed, fmt, spec_for
from paper.views.params import int_param, limit_param, required, symbols_param

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]


def ping(call: Call):
    return {}


def server_time(call: Call):
    return {"serverTime": call.now.server_ms}


def _symbol_info(spec: market.SymbolSpec) -> dict:
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(spec.tick),
                "maxPrice": fmt(spec.max_price),
                "tickSize": fmt(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(spec.min_qty),
                "maxQty": fmt(spec.max_qty),
                "stepSize": fmt(spec.step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt(spec.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(0),
                "maxQty": fmt(spec.market_max_qty),
                "stepSize": fmt(0),
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
    }


def _specs(call: Call) -> list[market.SymbolSpec]:
    names = symbols_param(call.params)
    return list(market.SYMBOLS.values()) if names is None else [spec_for(n) for n in names]


def exchange_info(call: Call):
    return {
        "timezone": "UTC",
        "serverTime": call.now.server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": settings.PAPER_RATE_LIMITS["ip_weight_per_minute"],
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": settings.PAPER_RATE_LIMITS["orders_per_10s"],
            },
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(spec) for spec in _specs(call)],
    }


def _per_symbol(call: Call, render):
    feeds = [Feed.load(spec.symbol, call.now) for spec in _specs(call)]
    if call.params.get("symbol"):
        return render(feeds[0])
    return [render(feed) for feed in feeds]


def ticker_24hr(call: Call):
    return _per_symbol(call, Feed.ticker_24hr)


def ticker_price(call: Call):
    return _per_symbol(call, lambda f: {"symbol": f.spec.symbol, "price": fmt(f.price())})


def book_ticker(call: Call):
    return _per_symbol(call, Feed.book_ticker)


def depth_weight(params: dict) -> int:
    """Binance's depth weights by limit (an invalid limit is refused later, at weight 5)."""
    raw = params.get("limit", "")
    limit = int(raw) if raw.isdigit() else 100
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def depth(call: Call):
    feed = Feed.load(required(call.params, "symbol"), call.now)
    return feed.depth(limit_param(call.params, 100, 5000))


def klines(call: Call):
    feed = Feed.load(required(call.params, "symbol"), call.now)
    interval = INTERVALS.get(required(call.params, "interval"))
    if interval is None:
        raise PaperError.invalid_interval()
    window = feed.kline_window(
        interval,
        int_param(call.params, "startTime"),
        int_param(call.params, "endTime"),
        limit_param(call.params, 500, 1000),
    )
    return [feed.kline(minute, interval) for minute in window]


def trades(call: Call):
    feed = Feed.load(required(call.params, "symbol"), call.now)
    return feed.recent_trades(limit_param(call.params, 500, 1000))


def agg_trades(call: Call):
    feed = Feed.load(required(call.params, "symbol"), call.now)
    return [
        {
            "a": t["id"],
            "p": t["price"],
            "q": t["qty"],
            "f": t["id"],
            "l": t["id"],
            "T": t["time"],
            "m": t["isBuyerMaker"],
            "M": True,
        }
        for t in feed.recent_trades(limit_param(call.params, 500, 1000))
    ]
