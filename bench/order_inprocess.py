"""The order path's CPU per order in process: what machine load changes least.

Same setup as bench/order_path.py (the paper exchange under gunicorn with its own database,
SQLite and the filesystem broker here), then N orders: a bare ccxt create_order, order_place,
order_submit, each timed with time.process_time(). Prints the p50 of each, the statements one
order runs, and with --profile the Python function calls per order (cProfile; load does not
change it). To compare two trees, run this script from each, alternately.
Run: .venv/bin/python bench/order_inprocess.py [--orders 150] [--profile]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import order_path as bench  # noqa: E402


def one(user, key, bare, i: int) -> tuple[float, float, float]:
    from trading.services.orders import order_place
    from trading.services.submission import order_submit

    price = 30000 + (i % 500)
    c0 = time.process_time()
    bare.create_order(
        "BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": f"b{i}x{secrets.token_hex(4)}"}
    )
    c1 = time.process_time()
    intent = order_place(
        user=user,
        key=key,
        symbol="BTC/USDT",
        side="buy",
        type="limit",
        amount="0.001",
        price=str(price),
    )
    c2 = time.process_time()
    order_submit(intent_id=intent.pk, worker="bench")
    c3 = time.process_time()
    return c1 - c0, c2 - c1, c3 - c2


def measure(user, key, bare, orders: int, profile: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(20):  # warm-up: connections, markets, caches
        one(user, key, bare, i)
    with CaptureQueriesContext(connection) as queries:
        one(user, key, bare, 20)
    rows = [one(user, key, bare, 21 + i) for i in range(orders)]
    b, p, s = (statistics.median(column) * 1000 for column in zip(*rows, strict=True))
    print(f"CPU ms per order, p50 of {orders}: bare ccxt {b:.2f}, order_place {p:.2f},")
    print(f"  order_submit {s:.2f}; keytrade's overhead over bare ccxt {p + s - b:.2f}")
    print(f"statements per order (BEGIN/COMMIT included): {len(queries.captured_queries)}")
    if profile:
        import cProfile
        import pstats

        from trading.services.orders import order_place
        from trading.services.submission import order_submit

        profiler = cProfile.Profile(time.process_time)
        for i in range(orders):
            price = str(30000 + i % 500)
            profiler.enable()
            intent = order_place(
                user=user, key=key, symbol="BTC/USDT", side="buy", type="limit",
                amount="0.001", price=price,
            )  # fmt: skip
            order_submit(intent_id=intent.pk, worker="bench")
            profiler.disable()
        calls = pstats.Stats(profiler).total_calls / orders
        print(f"Python function calls per order (place + submit, ccxt included): {calls:,.0f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with bench.stack() as (user, key, bare):
        measure(user, key, bare, args.orders, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
