from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from keytrade.health import health_report, heartbeat_get


@never_cache
def healthz(request):
    """Report database, broker and encryption-canary health; 503 when any is down."""
    report = health_report()
    status = 200 if all(check["ok"] for check in report.values()) else 503
    # Informational: a stale heartbeat means no worker or no beat, not that web is down.
    return JsonResponse(
        {"ok": status == 200, "checks": report, "worker_heartbeat": heartbeat_get()},
        status=status,
    )


def bench_trivial(request):
    """Answer a constant: the framework's own cost, the baseline of bench/pages.py."""
    return HttpResponse("ok", content_type="text/plain")
