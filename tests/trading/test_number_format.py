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
    "12345678901.5",
    "-98765432109876543210.25",
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


def test_large_amounts_keep_every_digit_at_any_precision():
    # A quantity of a low-priced token, or a total in a small quote unit, can reach 1e10 and more.
    assert fixed(Decimal("12345678901.5"), 18) == "12,345,678,901.500000000000000000"
    assert fixed(Decimal("98765432109876543210"), 8) == "98,765,432,109,876,543,210.00000000"


@pytest.mark.parametrize("value", [None, "", Decimal("NaN"), Decimal("Infinity"), "x"])
def test_what_is_not_a_number_shows_a_dash(value):
    assert fixed(value, 2) == DASH
