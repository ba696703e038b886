"""Binance's error answers: HTTP status, numeric code and the exact message ccxt matches on."""


class PaperError(Exception):
    """A refusal the API turns into Binance's JSON error body."""

    def __init__(self, code: int, msg: str, status: int = 400, data: dict | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status
        self.data = data

    def body(self) -> dict:
        body = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body

    # --- request format ---------------------------------------------------------------------

    @classmethod
    def mandatory(cls, name: str):
        return cls(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )

    @classmethod
    def illegal(cls, name: str):
        return cls(
            -1100,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )

    @classmethod
    def invalid_symbol(cls):
        return cls(-1121, "Invalid symbol.")

    @classmethod
    def invalid_interval(cls):
        return cls(-1120, "Invalid interval.")

    @classmethod
    def invalid_value(cls, name: str):
        return cls(-1130, f"Data sent for parameter '{name}' is not valid.")

    # --- authentication -----------------------------------------------------------------------

    @classmethod
    def key_format(cls):
        return cls(-2014, "API-key format invalid.", status=401)

    @classmethod
    def rejected_key(cls):
        """Unknown, disabled or expired key, IP not whitelisted, or missing permission."""
        return cls(-2015, "Invalid API-key, IP, or permissions for action.", status=401)

    @classmethod
    def bad_signature(cls):
        return cls(-1022, "Signature for this request is not valid.")

    @classmethod
    def outside_recv_window(cls):
        return cls(-1021, "Timestamp for this request is outside of the recvWindow.")

    @classmethod
    def ahead_of_server(cls):
        return cls(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")

    @classmethod
    def recv_window_too_large(cls):
        return cls(-1131, "recvWindow must be less than 60000")

    # --- orders -------------------------------------------------------------------------------

    @classmethod
    def filter_failure(cls, name: str):
        return cls(-1013, f"Filter failure: {name}")

    @classmethod
    def insufficient_balance(cls):
        return cls(-2010, "Account has insufficient balance for requested action.")

    @classmethod
    def duplicate_order(cls):
        return cls(-2010, "Duplicate order sent.")

    @classmethod
    def would_take(cls):
        return cls(-2010, "Order would immediately match and take.")

    @classmethod
    def order_not_found(cls):
        return cls(-2013, "Order does not exist.")

    @classmethod
    def unknown_order(cls):
        return cls(-2011, "Unknown order sent.")

    # --- limits and outages -------------------------------------------------------------------

    @classmethod
    def too_much_weight(cls, limit: int, retry_after: int):
        error = cls(
            -1003,
            f"Too much request weight used; current limit is {limit} request weight per "
            "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
            status=429,
        )
        error.retry_after = retry_after
        return error

    @classmethod
    def too_many_orders(cls, limit: int, retry_after: int):
        error = cls(
            -1015, f"Too many new orders; current limit is {limit} orders per 10 SECOND.", 429
        )
        error.retry_after = retry_after
        return error

    @classmethod
    def internal(cls):
        return cls(-1000, "An unknown error occurred while processing the request.", status=500)

    @classmethod
    def unavailable(cls):
        return cls(-1001, "Internal error; unable to process your request. Please try again.", 503)

    @classmethod
    def unknown_outcome(cls):
        return cls(
            -1006,
            "An unexpected response was received from the message bus. Execution status unknown.",
            status=503,
        )

    retry_after: int | None = None
