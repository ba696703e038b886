"""The paper exchange: a built-in exchange that speaks Binance Spot's REST dialect.

Mounted at /paper/. keytrade reaches it only over HTTP through ccxt's binance class with
`urls['api']` pointed at PAPER_EXCHANGE_URL (see docs/binance-spot-wire.md §1.1 and
tests/paper_fixtures.py `binance_for`). Modules by job:

- market.py   deterministic random walk, candles, synthetic book (pure, no DB)
- feed.py     market data at one instant: the simulator plus pinned prices
- matching.py pure matching rules: walking the book, resting-order liquidity
- auth.py     X-MBX-APIKEY, HMAC over the raw query+body, recvWindow, IP whitelist
- api.py      the shared endpoint plumbing: faults, rate limits, auth, JSON
- services/   accounts, keys, orders, cancelReplace, resting fills, ledger, test controls
- views/      Binance endpoints (api_*) and the web pages
"""
