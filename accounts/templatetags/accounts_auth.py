from allauth.account.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def registration_open(context) -> bool:
    """Return whether new users may sign up themselves (ALLOW_REGISTRATION)."""
    request = context.get("request")
    return request is not None and get_adapter(request).is_open_for_signup(request)
