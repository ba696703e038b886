"""Binance's SIGNED endpoint security: X-MBX-APIKEY, HMAC-SHA256, recvWindow, IP whitelist."""

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from paper import sql
from paper.clock import Now
from paper.errors import PaperError
from paper.models import PaperApiKey

KEY_RE = re.compile(r"^[A-Za-z0-9]{64}$")
MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


class Permission:
    READ = "read"
    TRADE = "trade"


@dataclass(frozen=True)
class SignedRequest:
    key: PaperApiKey
    params: dict[str, str]


def client_ip(request) -> str:
    """Return the client address: REMOTE_ADDR, or the proxy's X-Forwarded-For when trusted."""
    if settings.PAPER_TRUSTED_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        # The trusted proxy appends the address it saw; anything left of it is client-supplied.
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """Split a raw query or body into (signed payload, signature), keeping its encoding."""
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def signed_payload(request) -> tuple[str, str | None]:
    """Return Binance's totalParams (raw query string + raw body) and the signature sent."""
    query, sig_q = _strip_signature(request.META.get("QUERY_STRING", ""))
    body_raw = request.body.decode("utf-8", "replace") if request.body else ""
    body, sig_b = _strip_signature(body_raw)
    return query + body, sig_b or sig_q


def _int_param(params: dict, name: str, default=None) -> int:
    value = params.get(name)
    if value in (None, ""):
        if default is None:
            raise PaperError.mandatory(name)
        return default
    if not value.isdigit():
        raise PaperError.mandatory(name)
    return int(value)


def _check_timestamp(params: dict, now: Now) -> None:
    timestamp = _int_param(params, "timestamp")
    recv_window = _int_param(params, "recvWindow", DEFAULT_RECV_WINDOW)
    if recv_window > MAX_RECV_WINDOW:
        raise PaperError.recv_window_too_large()
    if timestamp >= now.server_ms + 1000:
        raise PaperError.ahead_of_server()
    if now.server_ms - timestamp > recv_window:
        raise PaperError.outside_recv_window()


def ip_allowed(key: PaperApiKey, ip: str) -> bool:
    """Whether a key may be used from an address (no whitelist = any address)."""
    if not key.ip_whitelist:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in key.ip_whitelist)


def authenticate(request, params: dict, now: Now, permission: str) -> SignedRequest:
    """Verify a SIGNED request as Binance does, or raise the error Binance would answer."""
    api_key = request.META.get("HTTP_X_MBX_APIKEY", "")
    if not KEY_RE.match(api_key):
        raise PaperError.key_format()
    # One query also tells whether the account has resting orders to evaluate.
    key = sql.key_with_open_orders(api_key=api_key)
    if key is None:
        raise PaperError.rejected_key()
    payload, signature = signed_payload(request)
    if not signature:
        raise PaperError.mandatory("signature")
    _check_timestamp(params, now)
    expected = hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise PaperError.bad_signature()
    server_now = datetime.fromtimestamp(now.server_ms / 1000, tz=UTC)
    if not key.is_enabled or key.is_expired(server_now) or not ip_allowed(key, client_ip(request)):
        raise PaperError.rejected_key()
    if permission == Permission.TRADE and not key.can_trade:
        raise PaperError.rejected_key()
    return SignedRequest(key=key, params=params)
