"""A canary secret pasted into the connect form is never seen again, anywhere.

Not in the database file, the logs, any page (every GET URL crawled as the owner and as
staff, admin included), any Celery message or result, any email (error reports) or a
`dumpdata`. The flow is real: connect, sync, price refresh, an order placed and cancelled,
a dry-run bot created, started and ticked, a candle download, a backtest and a sweep, all
over HTTP against the paper exchange, with the queued tasks run as a worker would.
"""

import io
import json
import logging
from pathlib import Path

import pytest
from celery.signals import before_task_publish
from django.contrib import admin
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import Notification
from keytrade.celery import app
from paper.models import PaperApiKey
from tests.accounts.conftest import enrol_totp
from tests.conftest import make_user
from tests.paper.helpers import pin_market
from tests.security.conftest import make_full_trader
from tests.security.objects import OWNED
from tests.security.urlconf import routes
from tests.trading.backtest_helpers import candle_root, store_synthetic  # noqa: F401
from tests.trading.test_secret_hygiene import Collect
from tests.vault_helpers import leaks
from trading.backtest_models import BacktestRun
from trading.bots.models import BotEvent
from trading.models import Order
from trading.tasks import bots_dispatch_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CANARY = "CANARY-s3cr3t-7Qx9Lm2Zp4Vt8Rk1Wn6Yb3Hd"


@pytest.fixture
def published():
    """Every task message published (as the broker would receive it), in order."""
    messages = []

    def collect(sender=None, body=None, headers=None, **_):
        messages.append({"task": sender, "body": body, "headers": headers})

    before_task_publish.connect(collect, weak=False)
    yield messages
    before_task_publish.disconnect(collect)


