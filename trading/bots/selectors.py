"""Owner-scoped reads of bots and what belongs to them."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import AuditEvent
from accounts.services.audit import audit_record
from trading.bots.models import Bot, BotEvent, BotSnapshot, BotTrade
from trading.models import OrderIntent

_KEY_SECRETS = ("key__api_key", "key__secret", "key__passphrase")


def bots_for_user(*, user) -> QuerySet[Bot]:
    """Return the user's bots, newest first (keys loaded without their credentials)."""
    return Bot.objects.filter(user=user).select_related("key").defer(*_KEY_SECRETS)


def bot_get_for_user(*, user, id, request=None) -> Bot:
    """Return the user's bot with that id; 404 otherwise, auditing attempts on others' bots."""
    bot = bots_for_user(user=user).filter(pk=id).first()
    if bot is not None:
        return bot
    if Bot.objects.filter(pk=id).exists():
        audit_record(
            event_type="access.denied",
            actor=user,
            request=request,
            target_type=Bot._meta.label_lower,
            target_id=str(id),
            outcome=AuditEvent.Outcome.DENIED,
        )
    raise Http404("No such bot.")


def bot_events(*, bot: Bot, limit: int = 50) -> list[BotEvent]:
    return list(BotEvent.objects.filter(bot=bot).order_by("-ts", "-id")[:limit])


def bot_trades(*, bot: Bot, limit: int = 50) -> list[BotTrade]:
    return list(BotTrade.objects.filter(bot=bot).order_by("-ts", "-id")[:limit])


def bot_orders(*, bot: Bot, limit: int = 50) -> list[OrderIntent]:
    """The bot's live orders (placements and cancellations), newest first."""
    return list(OrderIntent.objects.filter(bot=bot).order_by("-created_at")[:limit])


def bot_snapshots(*, bot: Bot, limit: int = 720) -> list[BotSnapshot]:
    """The latest P&L snapshots, oldest first (at most one a minute: 12 hours by default)."""
    rows = BotSnapshot.objects.filter(bot=bot).order_by("-ts")[:limit]
    return list(reversed(rows))
