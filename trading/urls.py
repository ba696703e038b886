from django.urls import path

from trading.views import bots, keys

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
