"""manage.py download_candles EXCHANGE SYMBOL TIMEFRAME --days N: fill the candle store."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from trading.exchange.candles import PAGE_LIMIT, timeframe_ms
from trading.exchange.errors import ExchangeError
from trading.exchange.types import to_ms
from trading.services.candle_downloads import candles_download
from trading.strategies.params import TIMEFRAMES


class Command(BaseCommand):
    help = (
        "Download the last N days of candles of one market into the candle store, resuming "
        "from what is stored. EXCHANGE is a ccxt id, or `paper` (PAPER_EXCHANGE_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("exchange")
        parser.add_argument("symbol", help="BASE/QUOTE, e.g. BTC/USDT")
        parser.add_argument("timeframe", choices=TIMEFRAMES)
        parser.add_argument("--days", type=float, default=30, help="how far back (default 30)")
        parser.add_argument("--page-size", type=int, default=PAGE_LIMIT, help="candles a request")

    def handle(self, *args, exchange, symbol, timeframe, days, page_size, **options):
        if days <= 0 or page_size <= 0:
            raise CommandError("--days and --page-size must be positive.")
        until = to_ms(timezone.now())
        step = timeframe_ms(timeframe)
        # From the start of the bar N days ago, so "--days 2" of 1h candles is 48 of them.
        since = (until - int(days * 86_400_000)) // step * step
        shown = {"percent": -1}

        def progress(done: int, total: int) -> None:
            percent = 100 * done // total
            if percent // 10 != shown["percent"] // 10:
                shown["percent"] = percent
                self.stderr.write(f"{percent}%")

        try:
            report = candles_download(
                exchange=exchange,
                symbol=symbol.upper(),
                timeframe=timeframe,
                since_ms=since,
                until_ms=until,
                limit=page_size,
                progress=progress,
            )
        except ExchangeError as exc:
            raise CommandError(f"{exc.user_message} ({type(exc).__name__})") from None
        gaps = ", ".join(f"{count} bars from {start}" for start, count in report.gaps) or "none"
        self.stdout.write(
            f"{exchange} {symbol.upper()} {timeframe}: {report.pages} requests, "
            f"{report.fetched} candles received, {report.added} new, "
            f"{report.duplicates} already stored; {report.total} stored in all; gaps: {gaps}"
        )
