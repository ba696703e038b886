"""Request parameters are read exactly as `urllib.parse.parse_qsl` reads them."""

import random
from urllib.parse import parse_qsl

from paper.api import _pairs


def test_parameters_split_as_parse_qsl_splits_them():
    ccxt_body = (
        "symbol=BTCUSDT&side=BUY&newClientOrderId=x-R4BD3S82a1b2c3&newOrderRespType=FULL"
        "&type=LIMIT&quantity=0.001&price=10000&timeInForce=GTC&timestamp=1795456156801"
        "&recvWindow=10000&signature=" + "ab" * 32
    )
    samples = [
        ccxt_body,
        "",
        "&",
        "a",
        "a=",
        "=b",
        "a=b=c",
        "a&&b=1&",
        "a=1&a=2",
        "q=x%20y+z&%C3%A9=%2B",  # percent-escapes and "+": parse_qsl's own path
        "bad=%zz&x=é",
    ]
    rng = random.Random(7)
    alphabet = "ab=&%+2F0x-é"
    samples += ["".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(5000)]
    for raw in samples:
        assert _pairs(raw) == parse_qsl(raw, keep_blank_values=True), raw
