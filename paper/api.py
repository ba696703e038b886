"""The plumbing every Binance endpoint shares: faults, rate limits, auth, JSON answers.

Endpoints are CSRF-exempt and never touch the session: a request is authenticated only by
its API key and signature, exactly as on Binance.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from paper import faults, ratelimit
from paper.auth import Permission, authenticate, client_ip
from paper.clock import Now, clock_read
from paper.errors import PaperError
from paper.models import PaperApiKey
from paper.services.resting import orders_evaluate

logger = logging.getLogger(__name__)


@dataclass
class Call:
    """What a handler gets: parameters, the instant, and for SIGNED endpoints the key."""

    request: object
    params: dict[str, str]
    now: Now
    key: PaperApiKey | None = None

    @property
    def account_id(self) -> int:
        return self.key.account_id


@dataclass(frozen=True)
class Endpoint:
    handler: Callable[[Call], object]
    weight: int | Callable[[dict], int] = 1
    signed: bool = False
    permission: str = Permission.READ
    counts_order: bool = False


@dataclass
class _Outcome:
    status: int = 200
    data: object = None
    headers: dict = field(default_factory=dict)


def _pairs(raw: str) -> list[tuple[str, str]]:
    """`parse_qsl(raw, keep_blank_values=True)`: without "%" or "+" (what ccxt sends, as a
    rule) there is nothing to unquote, and splitting gives the same pairs at a fraction of
    the cost."""
    if "%" in raw or "+" in raw:
        return parse_qsl(raw, keep_blank_values=True)
    pairs = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return pairs


def _params(request) -> dict[str, str]:
    params = dict(_pairs(request.META.get("QUERY_STRING", "")))
    if request.method in ("POST", "PUT", "DELETE") and request.body:
        body = request.body.decode("utf-8", "replace")
        params.update(_pairs(body))
    params.pop("signature", None)
    return params


def _serve(request, endpoint: Endpoint, route: str, outcome: _Outcome) -> faults.Plan | None:
    now = clock_read()
    plan = faults.faults_for(route, request.method) if now.faults_armed else None
    if plan is not None:
        faults.run_before(plan)
    params = _params(request)
    weight = endpoint.weight(params) if callable(endpoint.weight) else endpoint.weight
    used = ratelimit.weight_charge(
        scope="ip", ident=client_ip(request), weight=weight, now_ms=now.server_ms
    )
    outcome.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
    call = Call(request=request, params=params, now=now)
    if endpoint.signed:
        call.key = authenticate(request, params, now, endpoint.permission).key
        ratelimit.weight_charge(
            scope="key", ident=str(call.key.pk), weight=weight, now_ms=now.server_ms
        )
        if endpoint.counts_order:
            ratelimit.order_count_charge(account_id=call.account_id, now_ms=now.server_ms)
        if call.key.has_open_orders:
            orders_evaluate(account_id=call.account_id, now=now)
    outcome.data = endpoint.handler(call)
    return plan


def _respond(request, route: str, endpoint: Endpoint | None) -> HttpResponse:
    outcome, plan = _Outcome(), None
    try:
        if endpoint is None:
            raise PaperError(-1020, "This operation is not supported.", 405)
        plan = _serve(request, endpoint, route, outcome)
    except PaperError as error:
        outcome.status, outcome.data = error.status, error.body()
        if error.retry_after:
            outcome.headers["Retry-After"] = str(error.retry_after)
    except Exception:
        logger.exception("paper exchange: unexpected error on %s %s", request.method, route)
        error = PaperError.internal()
        outcome.status, outcome.data = error.status, error.body()
    body = json.dumps(outcome.data, separators=(",", ":")).encode()
    if plan is not None and plan.after:
        replaced = faults.run_after(plan, body)
        if replaced is not None:
            outcome.status, body = replaced
    response = HttpResponse(body, status=outcome.status, content_type="application/json")
    for name, value in outcome.headers.items():
        response[name] = value
    return response


def binance_route(route: str, **by_method: Endpoint):
    """Build the view for one Binance path, dispatching on the HTTP method."""

    @csrf_exempt
    def view(request):
        return _respond(request, route, by_method.get(request.method))

    view.__name__ = "binance_" + route.replace("/", "_")
    view.binance_api = True  # served by paper.middleware.BinanceApiMiddleware's lean path
    return view
