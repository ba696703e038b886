"""Benchmark the paper exchange through async ccxt: signed place+cancel next to a public ping.

Starts its own gunicorn on a free port with a throw-away var directory (SQLite database
unless --database-url, fresh secrets), creates one paper account and key per client, then runs N
concurrent async ccxt clients: first hitting /api/v3/ping, then placing and cancelling
resting limit orders, then one client alone (latency without queueing). Prints requests per
second and p50/p99 latency per request kind.

    .venv/bin/python bench/paper_exchange.py [--clients 8] [--seconds 10] [--workers 2]
        [--database-url postgres://…/empty_db]
"""

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: Path, database_url: str | None) -> dict:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="keytrade.settings",
        KEYTRADE_VAR_DIR=str(var_dir),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        CRYPTOGRAPHY_KEY=Fernet.generate_key().decode(),
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PAPER_TEST_CONTROLS="false",
        PAPER_IP_WEIGHT_PER_MINUTE="1000000000",
        PAPER_KEY_WEIGHT_PER_MINUTE="1000000000",
        PAPER_ORDERS_PER_10S="1000000000",
        CONN_MAX_AGE="60",  # persistent DB connections, as a production server would run
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


SETUP = """
from django.contrib.auth import get_user_model
from paper.services.accounts import account_get_or_create
from paper.services.keys import key_create
for i in range({n}):
    user = get_user_model().objects.create_user(username=f"bench{{i}}", password=None)
    account = account_get_or_create(user=user)
    key, secret = key_create(account=account, label="bench", can_trade=True)
    print(key.api_key, secret)
"""


def prepare(env: dict, clients: int) -> list[tuple[str, str]]:
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [*manage, "shell", "-c", SETUP.format(n=clients)],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    ).stdout  # fmt: skip
    pairs = [line.split() for line in out.splitlines()]
    return [tuple(p) for p in pairs if len(p) == 2 and all(len(v) == 64 for v in p)]


def start_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [GUNICORN, "keytrade.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
               str(workers), "--threads", str(threads), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/paper/api/v3/ping", timeout=1)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not come up")


def client(base: str, api_key: str | None = None, secret: str | None = None):
    from tests.paper_fixtures import binance_for

    return binance_for(base, api_key, secret, asyncio=True)


async def timed(samples: list, coro):
    started = time.perf_counter()
    result = await coro
    samples.append(time.perf_counter() - started)
    return result


async def run_clients(base: str, keys, seconds: float, work) -> tuple[dict, float]:
    exchanges = [client(base, *key) for key in keys]
    await asyncio.gather(*(ex.load_markets() for ex in exchanges))
    samples: dict[str, list[float]] = {}
    deadline = time.monotonic() + seconds
    started = time.perf_counter()

    async def loop(ex):
        while time.monotonic() < deadline:
            await work(ex, samples)

    try:
        await asyncio.gather(*(loop(ex) for ex in exchanges))
    finally:
        await asyncio.gather(*(ex.close() for ex in exchanges))
    return samples, time.perf_counter() - started


async def ping(ex, samples):
    await timed(samples.setdefault("GET  /api/v3/ping (public)", []), ex.public_get_ping())


async def place_cancel(ex, samples):
    started = time.perf_counter()
    order = await timed(
        samples.setdefault("POST /api/v3/order (signed)", []),
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 10000),
    )
    await timed(
        samples.setdefault("DELETE /api/v3/order (signed)", []),
        ex.cancel_order(order["id"], "BTC/USDT"),
    )
    samples.setdefault("place + cancel (2 requests)", []).append(time.perf_counter() - started)


def report(title: str, samples: dict, elapsed: float, clients: int) -> None:
    print(f"\n{title}: {clients} async ccxt clients, {elapsed:.1f} s")
    print(f"{'request':<34}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, values in samples.items():
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"{name:<34}{len(values):>8}{len(values) / elapsed:>9.0f}"
            f"{statistics.median(values) * 1000:>9.1f}{p99 * 1000:>9.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paper-bench-") as tmp:
        env = server_env(Path(tmp), args.database_url)
        os.environ.update(
            {k: env[k] for k in ("SECRET_KEY", "CRYPTOGRAPHY_KEY", "KEYTRADE_VAR_DIR")}
        )
        keys = prepare(env, args.clients)
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        base = f"http://127.0.0.1:{port}/paper"
        try:
            database = "PostgreSQL" if args.database_url else "SQLite"
            print(f"gunicorn {args.workers} workers x {args.threads} threads, {database}")
            samples, elapsed = asyncio.run(run_clients(base, keys, args.seconds, ping))
            report("public ping", samples, elapsed, args.clients)
            samples, elapsed = asyncio.run(run_clients(base, keys, args.seconds, place_cancel))
            report("signed place + cancel", samples, elapsed, args.clients)
            # Latency without queueing: with N clients, p50 >= N / throughput (Little's law).
            samples, elapsed = asyncio.run(run_clients(base, keys[:1], args.seconds, place_cancel))
            report("signed place + cancel, one client", samples, elapsed, 1)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
