"""Container healthcheck probe; standard library only, so it costs no Django start-up.

    python -m keytrade.probe web                   # exit 0 when /healthz answers 200
    python -m keytrade.probe heartbeat --max-age 180
        # exit 0 when a worker ran the beat-scheduled heartbeat within the last 180 seconds

The request carries the first concrete host of ALLOWED_HOSTS, so Django accepts it, and goes
to /healthz, which is exempt from the HTTPS redirect.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def host_header() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip()
        if host and host != "*" and not host.startswith("."):
            return host
    return "localhost"


def fetch_health(url: str, timeout: float) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Host": host_header()})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["web", "heartbeat"])
    parser.add_argument("--url", default="http://127.0.0.1:8000/healthz")
    parser.add_argument("--max-age", type=float, default=180.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        status, body = fetch_health(args.url, args.timeout)
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {args.url}: {exc}", file=sys.stderr)
        return 1
    if args.mode == "web":
        if status != 200:
            print(f"unhealthy: {status} {body.get('checks')}", file=sys.stderr)
            return 1
        return 0
    beat = body.get("worker_heartbeat")
    if not beat or beat.get("age_seconds", args.max_age) >= args.max_age:
        print(f"no worker heartbeat within {args.max_age:.0f}s: {beat}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
