"""Logs are one JSON object per line, and a secret never reaches them."""

import io
import json
import logging
import secrets

import pytest

from keytrade.logging import REDACTED, JsonFormatter, redact, register_secret


@pytest.fixture
def console():
    """The configured console handler, writing into a buffer for the test."""
    handler = next(
        h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def records(buffer) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_registered_canary_is_redacted_everywhere_a_log_record_can_carry_it(console):
    canary = f"canary-{secrets.token_hex(16)}"
    register_secret(canary)
    log = logging.getLogger("keytrade.test")
    log.warning("connecting with %s", canary)
    log.warning("order placed", extra={"data": {"key": canary, "nested": [canary]}})
    try:
        raise RuntimeError(f"exchange said no to {canary}")
    except RuntimeError:
        log.exception("request failed")

    output = console.getvalue()
    assert canary not in output
    lines = records(console)
    assert len(lines) == 3
    assert lines[0]["msg"] == f"connecting with {REDACTED}"
    assert lines[1]["data"] == {"key": REDACTED, "nested": [REDACTED]}
    assert "RuntimeError" in lines[2]["exc"] and REDACTED in lines[2]["exc"]
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])


def test_credential_fields_are_masked_even_when_never_registered(console):
    unregistered = secrets.token_hex(12)
    logging.getLogger("keytrade.test").error(
        "GET /api/v3/order?symbol=BTCUSDT&signature=%s X-MBX-APIKEY: %s secret=%s",
        unregistered,
        unregistered[::-1],
        unregistered.upper(),
    )
    output = console.getvalue()
    for value in (unregistered, unregistered[::-1], unregistered.upper()):
        assert value not in output
    assert "symbol=BTCUSDT" in records(console)[0]["msg"]


def test_redaction_masks_only_what_it_must():
    token = secrets.token_hex(12)
    register_secret(token)
    assert redact("BTC/USDT") == "BTC/USDT"
    assert redact(f"key {token} used") == f"key {REDACTED} used"
    assert redact(f"passphrase: {token[::-1]}") == f"passphrase: {REDACTED}"
    assert redact("apiKey=abc123&symbol=X") == f"apiKey={REDACTED}&symbol=X"
    assert redact("status=open") == "status=open"


def test_per_second_tasks_do_not_flood_the_log_but_their_errors_still_show(console):
    # As Celery logs them: beat with positional arguments, the worker with a mapping.
    beat = logging.getLogger("celery.beat")
    trace = logging.getLogger("celery.app.trace")
    beat.info("Scheduler: Sending due task %s (%s)", "trading-bots-dispatch", "x")
    trace.info(
        "Task %(name)s[%(id)s] succeeded", {"name": "trading.tasks.bots_tick_task", "id": "1"}
    )
    trace.info("Task %(name)s[%(id)s] succeeded", {"name": "trading.tasks.sync_task", "id": "2"})
    trace.error("Task %(name)s[%(id)s] raised", {"name": "trading.tasks.bots_tick_task", "id": "3"})

    assert [line["msg"] for line in records(console)] == [
        "Task trading.tasks.sync_task[2] succeeded",
        "Task trading.tasks.bots_tick_task[3] raised",
    ]
