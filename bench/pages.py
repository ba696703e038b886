"""Dashboard pages under load: overview and fills with 100,000 fills, beside a trivial view.

One run, one machine: a fresh database (SQLite in a temporary directory, or PostgreSQL when
BENCH_DATABASE_URL is set) is migrated and seeded with one trader, one key, 100,000 fills, 20
open orders, balances and prices; gunicorn, started as the Procfile's web command starts it,
serves the production settings (DEBUG off, whitenoise manifest); 8 concurrent clients (wrk,
else a Python thread load generator) request each URL in turn, logged in, the trivial view
first. Also counts the queries and the CPU time of each page in-process at 100,000 fills
(the tests prove the query count equals the one at 10 fills).

Prints one table (p50, p99, requests/s, errors) and exits non-zero when a page's p99 reaches
100 ms or a page answers anything but 200.
Run: .venv/bin/python bench/pages.py   (BENCH_SECONDS=10 per URL after BENCH_WARMUP=2 s unmeasured;
BENCH_FILLS; BENCH_WORKER_CLASS, BENCH_WORKERS and BENCH_THREADS override the Procfile's flags)
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from procfile import web_command  # bench/procfile.py: the script's directory is on sys.path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FILLS = int(os.environ.get("BENCH_FILLS", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# Each URL first gets this many seconds of the same load, not measured: every one of
# gunicorn's threads opens its database connection and fills its per-process caches once
# (templates, URL and static lookups), which a running server has long done.
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP", "2"))
CLIENTS = 8
TARGET_P99_MS = 100.0
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC")


# -- seeding (runs in a child process with Django set up) ----------------------------------------


def seed() -> None:
    """Create the trader, key, fills, orders, balances and prices; print cookie and counts."""
    import django

    django.setup()
    from trading.models import Fill

    cookie = seed_data()
    counts, cpu = {}, {}
    for url in URLS:
        counts[url], cpu[url] = _measure_in_process(url, cookie)
    print(
        json.dumps(
            {"cookie": cookie, "queries": counts, "cpu_ms": cpu, "fills": Fill.objects.count()}
        )
    )


def seed_data() -> str:
    """Seed the bench's data (Django set up) and return the trader's session cookie."""
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from accounts.services.keys import key_connect
    from trading.models import Balance, Fill, MarketPrice, Order
    from trading.services.fill_totals import fill_totals_rebuild

    user = User.objects.create_user("bench-trader", password=os.urandom(16).hex())
    user.groups.add(Group.objects.get(name="trader"))
    user = User.objects.get(pk=user.pk)
    key = key_connect(
        user=user,
        exchange="paper",
        label="Bench",
        api_key="BENCH" + os.urandom(12).hex(),
        secret=os.urandom(16).hex(),
        passphrase="",
        scope_read=True,
        scope_trade=False,
        scope_withdraw=False,
        ip_whitelist=["127.0.0.1"],
    )
    now = timezone.now()
    for start in range(0, FILLS, 5000):
        Fill.objects.bulk_create(
            Fill(
                key=key,
                trade_id=str(i),
                exchange_order_id=str(i // 2),
                symbol=SYMBOLS[i % 4],
                side="buy" if i % 2 else "sell",
                price=Decimal(20000 + i % 1000),
                amount=Decimal("0.01"),
                cost=Decimal(200 + (i % 1000) / 100),
                fee=Decimal("0.0002"),
                fee_currency="USDT" if i % 3 else "BNB",
                taker_or_maker="taker",
                # ~180 fills today, the rest spread over the past 90 days
                executed_at=now - timedelta(seconds=i * 78),
            )
            for i in range(start, min(start + 5000, FILLS))
        )
    fill_totals_rebuild(key_id=key.pk)  # as fills_record keeps them
    Order.objects.bulk_create(
        Order(
            key=key,
            exchange_order_id=f"o{i}",
            symbol=SYMBOLS[i % 4],
            side="buy",
            type="limit",
            status="open",
            price=Decimal(19000 + i),
            amount=Decimal("0.01"),
            placed_at=now - timedelta(minutes=i),
        )
        for i in range(20)
    )
    for asset, total in (("USDT", "10000"), ("BTC", "0.5"), ("ETH", "5"), ("SOL", "40")):
        Balance.objects.create(key=key, asset=asset, free=Decimal(total), total=Decimal(total))
    for symbol, last in (("BTC/USDT", "50000"), ("ETH/USDT", "3000"), ("SOL/USDT", "150")):
        MarketPrice.objects.create(exchange="paper", symbol=symbol, last=Decimal(last))

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def wsgi_get(handler, url: str, cookie: str) -> bytes:
    """GET `url` logged in through a WSGI handler, as gunicorn calls it; the body (asserts 200)."""
    import io

    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"sessionid={cookie}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    status = []
    body = b"".join(handler(environ, lambda s, headers: status.append(s)))
    assert status[0].startswith("200"), (url, status[0], body[:300])
    return body


def _measure_in_process(url: str, cookie: str) -> tuple[int, float]:
    """Return (queries, CPU ms per request) through Django's WSGI handler, as gunicorn calls it.

    Unlike the test client, the WSGI handler sends request_started/finished, so the database
    connection is handled (kept or closed per CONN_MAX_AGE) as under the server. CPU time is
    this process's (SQLite included, it runs in-process): unlike latency under load it does
    not depend on what else the machine is running. The median of 7 blocks of 10 requests.
    """

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()

    def get() -> None:
        wsgi_get(handler, url, cookie)

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    get()  # warm: templates compiled, connection open
    with connection.execute_wrapper(count):
        get()
    blocks = []
    for _ in range(7):
        started = time.process_time()
        for _ in range(10):
            get()
        blocks.append((time.process_time() - started) / 10 * 1000)
    return len(executed), sorted(blocks)[3]


URLS = ["/bench/trivial", "/", "/fills/", "/fills/?symbol=BTC-USDT&side=sell", "/fills/?page=1000"]
NAMES = {
    "/bench/trivial": "trivial Django view (baseline)",
    "/": "overview",
    "/fills/": "fills, page 1",
    "/fills/?symbol=BTC-USDT&side=sell": "fills, filtered (a quarter match)",
    "/fills/?page=1000": "fills, page 1,000",
}


# -- load generation ---------------------------------------------------------------------------


def wrk(url: str, cookie: str, seconds: int = SECONDS) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CLIENTS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Cookie: sessionid={cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = {
        p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "p50": latency["50"],
        "p99": latency["99"],
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "tool": "wrk",
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def threads_load(url: str, cookie: str, seconds: int = SECONDS) -> dict:
    """Fallback: 8 threads, one keep-alive connection each, for `seconds`."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    samples, errors, stop = [], [0], time.perf_counter() + seconds

    def client():
        conn = http.client.HTTPConnection(host, int(port))
        while time.perf_counter() < stop:
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            samples.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                errors[0] += 1

    workers = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    samples.sort()
    return {
        "p50": samples[len(samples) // 2],
        "p99": samples[int(len(samples) * 0.99)],
        "rps": len(samples) / seconds,
        "errors": errors[0],
        "socket_errors": "",
        "tool": "python threads",
    }


# -- orchestration -------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(var_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "keytrade.settings",
            "KEYTRADE_VAR_DIR": var_dir,
            "DEBUG": "false",
            "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
            "CRYPTOGRAPHY_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "KEYTRADE_BENCH_VIEWS": "true",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    return env


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def _wait_ready(port: int, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/bench/trivial")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def _check_page(port: int, path: str, cookie: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = conn.getresponse()
    body = response.read().decode()
    if response.status != 200 or (path != "/bench/trivial" and "bench-trader" not in body):
        raise SystemExit(f"{path} answered {response.status} without the logged-in page")


def _server_command(port: int) -> list[str]:
    """The Procfile's web command (what `make run` and the Docker image run), bound to `port`.

    BENCH_WORKER_CLASS / BENCH_WORKERS / BENCH_THREADS override (or add) its --worker-class /
    --workers / --threads, to compare settings.
    """
    overrides = {
        "--worker-class": os.environ.get("BENCH_WORKER_CLASS") or None,
        "--workers": os.environ.get("BENCH_WORKERS") or None,
        "--threads": os.environ.get("BENCH_THREADS") or None,
    }
    return web_command(f"127.0.0.1:{port}", overrides)


def _describe(command: list[str]) -> str:
    return " ".join(command[1:]).replace(f"{command[command.index('--bind') + 1]}", "<port>")


def main() -> int:
    var_dir = tempfile.mkdtemp(prefix="keytrade-bench-")
    env = _env(var_dir)
    server = None
    try:
        _manage(env, "migrate", "--no-input")
        _manage(env, "collectstatic", "--no-input")
        started = time.perf_counter()
        seeded = json.loads(
            subprocess.run(
                [PYTHON, __file__, "--seed"], env=env, check=True, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        print(
            f"seeded {seeded['fills']:,} fills in {time.perf_counter() - started:.1f} s; "
            f"database: {'PostgreSQL' if 'DATABASE_URL' in env else 'SQLite'}"
        )
        port = _free_port()
        command = _server_command(port)
        server = subprocess.Popen(
            command,
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,  # the access log
        )
        _wait_ready(port, server)
        seeded["load_before"] = _load()
        load = wrk if shutil.which("wrk") else threads_load
        results = {}
        for path in URLS:
            _check_page(port, path, seeded["cookie"])
            if WARMUP_SECONDS:
                load(f"http://127.0.0.1:{port}{path}", seeded["cookie"], WARMUP_SECONDS)
            results[path] = load(f"http://127.0.0.1:{port}{path}", seeded["cookie"])
        return report(results, seeded, _describe(command))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(var_dir, ignore_errors=True)


def report(results: dict, seeded: dict, server: str) -> int:
    tool = next(iter(results.values()))["tool"]
    print(
        f"\n{CLIENTS} concurrent clients, {SECONDS} s per URL after {WARMUP_SECONDS} s of "
        f"warm-up, {tool}; {os.cpu_count()} cores; "
        f"{seeded['fills']:,} fills; server (the Procfile's): gunicorn {server}\n"
    )
    print("| page | p50 ms | p99 ms | requests/s | non-200 | queries | CPU ms/request |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    failed = False
    for path, r in results.items():
        queries = seeded["queries"].get(path, 0)
        print(
            f"| {NAMES[path]} `{path}` | {r['p50']:.1f} | {r['p99']:.1f} | {r['rps']:.0f} | "
            f"{r['errors']} | {queries} | {seeded['cpu_ms'][path]:.1f} |"
        )
        if r["errors"] or r["socket_errors"]:
            failed = True
        if path != "/bench/trivial" and r["p99"] >= TARGET_P99_MS:
            failed = True
    print(
        f"\nload average before / after the load runs: {seeded['load_before']} / {_load()} "
        "(other processes share these cores)"
    )
    print(f"target: p99 < {TARGET_P99_MS:.0f} ms for every page: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    if "--seed" in sys.argv:
        sys.path.insert(0, str(ROOT))
        seed()
    else:
        sys.exit(main())
