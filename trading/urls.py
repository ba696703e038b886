from django.urls import path

from trading.views import keys

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