@pytest.fixture
def logs():
    """What the project's log pipeline (redaction filter, JSON formatter) would write."""
    handler = Collect()
    root = logging.getLogger()
    saved = root.level, {n: logging.getLogger(n).level for n in ("ccxt", "urllib3", "celery")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved[1]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def run_queued(published, results, start=0, limit=60) -> int:
    """Run every published task in-process, as a worker would (countdowns skipped)."""
    done = start
    while done < len(published):
        assert done < limit, f"tasks keep queueing: {[m['task'] for m in published[-5:]]}"
        message = published[done]
        args, kwargs = message["body"][0], message["body"][1]
        results.append(app.tasks[message["task"]].apply(args=args, kwargs=kwargs).result)
        done += 1
    return done


class Recorder(Client):
    """A test client that keeps every response body it received."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bodies: list[bytes] = []
        self.ok = 0  # pages that rendered (200)

    def request(self, **request):
        response = super().request(**request)
        self.ok += response.status_code == 200
        if getattr(response, "streaming", False):
            self.bodies.append(b"".join(response.streaming_content))
        else:
            self.bodies.append(response.content)
        return response


def database_bytes() -> bytes:
    """The database as stored: the SQLite files, or every text-like column on PostgreSQL."""
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        files = [name, Path(f"{name}-wal"), Path(f"{name}-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type IN "
            "('text', 'character varying', 'bytea', 'jsonb', 'json', 'character')"
        )
        columns = cursor.fetchall()
        chunks = []
        for table, column in columns:
            quoted_table, quoted = (
                connection.ops.quote_name(table),
                connection.ops.quote_name(column),
            )
            cursor.execute(f"SELECT {quoted}::text FROM {quoted_table}")
            chunks += [(value or "").encode() for (value,) in cursor.fetchall()]
        return b"\n".join(chunks)


def connect_trade_and_cancel(client, published, results, api_key) -> str:
    response = client.post(
        "/keys/connect/",
        {
            "exchange": "paper",
            "label": "Canary",
            "api_key": api_key,
            "secret": CANARY,
            "scope_read": "on",
            "scope_trade": "on",
            "rotation_period_days": "90",
            "ip_whitelist": "127.0.0.1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    key_id = response.url.rstrip("/").rsplit("/", 1)[-1]
    done = run_queued(published, results)
    assert client.post("/overview/refresh/").status_code == 302
    done = run_queued(published, results, done)
    ticket = {"side": "buy", "type": "limit", "amount": "0.01", "price": "45000"}
    assert client.post(f"/market/{key_id}/BTC-USDT/order/confirm/", ticket).status_code == 302
    done = run_queued(published, results, done)
    order = Order.objects.get(key_id=key_id, status=Order.Status.OPEN)
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 302
    run_queued(published, results, done)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED, "the flow did not reach the exchange"
    return key_id


def _created(response, prefix: str) -> str:
    assert response.status_code == 302, response.content.decode()[:1000]
    assert response.url.startswith(prefix), response.url
    return response.url[len(prefix) :].split("/")[0]


BOT = {
    "name": "Canary DCA",
    "symbol": "BTC/USDT",
    "tick_interval_seconds": "60",
    "max_order_notional": "500",
    "max_position_unit": "quote",
    "max_open_orders": "5",
    "daily_loss_limit": "100",
    "mode": "dry_run",
    "p-quote_amount": "50",
    "p-interval_minutes": "60",
}
BACKTEST = {
    "strategy": "sma_crossover",
    "series": "paper|BTC/USDT|1m",
    "fee_rate": "0.001",
    "slippage": "0",
    "starting_cash": "10000",
}


def run_a_bot_and_backtest(client, published, results, key_id) -> dict:
    """A dry-run bot on the canary key, ticked by the worker; a download, a backtest, a sweep."""
    done = len(results)
    response = client.post("/bots/new/?strategy=dca", {**BOT, "key": key_id})
    bot_id = _created(response, "/bots/")
    assert client.post(f"/bots/{bot_id}/start/").status_code == 302
    bots_dispatch_task.delay()  # what beat sends: the ticks follow as their own messages
    done = run_queued(published, results, done)
    assert BotEvent.objects.filter(bot_id=bot_id).count() > 1, "the bot never ticked"
    download = {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1h", "days": "2"}
    download_id = _created(client.post("/candles/", download), "/candles/downloads/")
    done = run_queued(published, results, done)
    store_synthetic(600)
    sma = {"p-fast": "5", "p-slow": "20", "p-timeframe": "1m"}
    response = client.post("/backtests/new/?strategy=sma_crossover", {**BACKTEST, **sma})
    run_id = _created(response, "/backtests/")
    grid = {"g-fast": "5, 10", "g-slow": "20", "g-timeframe": "1m"}
    response = client.post("/backtests/sweeps/new/?strategy=sma_crossover", {**BACKTEST, **grid})
    sweep_id = _created(response, "/backtests/sweeps/")
    run_queued(published, results, done)
    assert BacktestRun.objects.get(pk=run_id).status == "done"
    return {
        ("bots/", "id"): bot_id,
        ("backtests/", "id"): run_id,
        ("backtests/sweeps/", "id"): sweep_id,
        ("candles/downloads/", "id"): download_id,
    }


def crawl_as_owner(client, owner, key_id, jobs) -> int:
    """GET every URL of the URLconf that a signed-in user can open, ids pointing at the canary."""
    order = Order.objects.filter(key_id=key_id).first()
    known = {
        **jobs,
        ("keys/", "id"): key_id,
        ("market/", "key_id"): key_id,
        ("orders/", "id"): order.pk,
        ("notifications/", "id"): Notification.objects.create(
            user=owner, kind=Notification.Kind.ORDER_ALERT, title="t"
        ).pk,
        ("paper/keys/", "public_id"): PaperApiKey.objects.get(account__user=owner).public_id,
    }
    count = 0
    for route in routes():
        if route.is_regex or route.route.startswith(("admin/", "paper/api/", "paper/sapi/")):
            continue
        values = {}
        for kwarg in route.kwargs:
            spot = (route.prefix_of(kwarg), kwarg)
            if spot in known:
                values[kwarg] = known[spot]
            elif spot in OWNED:
                factory, attribute = OWNED[spot]
                values[kwarg] = getattr(factory(owner), attribute)
            else:
                values[kwarg] = "BTC-USDT"
        client.get(route.url(**values))
        count += 1
    return count


def crawl_admin(client) -> int:
    """GET the admin index, every model's list, and every row's change page."""
    pages = ["/admin/"]
    for model in admin.site._registry:
        info = model._meta.app_label, model._meta.model_name
        pages.append(f"/admin/{info[0]}/{info[1]}/")
        for pk in model._default_manager.values_list("pk", flat=True)[:20]:
            pages.append(f"/admin/{info[0]}/{info[1]}/{pk}/change/")
    for url in pages:
        client.get(url)
    return len(pages)


def test_the_canary_secret_never_shows_up_again(
    paper_url,
    paper_key,
    settings,
    published,
    logs,
    alice,
    candle_root,  # noqa: F811
):
    settings.PAPER_EXCHANGE_URL = paper_url
    settings.PAPER_EXCHANGE_RATE_LIMIT_MS = 1
    pin_market("BTCUSDT", "50000")
    owner = make_full_trader(alice)  # keys, orders and bots
    api_key, _ = paper_key(user=owner)
    PaperApiKey.objects.filter(api_key=api_key).update(secret=CANARY)  # the exchange's copy
    owner_client = Recorder()
    owner_client.force_login(owner)
    results = []
    key_id = connect_trade_and_cancel(owner_client, published, results, api_key)
    jobs = run_a_bot_and_backtest(owner_client, published, results, key_id)

    pages = crawl_as_owner(owner_client, owner, key_id, jobs)
    staff = make_user("root", is_staff=True, is_superuser=True)
    enrol_totp(staff)
    staff_client = Recorder()
    staff_client.force_login(staff)
    admin_pages = crawl_admin(staff_client)
    dump, keytrade_dump = io.StringIO(), io.StringIO()
    call_command("dumpdata", stdout=dump)
    call_command("dumpdata", "accounts", "trading", stdout=keytrade_dump)

    assert pages > 30 and admin_pages > 30 and logs
    assert {
        "trading.tasks.key_verify_task",
        "trading.tasks.order_submit_task",
        "trading.tasks.bots_tick_task",
        "trading.tasks_backtest.candle_download_task",
        "trading.tasks_backtest.backtest_run_task",
        "trading.tasks_backtest.sweep_run_task",
    } <= {message["task"] for message in published}
    assert owner_client.ok > 30 and staff_client.ok > 30, "the crawl saw too few pages"
    places = {
        "database": database_bytes(),
        "logs": "\n".join(logs),
        "owner pages": b"\n".join(owner_client.bodies),
        "staff pages": b"\n".join(staff_client.bodies),
        "celery messages": json.dumps(published, default=str),
        "celery results": json.dumps(results, default=str),
        "emails": json.dumps([(m.subject, m.body) for m in mail.outbox]),
        "dumpdata": dump.getvalue(),
    }
    found = {where: leaks(blob, CANARY) for where, blob in places.items() if leaks(blob, CANARY)}
    assert found == {}
    # keytrade keeps the full API key secret too (pages show its last 4 characters at most);
    # the paper exchange, like any exchange, stores it as the key's public identifier.
    places["keytrade dumpdata"] = keytrade_dump.getvalue()
    for where in ("logs", "owner pages", "staff pages", "celery messages", "keytrade dumpdata"):
        assert not leaks(places[where], api_key), where
