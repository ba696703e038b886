"""CPU cost of the paper exchange's signed order requests, in process (no HTTP, no ccxt).

Builds a throw-away SQLite database (as bench/paper_exchange.py does), creates a key, then
calls Django's WSGI handler directly with the exact requests ccxt sends for
`create_order(limit buy)` (signed POST /api/v3/order, urlencoded body) and `cancel_order`
(signed DELETE /api/v3/order), and a public GET /api/v3/ping. Reports CPU ms per request
(`time.process_time()`, best of several batches: load on the machine barely moves it) and
the SQL statements per request; `--profile` prints the top of a cProfile of place+cancel.

    .venv/bin/python bench/paper_inprocess.py [--pairs 300] [--batches 8] [--profile]
        [--history 20000]

`--history N` first gives the account N closed orders (as a long-running account has), so
a statement that reads the account's whole order history shows up as a slower request.
"""

import argparse
import cProfile
import hashlib
import hmac
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _environ(method: str, path: str, query: str = "", body: bytes = b"", headers=None) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(body))
    environ.update(headers or {})
    return environ


class Client:
    """Signs requests as ccxt's binance does (wire doc §2) and calls the WSGI app."""

    def __init__(self, app, api_key: str, secret: str):
        self.app, self.api_key, self.secret = app, api_key, secret
        self.statuses: list[str] = []

    def _sign(self, params: dict) -> str:
        query = urlencode({**params, "timestamp": int(time.time() * 1000), "recvWindow": 10000})
        signature = hmac.new(self.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        return f"{query}&signature={signature}"

    def call(self, environ: dict) -> dict:
        chunks = []
        result = self.app(environ, lambda status, headers: self.statuses.append(status))
        chunks.extend(result)
        if hasattr(result, "close"):
            result.close()
        return json.loads(b"".join(chunks))

    def place(self) -> dict:
        body = self._sign(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "newClientOrderId": "x-" + secrets.token_hex(8),
                "newOrderRespType": "FULL",
                "type": "LIMIT",
                "quantity": "0.001",
                "price": "10000",
                "timeInForce": "GTC",
            }
        ).encode()
        headers = {"HTTP_X_MBX_APIKEY": self.api_key}
        return self.call(_environ("POST", "/paper/api/v3/order", body=body, headers=headers))

    def cancel(self, order_id: int) -> dict:
        query = self._sign({"symbol": "BTCUSDT", "orderId": order_id})
        headers = {"HTTP_X_MBX_APIKEY": self.api_key}
        return self.call(_environ("DELETE", "/paper/api/v3/order", query=query, headers=headers))

    def ping(self) -> dict:
        return self.call(_environ("GET", "/paper/api/v3/ping"))

    def pair(self) -> None:
        order = self.place()
        canceled = self.cancel(order["orderId"])
        if canceled.get("status") != "CANCELED":
            raise SystemExit(f"unexpected answers: {order} {canceled}")


def seed_history(api_key: str, count: int) -> None:
    """Give the key's account `count` canceled orders, spread over a few symbols."""
    from paper.models import PaperApiKey, PaperOrder

    account_id = PaperApiKey.objects.get(api_key=api_key).account_id
    symbols = ["BTCUSDT", "ETHUSDT", "ETHBTC", "SOLUSDT"]
    orders = [
        PaperOrder(
            account_id=account_id,
            symbol=symbols[i % len(symbols)],
            client_order_id=f"history-{i}",
            side="BUY",
            type="LIMIT",
            time_in_force="GTC",
            price=1,
            orig_qty=1,
            status=PaperOrder.Status.CANCELED,
            created_ms=i,
            updated_ms=i,
        )
        for i in range(count)
    ]
    PaperOrder.objects.bulk_create(orders, batch_size=2000)
    print(f"account history: {count} canceled orders")


def best_ms(func, count: int, batches: int) -> float:
    """CPU ms per call: the best of `batches` batches of `count` calls."""
    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(count):
            func()
        best = min(best, (time.process_time() - started) / count)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300, help="place+cancel pairs per batch")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the pairs")
    parser.add_argument("--history", type=int, default=0, help="closed orders to seed first")
    args = parser.parse_args()
    from paper_exchange import prepare, server_env

    with tempfile.TemporaryDirectory(prefix="paper-inprocess-") as tmp:
        env = server_env(Path(tmp), None)
        api_key, secret = prepare(env, 1)[0]
        os.environ.update(env)
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application
        from django.db import connection

        client = Client(get_wsgi_application(), api_key, secret)
        if args.history:
            seed_history(api_key, args.history)
        for _ in range(50):  # warm up: imports, caches, connection
            client.pair()
            client.ping()
        place_queries, cancel_queries = [], []

        def counted(into):
            def wrapper(execute, sql, params, many, context):
                into.append(sql)
                return execute(sql, params, many, context)

            return connection.execute_wrapper(wrapper)

        with counted(place_queries):
            order = client.place()
        with counted(cancel_queries):
            client.cancel(order["orderId"])
        pair = best_ms(client.pair, args.pairs, args.batches)
        ping = best_ms(client.ping, args.pairs, args.batches)
        print(f"CPU per request, best of {args.batches} x {args.pairs}, in process:")
        print(f"  place + cancel pair  {pair:6.2f} ms  (signed request: {pair / 2:.2f} ms)")
        print(f"  ping                 {ping:6.2f} ms")
        print(
            f"  SQL statements: place {len(place_queries)}, cancel {len(cancel_queries)}"
            " (BEGIN included, COMMIT not)"
        )
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.pairs):
            client.pair()
        profiler.disable()
        calls = pstats.Stats(profiler).total_calls / args.pairs / 2
        print(f"  Python function calls per signed request: {calls:.0f} (cProfile)")
        if args.profile:
            for sort in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(45)
                print(out.getvalue())
        if any(not s.startswith("200") for s in client.statuses):
            raise SystemExit("a request did not answer 200")


if __name__ == "__main__":
    main()
