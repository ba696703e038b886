"""Client order ids the paper exchange makes up look like Binance's: 22 letters and digits."""

import string
from collections import Counter

from paper.services.orders import random_client_id


def test_a_made_up_client_order_id_is_22_letters_and_digits():
    alphabet = set(string.ascii_letters + string.digits)
    ids = [random_client_id() for _ in range(2000)]
    assert all(len(i) == 22 and set(i) <= alphabet for i in ids)
    assert len(set(ids)) == len(ids)


def test_every_letter_and_digit_is_about_equally_likely():
    counts = Counter("".join(random_client_id() for _ in range(3000)))  # 66,000 characters
    assert set(counts) == set(string.ascii_letters + string.digits)
    # ~1,065 each; a modulo bias (bytes 248-255 kept) would give the first 8 characters ~3%
    # more, which 5-sigma bounds cannot tell apart, but a broken mapping stands out.
    assert min(counts.values()) > 900 and max(counts.values()) < 1250
