"""Bots at scale: 1,000 running bots ticking every 10 s against the paper exchange, one machine.

Starts a private Redis (broker and cache), a fresh SQLite database, the web server (gunicorn,
serving the paper exchange), one Celery worker (prefork, 2 processes) and beat, all as the
production Procfile would. Then:
  1. reference: the worker idle (no running bot) — its memory, and the lateness of a no-op
     task (keytrade.tasks.worker_heartbeat) sent through the same queue;
  2. load: 1,000 bots started through `bot_start` (mostly dry run, some live on the paper
     exchange), spread over the 10-second interval; for DURATION seconds every completed tick's
     lateness (tick start minus its scheduled time) is collected, no-op tasks keep measuring
     the queue, and the worker's memory is sampled.
Prints a table and JSON; exits non-zero if p99 tick lateness >= 2 s or memory growth >= 1 MB
per running bot.
Run: .venv/bin/python bench/bots.py [--bots 1000] [--live 50] [--duration 150]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from procfile import web_command  # bench/procfile.py: the script's directory is on sys.path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
INTERVAL = 10
TARGET_P99_S, TARGET_MB_PER_BOT = 2.0, 1.0
USERS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_tree(pid: int) -> list[int]:
    """The pid and all its descendants (the Celery parent and its pool processes)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(c) for c in children.read_text().split()]
    return out


def worker_mb(pid: int) -> float:
    return sum(rss_mb(p) for p in process_tree(pid) if Path(f"/proc/{p}").exists())


