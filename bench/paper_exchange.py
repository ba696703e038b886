"""Benchmark the paper exchange through async ccxt: signed place+cancel next to a public ping.

Starts its own gunicorn on a free port with a throw-away var directory (SQLite database
unless --database-url, fresh secrets), creates one paper account and key per client, then runs N
concurrent async ccxt clients: first hitting /api/v3/ping, then placing and cancelling
resting limit orders, then one client alone (latency without queueing). Prints requests per
second and p50/p99 latency per request kind, and CPU ms per request of the server (its
processes' user+system time from /proc) and of the client (this process): unlike latency,
those do not depend on what else the machine runs. Exits non-zero when the signed order
request's p50 with N clients misses the target (10 ms).

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
TARGET_P50_MS = 10.0
ORDER = "POST /api/v3/order (signed)"
PING = "GET  /api/v3/ping (public)"
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


def start_server(
    env: dict, port: int, workers: int, threads: int, worker_class: str
) -> subprocess.Popen:
    command = [GUNICORN, "keytrade.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
               str(workers), "--threads", str(threads), "--worker-class", worker_class,
               "--log-level", "warning"]  # fmt: skip
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def phase(base: str, keys, seconds: float, work, server_pid: int):
    """Run one phase; return (samples, elapsed s, server CPU s, client CPU s).

    CPU is counted from after the clients loaded the markets (exchangeInfo is not part of
    what is measured) to the end of the timed loop.
    """
    return asyncio.run(run_clients(base, keys, seconds, work, server_pid))


async def run_clients(base: str, keys, seconds: float, work, server_pid: int):
    exchanges = [client(base, *key) for key in keys]
    samples: dict[str, list[float]] = {}
    try:
        await asyncio.gather(*(ex.load_markets() for ex in exchanges))
        server_before, client_before = cpu_seconds(server_pid), time.process_time()
        deadline = time.monotonic() + seconds
        started = time.perf_counter()

        async def loop(ex):
            while time.monotonic() < deadline:
                await work(ex, samples)

        await asyncio.gather(*(loop(ex) for ex in exchanges))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server_pid) - server_before
        client_cpu = time.process_time() - client_before
    finally:
        await asyncio.gather(*(ex.close() for ex in exchanges))
    return samples, elapsed, server_cpu, client_cpu


async def ping(ex, samples):
    await timed(samples.setdefault(PING, []), ex.public_get_ping())


async def place_cancel(ex, samples):
    started = time.perf_counter()
    order = await timed(
        samples.setdefault(ORDER, []),
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 10000),
    )
    await timed(
        samples.setdefault("DELETE /api/v3/order (signed)", []),
        ex.cancel_order(order["id"], "BTC/USDT"),
    )
    samples.setdefault("place + cancel (2 requests)", []).append(time.perf_counter() - started)


def p50_ms(values) -> float:
    return statistics.median(values) * 1000


def report(title: str, run, clients: int) -> None:
    samples, elapsed, server_cpu, client_cpu = run
    requests = sum(len(v) for k, v in samples.items() if k.startswith(("GET", "POST", "DELETE")))
    print(f"\n{title}: {clients} async ccxt clients, {elapsed:.1f} s")
    print(f"{'request':<34}{'count':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, values in samples.items():
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"{name:<34}{len(values):>8}{len(values) / elapsed:>9.0f}"
            f"{p50_ms(values):>9.1f}{p99 * 1000:>9.1f}"
        )
    print(
        f"CPU per HTTP request: server {server_cpu / requests * 1000:.2f} ms,"
        f" client (ccxt) {client_cpu / requests * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--worker-class",
        default="gthread",
        help="gunicorn worker class (gthread keeps connections alive; sync closes each one)",
    )
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paper-bench-") as tmp:
        env = server_env(Path(tmp), args.database_url)
        os.environ.update(
            {k: env[k] for k in ("SECRET_KEY", "CRYPTOGRAPHY_KEY", "KEYTRADE_VAR_DIR")}
        )
        keys = prepare(env, args.clients)
        port = free_port()
        server = start_server(env, port, args.workers, args.threads, args.worker_class)
        base = f"http://127.0.0.1:{port}/paper"
        try:
            database = "PostgreSQL" if args.database_url else "SQLite"
            print(
                f"gunicorn {args.workers} {args.worker_class} workers x {args.threads} threads,"
                f" {database}"
            )
            pinged = phase(base, keys, args.seconds, ping, server.pid)
            report("public ping", pinged, args.clients)
            traded = phase(base, keys, args.seconds, place_cancel, server.pid)
            report("signed place + cancel", traded, args.clients)
            # Latency without queueing: with N clients, p50 >= N / throughput (Little's law).
            alone = phase(base, keys[:1], args.seconds, place_cancel, server.pid)
            report("signed place + cancel, one client", alone, 1)
        finally:
            server.terminate()
            server.wait(timeout=10)
    order_p50, ping_p50 = p50_ms(traded[0][ORDER]), p50_ms(pinged[0][PING])
    met = order_p50 < TARGET_P50_MS
    print(
        f"\nsigned order request p50 {order_p50:.1f} ms with {args.clients} clients"
        f" (public ping in the same run: {ping_p50:.1f} ms; one client alone:"
        f" {p50_ms(alone[0][ORDER]):.1f} ms) -> target < {TARGET_P50_MS:.0f} ms:"
        f" {'met' if met else 'MISSED'}"
    )
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
