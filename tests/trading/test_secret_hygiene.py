"""No API key or secret leaves the worker: not in logs, errors, audit rows or stored reasons."""

import json
import logging

import pytest

from accounts.models import AuditEvent, ExchangeKey
from keytrade.logging import JsonFormatter, RedactSecretsFilter
from paper.models import Fault, PaperApiKey
from paper.services.controls import fault_add
from tests.paper.helpers import pin_market
from tests.trading.conftest import paper_key_for
from tests.trading.paper_helpers import drive
from trading.models import OrderIntent
from trading.services.orders import order_place
from trading.services.sync import account_sync

pytestmark = pytest.mark.django_db(transaction=True)


class Collect(logging.Handler):
    """The project's console handler minus the console: redaction filter, JSON formatter."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RedactSecretsFilter())
        self.setFormatter(JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("ccxt", "urllib3", "trading"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name in ("ccxt", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)


def test_a_full_order_flow_with_failures_leaks_nothing(
    trader, paper_url, paper_key, settings, captured
):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.EXCHANGE_TIMEOUT_MS = 1000
    pin_market("BTCUSDT", "50000")
    api_key, secret = paper_key(user=trader)
    key = paper_key_for(trader, api_key=api_key, secret=secret)

    def place(**extra):
        spec = {
            "symbol": "BTC/USDT",
            "side": "buy",
            "type": "limit",
            "amount": "0.01",
            "price": "49000",
            **extra,
        }
        return order_place(user=trader, key=key, **spec)

    drive(place().pk)
    fault_add(
        kind=Fault.Kind.DELAY_AFTER, endpoint="api/v3/order", method="POST", value=2000, count=1
    )
    drive(place().pk)  # timeout after acceptance, then reconcile
    account_sync(key_id=key.pk)
    PaperApiKey.objects.update(is_enabled=False)
    drive(place().pk)  # -2015: key rejected and disabled

    assert captured, "nothing was logged: the test would prove nothing"
    assert any("api/v3/order" in line for line in captured)  # ccxt's DEBUG request lines
    stored = [
        *captured,
        json.dumps(list(AuditEvent.objects.values_list("detail", flat=True))),
        json.dumps(list(OrderIntent.objects.values_list("reject_reason", flat=True))),
        json.dumps(list(ExchangeKey.objects.values_list("status_reason", "last_error"))),
    ]
    for text in stored:
        assert secret not in text
        assert api_key not in text
    assert OrderIntent.objects.filter(status="REJECTED").count() == 1
