"""Every URL the project serves, generated from the URLconf, with sample arguments.

The security specs iterate over `routes()` so that a URL added tomorrow is covered without
editing them: a route whose arguments the registry in `tests/security/objects.py` cannot fill
makes those specs fail instead of silently skipping it.
"""

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

_PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Sample values for arguments that are not object ids (they only need to resolve).
_SAMPLES = {"int": "1", "str": "x", "slug": "x", "path": "x"}


@dataclass(frozen=True)
class Route:
    route: str  # the full route, e.g. "keys/<uuid:id>/edit/"
    name: str  # the namespaced name ("trading:key_edit"), or "" when unnamed
    callback: object
    is_regex: bool  # built from re_path(): no sample URL can be derived mechanically

    @property
    def kwargs(self) -> dict[str, str]:
        """Argument name -> converter name ("uuid", "str", ...)."""
        return {m["name"]: m["converter"] or "str" for m in _PLACEHOLDER.finditer(self.route)}

    def prefix_of(self, kwarg: str) -> str:
        """The route text before the argument's placeholder: "keys/" for keys/<uuid:id>/."""
        match = next(m for m in _PLACEHOLDER.finditer(self.route) if m["name"] == kwarg)
        return _PLACEHOLDER.sub("*", self.route[: match.start()])

    def url(self, **values: str) -> str:
        """The URL with the given argument values (samples for the others)."""

        def fill(match):
            if match["name"] in values:
                return str(values[match["name"]])
            return str(uuid.uuid4()) if match["converter"] == "uuid" else _SAMPLES["str"]

        return "/" + _PLACEHOLDER.sub(fill, self.route)

    def __str__(self) -> str:
        return self.name or self.route


def _walk(resolver, prefix: str, namespace: str, regex: bool):
    for entry in resolver.url_patterns:
        is_regex = regex or not isinstance(entry.pattern, RoutePattern)
        text = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry, text, ns, is_regex)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield Route(route=text, name=name, callback=entry.callback, is_regex=is_regex)


def routes() -> list[Route]:
    """Every URL pattern of the root URLconf, flattened, in URLconf order."""
    return list(_walk(get_resolver(), "", "", False))
