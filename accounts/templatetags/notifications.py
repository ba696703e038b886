"""The header's notification bell."""

from django import template

from accounts.selectors import notification_unread_count

register = template.Library()


@register.inclusion_tag("accounts/_notification_bell.html", takes_context=True)
def notification_bell(context) -> dict:
    """Render the bell with the signed-in user's unread count."""
    user = context["request"].user
    return {"unread_count": notification_unread_count(user=user) if user.is_authenticated else 0}
