from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from keytrade import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # "/" is the trading overview (trading.urls); the account page lives at /account/.
    path("", include("trading.urls")),
    path("", include("accounts.urls")),
    path("paper/", include("paper.urls")),
]

if settings.BENCH_VIEWS:  # bench/pages.py's baseline: the same stack, no database work
    urlpatterns.append(path("bench/trivial", views.bench_trivial, name="bench_trivial"))
