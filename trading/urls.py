from django.urls import path

from trading.views import dashboard, fills, keys, market, orders

app_name = "trading"
urlpatterns = [
    path("keys/", keys.key_list, name="key_list"),
    path("keys/connect/", keys.key_connect_view, name="key_connect"),
    path("keys/<uuid:id>/", keys.key_detail, name="key_detail"),
    path("keys/<uuid:id>/edit/", keys.key_edit, name="key_edit"),
    path("keys/<uuid:id>/disable/", keys.key_disable_view, name="key_disable"),
    path("keys/<uuid:id>/delete/", keys.key_delete_view, name="key_delete"),
    path("keys/<uuid:id>/rotate/", keys.key_rotate_view, name="key_rotate"),
    path("keys/<uuid:id>/snooze/", keys.key_snooze_view, name="key_snooze"),
]

# --- Dashboard pages: overview, open orders, fills, market, limits ---------------------------
urlpatterns += [
    path("", dashboard.overview, name="overview"),
    path("overview/live/", dashboard.overview_live, name="overview_live"),
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
