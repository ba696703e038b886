"""`{% nav_url 'name' %}`: the header's links, reversed once per process instead of per page.

Reversing a URL costs about as much as a small query; the header has fifteen on every page.
An argument-free URL depends only on the URLconf and the script prefix, which key the memo.

`{% nav_fragment %}…{% end_nav_fragment %}`: markup made only of such links, rendered once per
URLconf and script prefix and then reused (the header's link lists: ~0.15 ms a page as
template nodes). Its body is rendered with an empty context, so nothing about the request or
the user can end up in it: a variable there renders empty on every page.
"""

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()
_REVERSED: dict[tuple, str] = {}


@register.simple_tag
def nav_url(name: str) -> str:
    """Return reverse(name) for a URL that takes no arguments, memoised."""
    memo = (get_urlconf(), get_script_prefix(), name)
    url = _REVERSED.get(memo)
    if url is None:
        url = _REVERSED[memo] = reverse(name)
    return url


class NavFragmentNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist
        self.rendered: dict[tuple, str] = {}

    def render(self, context):
        memo = (settings.ROOT_URLCONF, get_urlconf(), get_script_prefix(), context.autoescape)
        html = self.rendered.get(memo)
        if html is None:
            # new(): no values, not even the context processors' (request, user, csrf_token).
            html = self.rendered[memo] = self.nodelist.render(context.new())
        return html


@register.tag
def nav_fragment(parser, token):
    """Render the enclosed links once per URLconf and script prefix (see the module's doc)."""
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("nav_fragment takes no arguments.")
    nodelist = parser.parse(("end_nav_fragment",))
    parser.delete_first_token()
    return NavFragmentNode(nodelist)
