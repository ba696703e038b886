from django.urls import path

from trading.views import bots, dashboard, fills, keys, market, orders

app_name = "trading"
urlpatterns = [
    path("keys/", keys.key_list, name="key_list"),
    path("keys/connect/", keys.key_connect_view, name="key_connect"),
    path("keys/<uuid:id>/", keys.key_detail, name="key_detail"),
    path("keys/<uuid:id>/edit/", keys.key_edit, name="key_edit"),
    path("keys/<uuid:id>/disable/", keys.key_disable_view, name="key_disable"),
    path("keys/<uuid:id>/delete/", keys.key_delete_view, name="key_delete"),
    path("bots/", bots.bot_list, name="bot_list"),
    path("bots/new/", bots.bot_create_view, name="bot_create"),
    path("bots/stop-everything/", bots.bots_stop_all_view, name="bots_stop_all"),
    path("bots/<uuid:id>/", bots.bot_detail, name="bot_detail"),
    path("bots/<uuid:id>/start/", bots.bot_start_view, name="bot_start"),
    path("bots/<uuid:id>/pause/", bots.bot_pause_view, name="bot_pause"),
    path("bots/<uuid:id>/stop/", bots.bot_stop_view, name="bot_stop"),
    path("keys/<uuid:id>/rotate/", keys.key_rotate_view, name="key_rotate"),
    path("keys/<uuid:id>/snooze/", keys.key_snooze_view, name="key_snooze"),
]

# --- Dashboard pages: overview, open orders, fills, market, limits ---------------------------
urlpatterns += [
    path("", dashboard.overview, name="overview"),
    path("overview/live/", dashboard.overview_live, name="overview_live"),
    path("overview/balances/", dashboard.overview_balances, name="overview_balances"),
    path("overview/refresh/", dashboard.overview_refresh, name="overview_refresh"),
    path("limits/", dashboard.limits_page, name="limits"),
    path("orders/", orders.orders_page, name="orders"),
    path("orders/live/", orders.orders_live, name="orders_live"),
    path("orders/cancel-all/", orders.orders_cancel_all_view, name="orders_cancel_all"),
    path("orders/<uuid:id>/cancel/", orders.order_cancel_view, name="order_cancel"),
    path("orders/<uuid:id>/amend/", orders.order_amend_view, name="order_amend"),
    path("fills/", fills.fills_page, name="fills"),
    path("fills/live/", fills.fills_live, name="fills_live"),
    path("fills/export.csv", fills.fills_csv, name="fills_csv"),
    path("market/", market.market_pick, name="market_pick"),
    path("market/<uuid:key_id>/<str:symbol>/", market.market_page, name="market"),
    path(
        "market/<uuid:key_id>/<str:symbol>/candles.json",
        market.market_candles,
        name="market_candles",
    ),
    path("market/<uuid:key_id>/<str:symbol>/book/", market.market_book, name="market_book"),
    path(
        "market/<uuid:key_id>/<str:symbol>/order/review/", market.order_review, name="order_review"
    ),
    path(
        "market/<uuid:key_id>/<str:symbol>/order/confirm/",
        market.order_confirm,
        name="order_confirm",
    ),
]

# --- backtesting: candles, runs, comparisons, sweeps ---------------------------------------
from trading.views import backtests, candles, sweeps  # noqa: E402

urlpatterns += [
    path("candles/", candles.candles_page, name="candles"),
    path(
        "candles/downloads/<uuid:id>/",
        candles.candle_download_detail,
        name="candle_download_detail",
    ),
    path(
        "candles/downloads/<uuid:id>/status/",
        candles.candle_download_status,
        name="candle_download_status",
    ),
    path(
        "candles/downloads/<uuid:id>/cancel/",
        candles.candle_download_cancel,
        name="candle_download_cancel",
    ),
    path("backtests/", backtests.backtest_list, name="backtest_list"),
    path("backtests/new/", backtests.backtest_new, name="backtest_new"),
    path("backtests/compare/", backtests.backtest_compare, name="backtest_compare"),
    path(
        "backtests/compare/chart.json",
        backtests.backtest_compare_chart,
        name="backtest_compare_chart",
    ),
    path("backtests/<uuid:id>/", backtests.backtest_detail, name="backtest_detail"),
    path("backtests/<uuid:id>/status/", backtests.backtest_status, name="backtest_status"),
    path("backtests/<uuid:id>/chart.json", backtests.backtest_chart, name="backtest_chart"),
    path("backtests/<uuid:id>/cancel/", backtests.backtest_cancel, name="backtest_cancel"),
    path("backtests/sweeps/new/", sweeps.sweep_new, name="sweep_new"),
    path("backtests/sweeps/<uuid:id>/", sweeps.sweep_detail, name="sweep_detail"),
    path("backtests/sweeps/<uuid:id>/status/", sweeps.sweep_status, name="sweep_status"),
    path("backtests/sweeps/<uuid:id>/cancel/", sweeps.sweep_cancel, name="sweep_cancel"),
]

# --- backtests and bots ---------------------------------------------------------------------
from trading.views import backtest_bots  # noqa: E402

urlpatterns += [
    path("backtests/<uuid:id>/bot/", backtest_bots.backtest_bot_create, name="backtest_bot_create"),
    path("bots/<uuid:id>/vs-backtest/", backtest_bots.bot_vs_backtest, name="bot_vs_backtest"),
]