def worker_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the worker and its pool processes."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Stack:
    """The processes under test; stopped (and their files removed) on exit."""

    def __init__(self, tmp: Path, args):
        self.tmp, self.args, self.procs = tmp, args, {}
        self.redis_port, self.web_port = free_port(), free_port()
        from cryptography.fernet import Fernet

        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DJANGO_SETTINGS_MODULE": "keytrade.settings",
            "KEYTRADE_VAR_DIR": str(tmp / "var"),
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 60,
            "CRYPTOGRAPHY_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PAPER_EXCHANGE_URL": f"http://127.0.0.1:{self.web_port}/paper",
            "PAPER_EXCHANGE_RATE_LIMIT_MS": "1",
            "TRADING_DEFAULT_MAX_ORDERS_PER_MINUTE": "1000",
            "ACCOUNT_SYNC_INTERVAL_SECONDS": "300",
            "PYTHONPATH": str(ROOT),
        }

    def start(self, name: str, args: list, **popen) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [str(a) for a in args],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )
        self.procs[name] = proc
        return proc

    def up(self) -> None:
        self.start(
            "redis",
            ["redis-server", "--port", self.redis_port, "--save", "", "--appendonly", "no"],
        )
        manage = [sys.executable, "manage.py"]
        subprocess.run(
            manage + ["migrate", "--no-input"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        bind = f"127.0.0.1:{self.web_port}"
        # One access-log line per request would only slow the run down.
        self.start("web", web_command(bind, {"--access-logfile": ""}))
        loglevel = os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")
        worker = [BIN / "celery", "-A", "keytrade", "worker", "--loglevel", loglevel]
        concurrency = ["--concurrency", str(self.args.concurrency), "-n", "bench@%h"]
        self.start("worker", worker + concurrency)
        self.start(
            "beat",
            [
                BIN / "celery",
                "-A",
                "keytrade",
                "beat",
                "--loglevel",
                "WARNING",
                "--scheduler",
                "celery.beat:PersistentScheduler",
                "--schedule",
                self.tmp / "beat-schedule",
            ],
        )

    def down(self) -> None:
        import signal

        for proc in reversed(list(self.procs.values())):  # beat, worker, web, then redis
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def wait_web(port: int) -> None:
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/paper/api/v3/ping", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web server did not start")


def make_bots(count: int, live: int) -> list:
    """Users with paper keys, and `count` stopped bots of every strategy (`live` of them live)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from accounts.models import AuditChainHead
    from accounts.services.keys import key_connect
    from paper.services.accounts import account_get_or_create
    from paper.services.keys import key_create
    from tests.vault_helpers import enable_mfa
    from trading.exchange.connect import client_for_key
    from trading.services.bots import bot_create

    AuditChainHead.objects.get_or_create(id=1)
    perms = Permission.objects.filter(
        content_type__app_label="accounts",
        codename__in=["connect_keys", "place_orders", "run_bots"],
    )
    keys = []
    for n in range(USERS):
        user = get_user_model().objects.create_user(f"bench{n}", password="x" * 16)
        user.user_permissions.add(*perms)
        enable_mfa(user)
        user = get_user_model().objects.get(pk=user.pk)
        paper_key, secret = key_create(
            account=account_get_or_create(user=user), label="bench", can_trade=True
        )
        key = key_connect(
            user=user,
            exchange="paper",
            label="bench",
            api_key=paper_key.api_key,
            secret=secret,
            scope_read=True,
            scope_trade=True,
            scope_withdraw=False,
            ip_whitelist=[],
        )
        keys.append((user, key))
    client = client_for_key(keys[0][1])
    prices = {s: client.fetch_ticker(s).last for s in ("BTC/USDT", "ETH/USDT")}
    bots = []
    for i in range(count):
        user, key = keys[i % USERS]
        symbol = "BTC/USDT" if i % 2 else "ETH/USDT"
        slug, params = strategy_for(i, prices[symbol], symbol)
        mode = "live" if i < live else "dry_run"
        if mode == "live":  # live bots rest a grid on the paper exchange
            slug, params = "grid", grid_params(prices[symbol], symbol, width=Decimal("0.02"))
        bots.append(
            bot_create(
                user=user,
                key=key,
                name=f"bench {i}",
                symbol=symbol,
                strategy=slug,
                params=params,
                max_order_notional=Decimal("5000"),
                daily_loss_limit=Decimal("0"),
                max_open_orders=50,
                mode=mode,
                tick_interval_seconds=INTERVAL,
            )
        )
    return bots


def grid_params(price: Decimal, symbol: str, width: Decimal) -> dict:
    amount = "0.002" if symbol.startswith("BTC") else "0.05"
    lower, upper = (
        (price * (1 - width)).quantize(Decimal(1)),
        (price * (1 + width)).quantize(Decimal(1)),
    )
    return {"lower": str(lower), "upper": str(upper), "levels": 9, "amount": amount}


def strategy_for(i: int, price: Decimal, symbol: str) -> tuple[str, dict]:
    kind = i % 5
    if kind == 0:
        return "dca", {"quote_amount": "20", "interval_minutes": 1}
    if kind == 1:
        return "grid", grid_params(price, symbol, width=Decimal("0.002"))
    if kind == 2:
        amount = "0.001" if symbol.startswith("BTC") else "0.02"
        return "market_making", {
            "spread_pct": "0.05",
            "amount": amount,
            "max_inventory": "1",
            "refresh_seconds": 30,
        }
    if kind == 3:
        return "sma_crossover", {"fast": 5, "slow": 20, "timeframe": "1m"}
    base = symbol.split("/")[0]
    return "rebalance", {
        "weights": f"{base}:0.5, USDT:0.5",
        "threshold_pct": "1",
        "interval_minutes": 0,
    }


def start_bots(bots: list) -> None:
    """Start every bot through bot_start, spreading first ticks over one interval."""
    from django.utils import timezone

    from trading.bots.models import Bot
    from trading.services.bots import bot_start

    for bot in bots:
        bot_start(bot=bot, actor=bot.user, confirm_live=True)
    now = timezone.now()
    for i, bot in enumerate(bots):
        offset = timedelta(seconds=INTERVAL * i / len(bots) + 1)
        Bot.objects.filter(pk=bot.pk).update(next_tick_at=now + offset)


class NoopProbe:
    """Send the no-op heartbeat task and read when it ran: the queue's own lateness."""

    def __init__(self):
        self.sent_at, self.samples, self.timeline = None, [], []

    def step(self, elapsed: float = 0.0) -> None:
        from django.core.cache import cache
        from django.utils import timezone

        from keytrade.health import HEARTBEAT_CACHE_KEY
        from keytrade.tasks import worker_heartbeat

        beat = cache.get(HEARTBEAT_CACHE_KEY)
        if self.sent_at is not None and beat:
            from datetime import datetime

            ran = datetime.fromisoformat(beat["at"])
            if ran >= self.sent_at:
                self.samples.append((ran - self.sent_at).total_seconds())
                self.timeline.append((self.sent_elapsed, self.samples[-1]))
                self.sent_at = None
        if self.sent_at is None:
            self.sent_at, self.sent_elapsed = timezone.now(), elapsed
            worker_heartbeat.delay()


def sample_ticks(seen: dict, samples: list, since, timeline: list, elapsed: float) -> None:
    from trading.bots.models import Bot

    rows = Bot.objects.filter(last_tick_at__gte=since).values_list(
        "pk", "last_tick_at", "last_tick_lateness_ms"
    )
    for pk, at, lateness in rows:
        if seen.get(pk) != at:
            seen[pk] = at
            samples.append(lateness / 1000)
            timeline.append((elapsed, lateness / 1000))


def measure(seconds: float, worker_pid: int, probe: NoopProbe, warmup: float) -> dict:
    from django.utils import timezone

    seen, samples, memory, timeline = {}, [], [], []
    start = time.monotonic()
    since = timezone.now() + timedelta(seconds=warmup)
    cpu_start = None
    while (elapsed := time.monotonic() - start) < seconds:
        if elapsed >= warmup:
            if cpu_start is None:
                cpu_start = worker_cpu_s(worker_pid)
            sample_ticks(seen, samples, since, timeline, elapsed)
        probe.step(elapsed)
        memory.append((round(elapsed), worker_mb(worker_pid)))
        time.sleep(1)
    cpu = worker_cpu_s(worker_pid) - (cpu_start or 0)
    return {"ticks": samples, "memory": memory, "cpu_s": cpu, "timeline": timeline}


def print_timeline(args, load: dict, probe: NoopProbe) -> None:
    """Ticks/s and lateness per 10-second slice: shows whether late ticks are a burst or steady."""
    print("slice s   ticks/s  tick p50 s  tick p99 s  no-op max s")
    for start in range(int(args.warmup), int(args.duration), 10):
        ticks = [late for at, late in load["timeline"] if start <= at < start + 10]
        noop = [late for at, late in probe.timeline if start <= at < start + 10]
        print(
            f"{start:>4}-{start + 10:<4} {len(ticks) / 10:>8.1f} {pct(ticks, 0.5):>11.2f}"
            f" {pct(ticks, 0.99):>11.2f} {max(noop) if noop else float('nan'):>12.2f}"
        )


def report(args, idle_mb, idle_probe, load, load_probe, errors, late_starts) -> int:
    ticks = load["ticks"]
    end_mb = statistics.median(mb for _, mb in load["memory"][-10:])
    growth = (end_mb - idle_mb) / args.bots
    result = {
        "bots": args.bots,
        "live": args.live,
        "interval_s": INTERVAL,
        "measured_s": args.duration - args.warmup,
        "ticks": len(ticks),
        "ticks_per_s": round(len(ticks) / (args.duration - args.warmup), 1),
        "tick_lateness_s": {
            "p50": round(pct(ticks, 0.5), 3),
            "p99": round(pct(ticks, 0.99), 3),
            "max": round(max(ticks), 3) if ticks else None,
        },
        "noop_lateness_idle_s": {
            "p50": round(pct(idle_probe, 0.5), 3),
            "p99": round(pct(idle_probe, 0.99), 3),
        },
        "noop_lateness_load_s": {
            "p50": round(pct(load_probe, 0.5), 3),
            "p99": round(pct(load_probe, 0.99), 3),
        },
        "worker_cpu_ms_per_tick": round(1000 * load["cpu_s"] / max(len(ticks), 1), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "worker_mb_idle": round(idle_mb, 1),
        "worker_mb_end": round(end_mb, 1),
        "worker_mb_per_bot": round(growth, 4),
        "bot_errors": errors,
        "bots_never_ticked": late_starts,
    }
    print(json.dumps(result, indent=2))
    ok = result["tick_lateness_s"]["p99"] < TARGET_P99_S and growth < TARGET_MB_PER_BOT
    ok = ok and len(ticks) > 0.9 * args.bots * (args.duration - args.warmup) / INTERVAL
    print("PASS" if ok else "FAIL: a target was missed (or too few ticks ran)")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--live", type=int, default=50)
    parser.add_argument("--duration", type=float, default=150)
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kt-bench-bots-"))
    (tmp / "var").mkdir()
    stack = Stack(tmp, args)
    try:
        stack.up()
        setup_django(stack.env)
        wait_web(stack.web_port)
        bots = make_bots(args.bots, args.live)
        print(f"{len(bots)} bots created; measuring the idle worker", flush=True)
        idle_probe = NoopProbe()
        idle = measure(20, stack.procs["worker"].pid, idle_probe, warmup=20)
        idle_mb = statistics.median(mb for _, mb in idle["memory"][-10:])
        start_bots(bots)
        print(f"started; measuring for {args.duration:.0f} s", flush=True)
        load_probe = NoopProbe()
        load = measure(args.duration, stack.procs["worker"].pid, load_probe, args.warmup)
        from trading.bots.models import Bot, BotEvent

        errors = BotEvent.objects.filter(kind="error").count()
        never = Bot.objects.filter(tick_seq=0).count()
        print_timeline(args, load, load_probe)
        return report(args, idle_mb, idle_probe.samples, load, load_probe.samples, errors, never)
    finally:
        stack.down()
        print(f"logs in {tmp}" if os.environ.get("KEEP_BENCH") else "", end="")
        if not os.environ.get("KEEP_BENCH"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
