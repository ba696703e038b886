"""`fixed` formats a Decimal the same through its fast path as through the general one."""

from decimal import Decimal

import pytest

from trading.templatetags.trading_numbers import DASH, fixed

VALUES = [
    "0",
    "-0",
    "0.005",
    "0.015",
    "-1234567.891",
    "20123.450000000000000000",
    "0.000000012345",
    "9999999999.99999999",
    "1E+5",
]


@pytest.mark.parametrize("text", VALUES)
@pytest.mark.parametrize("places", [0, 2, 8, 18])
def test_a_decimal_reads_as_the_same_number_given_as_text(text, places):
    # A str takes the general path (Decimal(str(value))), a Decimal the fast one.
    assert fixed(Decimal(text), places) == fixed(text, places) == fixed(Decimal(text), str(places))


def test_examples():
    assert fixed(Decimal("1234567.891"), 2) == "1,234,567.89"
    assert fixed(Decimal("0.125"), 2) == "0.12"  # half to even
    assert fixed(Decimal("2.5"), 0) == "2"
    assert fixed(Decimal("-0.001"), 2) == "-0.00"
    assert fixed(Decimal("1.5"), 25) == "1.500000000000000000"  # at most 18 places
    assert fixed(Decimal("1.5"), -3) == "2"  # at least none


@pytest.mark.parametrize("value", [None, "", Decimal("NaN"), Decimal("Infinity"), "x"])
def test_what_is_not_a_number_shows_a_dash(value):
    assert fixed(value, 2) == DASH
