"""Structured logging with secret redaction.

Two layers keep secrets out of logs: values registered at runtime (every credential the
worker decrypts is registered before use) are replaced wherever they appear, and
well-known credential fields (`secret=…`, `"apiKey": "…"`, `X-MBX-APIKEY`, `signature=…`)
are masked by pattern even when their value was never registered.
"""

import json
import logging
import re
import threading
from datetime import UTC, datetime

REDACTED = "[redacted]"
_MIN_SECRET_LEN = 6
_lock = threading.Lock()
_secrets: set[str] = set()
_longest_first: tuple[str, ...] = ()  # _secrets, sorted once per new secret, not per call

_FIELD_RE = re.compile(
    r"""(?ix)
    (["']?(?:secret|api[_-]?secret|password|passphrase|apikey|api[_-]?key|x-mbx-apikey|signature|
    private[_-]?key|token)["']?\s*[:=]\s*["']?)
    ([^"'&\s,}]+)
    """
)


def register_secret(value: str | None) -> None:
    """Mark a value as secret so that the logging filter removes it from every record."""
    global _longest_first
    if value and len(value) >= _MIN_SECRET_LEN and value not in _secrets:
        with _lock:
            _secrets.add(value)
            _longest_first = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """Return text with registered secrets and credential-looking fields masked."""
    if not text:
        return text
    for value in _longest_first:
        if value in text:
            text = text.replace(value, REDACTED)
    if ":" not in text and "=" not in text:
        return text  # _FIELD_RE needs a ':' or '=' after the field name (most values: no scan)
    return _FIELD_RE.sub(lambda m: m.group(1) + REDACTED, text)


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class RedactSecretsFilter(logging.Filter):
    """Rewrite each record so that no registered secret or credential field survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = _redact_value(value)
        return True


_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Tasks that run every second or for every bot every few seconds: Celery's INFO lines for
# each run ("Sending due task", "received", "succeeded") would flood the log. Their warnings
# and errors still pass; what they do is recorded in the database (bot events, audit).
QUIET_TASKS = frozenset(
    {
        "trading.tasks.bots_dispatch_task",
        "trading.tasks.bots_tick_task",
        "trading.tasks.bot_tick_task",
        "trading-bots-dispatch",
    }
)


class QuietFrequentTasksFilter(logging.Filter):
    """Drop Celery's per-run INFO lines for the QUIET_TASKS; keep everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith("celery"):
            return True
        args = record.args
        if isinstance(args, dict):
            values = args.values()
        elif isinstance(args, tuple):
            values = args
        else:
            return True
        return not any(isinstance(value, str) and value in QUIET_TASKS for value in values)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exc"] = redact(record.exc_text)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = _redact_value(value)
        return json.dumps(payload, default=str)
