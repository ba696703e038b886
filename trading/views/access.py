"""What every dashboard view checks: who may trade, whose key, which symbol.

Roles and actions (a viewer holds none of these permissions, so sees but never acts):
- accounts.connect_keys: connect, edit, rotate and delete exchange keys;
- accounts.place_orders: place, amend and cancel orders, cancel all, change limits;
- accounts.run_bots: create, start, pause and stop bots (and make one from a backtest);
  queue and cancel backtests, sweeps and candle downloads.
Views check ownership first (404 for anyone else's id), then the role (403).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from accounts.selectors import key_get_for_user, user_has_perm
from trading.models import SYMBOL_VALIDATOR
from trading.services.bots import RUN_PERMISSION
from trading.services.orders import PLACE_PERMISSION


def can_trade(user) -> bool:
    """True when the user's role may place, amend and cancel orders."""
    return user_has_perm(user=user, perm=PLACE_PERMISSION)


def require_trader(request) -> None:
    """Refuse a trading action (403) to a viewer; call after the owner check (404)."""
    if not can_trade(request.user):
        raise PermissionDenied("Your role can view but not trade.")


def can_run(user) -> bool:
    """True when the user's role may run bots, backtests, sweeps and candle downloads."""
    return user_has_perm(user=user, perm=RUN_PERMISSION)


def require_runner(request) -> None:
    """Refuse a bot or backtesting action (403) to a viewer; call after the owner check (404)."""
    if not can_run(request.user):
        raise PermissionDenied("Your role can view bots and backtests but not run them.")


def filter_key(request, key_id):
    """Return the key a filter names (404 and audit for someone else's), or None."""
    if not key_id:
        return None
    return key_get_for_user(user=request.user, id=key_id, request=request)


def symbol_from_slug(slug: str) -> str:
    """BTC-USDT -> BTC/USDT; 404 for anything that is not BASE-QUOTE."""
    symbol = slug.strip().upper().replace("-", "/")
    try:
        SYMBOL_VALIDATOR(symbol)
    except ValidationError:
        raise Http404("No such market.") from None
    return symbol
