from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("account/", views.home, name="home"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("notifications/<uuid:id>/read/", views.notification_read, name="notification_read"),
    path("settings/webhook/", views.webhook_settings, name="webhook_settings"),
]
