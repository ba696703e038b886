"""manage.py paper_control …: the paper exchange's test controls from a shell."""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from paper.clock import clock_read
from paper.feed import Feed
from paper.market import SYMBOLS
from paper.models import Fault, PriceAnchor
from paper.services import controls as svc


class Command(BaseCommand):
    help = "Freeze/advance the simulated clock, set prices, inject faults (test settings only)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="clock, prices, pinned prices and faults")
        sub.add_parser("freeze", help="stop the market clock now")
        sub.add_parser("resume", help="let a frozen clock run again")
        sub.add_parser("advance").add_argument("seconds", type=float)
        sub.add_parser("skew", help="shift the server clock (ms)").add_argument("ms", type=int)
        price = sub.add_parser("price", help="pin a price now, or move to it over --minutes")
        price.add_argument("symbol")
        price.add_argument("price")
        price.add_argument("--minutes", type=int)
        path = sub.add_parser("path", help='prices along a path: JSON [[minutes, "price"], ...]')
        path.add_argument("symbol")
        path.add_argument("points")
        fault = sub.add_parser("fault", help="inject a fault")
        fault.add_argument("kind", choices=Fault.Kind.values)
        fault.add_argument("--endpoint", default="", help="e.g. api/v3/order (default: all)")
        fault.add_argument("--method", default="")
        fault.add_argument("--value", type=int, default=0, help="ms, or seconds for rate_limit")
        fault.add_argument("--count", type=int, help="number of hits (default: until cleared)")
        sub.add_parser("clear-faults")
        sub.add_parser("clear-prices")
        sub.add_parser("reset", help="real time, no skew, no pinned prices, no faults")

    def handle(self, *args, **options):
        if not settings.PAPER_TEST_CONTROLS:
            raise CommandError("Test controls are off (PAPER_TEST_CONTROLS).")
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"_{action}")(options)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        if action != "status":
            self._status(options)

    def _status(self, options):
        now = clock_read()
        state = "frozen" if now.frozen else "running"
        self.stdout.write(f"market {now.market_ms} ({state})  server {now.server_ms}")
        for symbol in SYMBOLS:
            self.stdout.write(f"  {symbol:<8} {Feed.load(symbol, now).price()}")
        for anchor in PriceAnchor.objects.order_by("-minute")[:5]:
            self.stdout.write(f"  pinned {anchor}")
        for fault in Fault.objects.all():
            self.stdout.write(f"  fault {fault} remaining={fault.remaining}")

    def _freeze(self, options):
        svc.clock_freeze()

    def _resume(self, options):
        svc.clock_resume()

    def _advance(self, options):
        svc.clock_advance(seconds=options["seconds"])

    def _skew(self, options):
        svc.clock_skew(ms=options["ms"])

    def _price(self, options):
        if options["minutes"]:
            svc.price_move(
                symbol=options["symbol"], price=options["price"], minutes=options["minutes"]
            )
        else:
            svc.price_set(symbol=options["symbol"], price=options["price"])

    def _path(self, options):
        svc.price_path(symbol=options["symbol"], points=json.loads(options["points"]))

    def _fault(self, options):
        svc.fault_add(
            kind=options["kind"],
            endpoint=options["endpoint"],
            method=options["method"],
            value=options["value"],
            count=options["count"],
        )

    def _clear_faults(self, options):
        svc.faults_clear()

    def _clear_prices(self, options):
        svc.prices_clear()

    def _reset(self, options):
        svc.controls_reset()
