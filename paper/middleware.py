"""A lean path through the middleware for the paper exchange's Binance endpoints.

Those endpoints are CSRF-exempt and never touch the session, the user, messages or allauth's
flows: a request is authenticated only by its API key and signature (paper/api.py). Listed
right after CommonMiddleware, this middleware answers a request whose path is one of them
by calling its view directly, wrapped only in the middleware below that adds response
headers (X-Frame-Options, Content-Security-Policy), so the answer is byte for byte what the
full chain gives. Everything above it still runs for every request (security headers and
redirects, static files, the Host check against ALLOWED_HOSTS); every other path goes down
the full chain. In process this saves about a fifth of a signed request's CPU
(bench/paper_inprocess.py): the middleware it skips and resolving the URL through every
app's patterns.

Which paths qualify is read from the URLconf: patterns of views marked `binance_api` whose
full route has no converters, each checked to resolve to that same view, so the URLconf
stays the only place that decides what a path means.
"""

from django.conf import settings
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import import_string

# Middleware listed after this one that still applies to the Binance endpoints.
HEADER_MIDDLEWARE = (
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "keytrade.middleware.ContentSecurityPolicyMiddleware",
)


def _static_route(pattern) -> str | None:
    if isinstance(pattern, RoutePattern) and not pattern.converters:
        return str(pattern)
    return None


def binance_routes(resolver) -> dict[str, object]:
    """{path_info: view} for every Binance endpoint the URLconf serves at a fixed path."""
    found = {}

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = _static_route(entry.pattern)
            if route is None:
                continue
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + route)
            elif getattr(entry.callback, "binance_api", False):
                found["/" + prefix + route] = entry.callback

    walk(resolver.url_patterns, "")
    # Only where the full resolution reaches the same view (no earlier pattern shadows it).
    return {path: view for path, view in found.items() if resolver.resolve(path).func is view}


class BinanceApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._resolver = None
        self._routes: dict[str, object] = {}
        names = list(settings.MIDDLEWARE)
        here = f"{__name__}.{type(self).__name__}"
        below = names[names.index(here) + 1 :] if here in names else []
        self._header_middleware = [import_string(n) for n in below if n in HEADER_MIDDLEWARE]

    def _chain(self, view):
        handler = view
        for middleware in reversed(self._header_middleware):
            handler = middleware(handler)
        return handler

    def _handler_for(self, path: str):
        resolver = get_resolver()
        if resolver is not self._resolver:  # first request, or the URLconf changed (tests)
            self._routes = {p: self._chain(v) for p, v in binance_routes(resolver).items()}
            self._resolver = resolver
        return self._routes.get(path)

    def __call__(self, request):
        handler = None
        if getattr(request, "urlconf", None) is None:  # else a middleware above chose one
            handler = self._handler_for(request.path_info)
        if handler is None:
            return self.get_response(request)
        return handler(request)
