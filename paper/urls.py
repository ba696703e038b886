from django.conf import settings
from django.urls import path

from paper.api import Endpoint, binance_route
from paper.auth import Permission
from paper.views import api_account, api_market, api_trade, pages

TRADE = Permission.TRADE


def _api(route: str, **by_method: Endpoint):
    return path(route, binance_route(route, **by_method))


app_name = "paper"
urlpatterns = [
    path("", pages.home, name="home"),
    path("reset/", pages.reset_balances, name="reset"),
    path("keys/", pages.keys, name="keys"),
    path("keys/<uuid:public_id>/edit/", pages.key_edit, name="key_edit"),
    path("keys/<uuid:public_id>/toggle/", pages.key_toggle, name="key_toggle"),
    path("keys/<uuid:public_id>/delete/", pages.key_delete_view, name="key_delete"),
    # Binance Spot REST, public
    _api("api/v3/ping", GET=Endpoint(api_market.ping)),
    _api("api/v3/time", GET=Endpoint(api_market.server_time)),
    _api("api/v3/exchangeInfo", GET=Endpoint(api_market.exchange_info, weight=20)),
    _api("api/v3/ticker/24hr", GET=Endpoint(api_market.ticker_24hr, weight=2)),
    _api("api/v3/ticker/price", GET=Endpoint(api_market.ticker_price, weight=2)),
    _api("api/v3/ticker/bookTicker", GET=Endpoint(api_market.book_ticker, weight=2)),
    _api("api/v3/depth", GET=Endpoint(api_market.depth, weight=api_market.depth_weight)),
    _api("api/v3/klines", GET=Endpoint(api_market.klines, weight=2)),
    _api("api/v3/trades", GET=Endpoint(api_market.trades, weight=25)),
    _api("api/v3/aggTrades", GET=Endpoint(api_market.agg_trades, weight=2)),
    # Binance Spot REST, SIGNED
    _api("api/v3/account", GET=Endpoint(api_account.account, weight=20, signed=True)),
    _api(
        "api/v3/order",
        POST=Endpoint(api_trade.order_new, signed=True, permission=TRADE, counts_order=True),
        GET=Endpoint(api_trade.order_get, weight=4, signed=True),
        DELETE=Endpoint(api_trade.order_delete, signed=True, permission=TRADE),
    ),
    _api(
        "api/v3/order/cancelReplace",
        POST=Endpoint(api_trade.cancel_replace, signed=True, permission=TRADE, counts_order=True),
    ),
    _api(
        "api/v3/openOrders",
        GET=Endpoint(api_trade.open_orders, weight=api_trade.open_orders_weight, signed=True),
        DELETE=Endpoint(api_trade.open_orders_delete, signed=True, permission=TRADE),
    ),
    _api("api/v3/allOrders", GET=Endpoint(api_trade.all_orders, weight=20, signed=True)),
    _api("api/v3/myTrades", GET=Endpoint(api_account.my_trades, weight=20, signed=True)),
    _api(
        "sapi/v1/account/apiRestrictions",
        GET=Endpoint(api_account.api_restrictions, signed=True),
    ),
]

if settings.PAPER_TEST_CONTROLS:
    from paper.views import controls

    urlpatterns += [path("controls/", controls.controls, name="controls")]
