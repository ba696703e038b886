"""Order-path overhead: keytrade's order path against a bare ccxt create_order, same run.

Starts the paper exchange under gunicorn on a free port (its own SQLite database in a temp
directory), then alternates, N times each:
  - bare:     ccxt binance create_order (limit, resting) straight to the paper exchange;
  - keytrade: order_place (validate, limits, intent + audit row, publish the task) followed by
              order_submit as the worker runs it (claim, audit, decrypt the key, per-key lock,
              the same create_order, classify, store intent/order/fills, audit).
The Celery hop between web and worker (broker latency) is not included: it is a queue wait,
not work. Prints p50/p95, the p50 overhead, and each path's CPU time (a cross-check that
depends far less on machine load); exits non-zero when the local p50 overhead misses 5 ms.
Run: .venv/bin/python bench/order_path.py   (about a minute)
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_ORDERS", "300"))
TARGET_MS = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(var_dir: Path, port: int) -> dict:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="keytrade.settings",
        KEYTRADE_VAR_DIR=str(var_dir),
        DEBUG="false",
        KEYTRADE_TESTING="1",  # test controls on (pinned prices), static files unhashed
        SECRET_KEY=secrets.token_urlsafe(50),
        CRYPTOGRAPHY_KEY=Fernet.generate_key().decode(),
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PAPER_EXCHANGE_URL=f"http://127.0.0.1:{port}/paper",
        PAPER_EXCHANGE_RATE_LIMIT_MS="1",
        PAPER_ORDERS_PER_10S="100000",
        LOG_LEVEL="WARNING",
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def wait_until_up(port: int, proc) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/paper/api/v3/ping", timeout=1)  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the paper exchange did not start")


PAPER_SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from paper.services.accounts import account_get_or_create
from paper.services.controls import clock_freeze, price_set
from paper.services.keys import key_create
user = get_user_model().objects.create_user("paper-bench")
clock_freeze()
price_set(symbol="BTCUSDT", price="50000")
account = account_get_or_create(user=user)
account.balances.filter(asset="USDT").update(free=10**9)
made = [key_create(account=account, label=f"k{i}", can_trade=True, can_withdraw=False,
                   ip_whitelist=[], expires_at=None) for i in range(2)]
print(json.dumps([[k.api_key, s] for k, s in made]))
"""


def setup_paper(env) -> list:
    """Migrate the exchange's own database and open an account with two keys."""
    import json

    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PAPER_SETUP],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def setup_keytrade(api_key: str, secret: str):
    from allauth.mfa.models import Authenticator
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.services.keys import key_connect

    user = get_user_model().objects.create_user("bench", password=secrets.token_urlsafe(16))
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["connect_keys", "place_orders"])
    )
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "X"})
    user = get_user_model().objects.get(pk=user.pk)
    key = key_connect(
        user=user,
        exchange="paper",
        label="bench",
        api_key=api_key,
        secret=secret,
        scope_read=True,
        scope_trade=True,
        scope_withdraw=False,
        ip_whitelist=[],
    )
    return user, key


def bare_client(env, api_key, secret):
    import ccxt

    from trading.exchange.ccxt_build import paper_urls

    ex = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": secret,
            "rateLimit": 1,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    ex.urls["api"] = paper_urls(env["PAPER_EXCHANGE_URL"])
    ex.load_markets()
    return ex


