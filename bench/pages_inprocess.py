"""The dashboard pages' cost in process: CPU ms, queries and Python calls per request.

bench/pages.py's in-process measurement on its own, for profiling and for comparing two code
trees side by side on one database: no gunicorn, no load generator. The database (seeded as
bench/pages.py seeds it: 100,000 fills by default) is kept in --var-dir, so a second run, or
the same script run from another tree with the same --var-dir, measures the same data.

Each page is requested through Django's WSGI handler as gunicorn calls it (production
settings, DEBUG off, persistent connection), logged in. Per URL: the queries of one request,
Python function calls of one request (cProfile: load does not change it), and CPU ms per
request (`time.process_time()`, SQLite included): the fastest and the median of --blocks
blocks of 10 requests. CPU time still follows what else runs on shared cores: compare trees
alternately, not against figures from another hour.

Run: .venv/bin/python bench/pages_inprocess.py --var-dir /tmp/pages-db [--blocks 15]
     [--profile /fills/] [--sort tottime|cumulative] [--lines 40] [--callers REGEX]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import pages  # noqa: E402 - bench/pages.py: seeding, environment, URLs

URLS = [
    "/bench/trivial",
    "/",
    "/overview/live/",
    "/overview/balances/",
    "/fills/",
    "/fills/live/",
    "/fills/?symbol=BTC-USDT&side=sell",
    "/fills/?page=1000",
]


def _prepare(var_dir: Path) -> dict:
    """Seed var_dir once (migrate, collectstatic, the bench's data); return env and cookie."""
    state = var_dir / "bench-state.json"
    if state.exists():
        return json.loads(state.read_text())
    var_dir.mkdir(parents=True, exist_ok=True)
    env = pages._env(str(var_dir))
    pages._manage(env, "migrate", "--no-input")
    pages._manage(env, "collectstatic", "--no-input")
    out = subprocess.run(
        [sys.executable, __file__, "--seed"], env=env, check=True, capture_output=True, text=True
    )
    keep = ("SECRET_KEY", "CRYPTOGRAPHY_KEY")
    saved = {"env": {k: env[k] for k in keep}, "cookie": out.stdout.strip().splitlines()[-1]}
    state.write_text(json.dumps(saved))
    return saved


def _seed() -> None:
    import django

    django.setup()
    print(pages.seed_data())


def _request(handler, url: str, cookie: str) -> bytes:
    return pages.wsgi_get(handler, url, cookie)


def _measure(args) -> None:
    import cProfile
    import pstats

    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    import keytrade

    handler = WSGIHandler()
    cookie = os.environ["BENCH_COOKIE"]
    print(f"code: {Path(keytrade.__file__).parent.parent}; load average {pages._load()}")
    urls = [args.profile] if args.profile else URLS
    for url in urls:
        _request(handler, url, cookie)  # warm: templates compiled, connection open
        _request(handler, url, cookie)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20):
            _request(handler, args.profile, cookie)
        profile.disable()
        stats = pstats.Stats(profile)
        print(f"{args.profile}: {stats.total_calls / 20:,.0f} calls per request (20 requests)")
        stats.sort_stats(args.sort).print_stats(args.lines)
        if args.callers:
            stats.print_callers(args.callers)
        return
    rows = {}
    for url in urls:
        executed = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            body = _request(handler, url, cookie)
        profile = cProfile.Profile()
        profile.enable()
        _request(handler, url, cookie)
        profile.disable()
        calls = pstats.Stats(profile).total_calls
        rows[url] = {"queries": len(executed), "calls": calls, "bytes": len(body), "cpu": []}
    for _ in range(args.blocks):  # URLs interleaved: a burst of load touches them all alike
        for url in urls:
            started = time.process_time()
            for _ in range(10):
                _request(handler, url, cookie)
            rows[url]["cpu"].append((time.process_time() - started) / 10 * 1000)
    print("| page | CPU ms (fastest) | (median) | queries | calls | bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for url, row in rows.items():
        cpu = sorted(row["cpu"])
        print(
            f"| `{url}` | {cpu[0]:.2f} | {cpu[len(cpu) // 2]:.2f} | {row['queries']} | "
            f"{row['calls']:,} | {row['bytes']:,} |"
        )
    print(f"load average after: {pages._load()}")


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var-dir", type=Path, required=True)
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--profile", help="profile one URL instead of measuring all")
    parser.add_argument("--sort", default="tottime", help="pstats order for --profile")
    parser.add_argument("--lines", type=int, default=40, help="functions shown by --profile")
    parser.add_argument("--callers", help="with --profile: who calls the functions matching this")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    state = _prepare(args.var_dir.resolve())
    env = pages._env(str(args.var_dir.resolve()))
    env.update(state["env"])
    env["BENCH_COOKIE"] = state["cookie"]
    child = [sys.executable, __file__, "--measure", *sys.argv[1:]]
    sys.exit(subprocess.run(child, env=env, cwd=str(ROOT)).returncode)


if __name__ == "__main__":
    if "--seed" in sys.argv:
        _seed()
    elif "--measure" in sys.argv:
        sys.argv.remove("--measure")
        _measure(_arguments())
    else:
        main()
