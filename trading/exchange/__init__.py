"""The exchange connector: the only package that imports ccxt.

Use `trading.exchange.connect.client_for_key(key)` to get an ExchangeClient; it returns the
dataclasses in `types` and raises the errors documented in `errors`.
"""