class HttpClock:
    """Time spent waiting on the exchange (requests.Session.send), to subtract it out.

    On a loaded machine the exchange's latency varies far more than keytrade's own work, so
    the local cost of each path is measured directly: wall time minus time inside HTTP.
    """

    def __init__(self):
        import requests

        self.spent = 0.0
        original = requests.Session.send

        def send(session, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(session, *args, **kwargs)
            finally:
                self.spent += time.perf_counter() - started

        requests.Session.send = send


def measure(user, key, bare):
    from trading.models import OrderIntent
    from trading.services.orders import order_place
    from trading.services.submission import order_submit

    http = HttpClock()
    cpu = time.process_time
    rows = {"bare": [], "keytrade": [], "  place": [], "  submit": []}
    for i in range(N + 20):
        price = 30000 + (i % 500)  # rests on the book; never fills
        http.spent, t0, c0 = 0.0, time.perf_counter(), cpu()
        bare.create_order(
            "BTC/USDT",
            "limit",
            "buy",
            0.001,
            price,
            {"clientOrderId": f"bare{i}x{secrets.token_hex(4)}"},
        )
        t1, c1, bare_http = time.perf_counter(), cpu(), http.spent
        http.spent = 0.0
        intent = order_place(
            user=user,
            key=key,
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            amount="0.001",
            price=str(price),
        )
        tp, cp = time.perf_counter(), cpu()
        order_submit(intent_id=intent.pk, worker="bench")
        t2, c2, our_http = time.perf_counter(), cpu(), http.spent
        if i >= 20:  # warm-up: connections, markets, caches
            # (wall, local = wall minus HTTP wait, CPU time of this process), in ms
            rows["bare"].append(ms(t1 - t0, t1 - t0 - bare_http, c1 - c0))
            rows["keytrade"].append(ms(t2 - t1, t2 - t1 - our_http, c2 - c1))
            rows["  place"].append(ms(tp - t1, tp - t1, cp - c1))
            rows["  submit"].append(ms(t2 - tp, t2 - tp - our_http, c2 - cp))
    assert OrderIntent.objects.filter(status="OPEN").count() == N + 20
    return rows


def ms(*seconds: float) -> tuple[float, ...]:
    return tuple(s * 1000 for s in seconds)


@contextmanager
def stack():
    """The paper exchange under gunicorn on a free port, with its own database (as a remote
    exchange would have), and keytrade set up in this process: yields (user, key, bare client).
    """
    with tempfile.TemporaryDirectory(prefix="keytrade-bench-") as tmp:
        port = free_port()
        # The exchange keeps its own database, as a remote exchange would.
        paper_env = environment(Path(tmp) / "exchange", port)
        (ours_key, ours_secret), (bare_key, bare_secret) = setup_paper(paper_env)
        server = subprocess.Popen(  # noqa: S603
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "keytrade.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            env=paper_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        env = environment(Path(tmp) / "keytrade", port)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE = 10**6
        call_command("migrate", verbosity=0)
        user, key = setup_keytrade(ours_key, ours_secret)
        try:
            wait_until_up(port, server)
            yield user, key, bare_client(env, bare_key, bare_secret)
        finally:
            server.terminate()
            server.wait(15)


def main() -> int:
    with stack() as (user, key, bare):
        rows = measure(user, key, bare)
    return report(rows)


def report(rows) -> int:
    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1]

    print(f"orders: {N} per path, alternating; paper exchange under gunicorn (2 workers)")
    print(
        f"{'path':<10} {'wall p50':>9} {'wall p95':>9} {'local p50':>10} {'local p95':>10} "
        f"{'cpu p50':>8}"
    )
    local, cpu = {}, {}
    for name, samples in rows.items():
        wall, own, used = (list(column) for column in zip(*samples, strict=True))
        local[name], cpu[name] = statistics.median(own), statistics.median(used)
        print(
            f"{name:<10} {statistics.median(wall):9.2f} {p(wall, 95):9.2f} "
            f"{local[name]:10.2f} {p(own, 95):10.2f} {cpu[name]:8.2f}"
        )
    overhead = local["keytrade"] - local["bare"]
    print("local = wall time minus time waiting on the exchange's HTTP answers (ms)")
    print("cpu = this process's CPU time (ms), which depends far less on machine load")
    print(f"CPU p50 overhead over bare ccxt: {cpu['keytrade'] - cpu['bare']:.2f} ms")
    print(f"keytrade's p50 overhead over bare ccxt: {overhead:.2f} ms (target < {TARGET_MS} ms)")
    return 0 if overhead < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
