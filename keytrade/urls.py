from django.contrib import admin
from django.urls import include, path

from keytrade import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("trading.urls")),
    path("paper/", include("paper.urls")),
]
