"""The formats of an application's values (``reading/formats.py``): their quick ways (an amount
written plainly, the Luhn sum in integers) give what the rules say, checked against readings
written here from the rules themselves."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator.reading.formats import MAX_AMOUNT, check_siren, decimal_of, luhn_valid, parse_money


def _amount_as_the_rules_say(text: str) -> Decimal | None:
    """An amount written as a text, or ``None`` when it is not one: a decimal in ASCII digits
    (spaces around it allowed), finite, not negative, at most two decimals, at most ``MAX_AMOUNT``."""
    written = text.strip()
    if not written.isascii() or "_" in written or written.lower() in ("nan", "snan", "inf", "infinity"):
        return None
    try:
        amount = Decimal(written)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        return None
    return amount + 0


def _read(text: str) -> Decimal | None:
    try:
        return parse_money(text)
    except ValueError:
        return None


digits = st.text("0123456789", min_size=1, max_size=11)
amount_texts = st.one_of(
    st.builds(lambda units, decimals: f"{units}.{decimals}", digits, st.text("0123456789", max_size=3)),
    digits,
    st.builds(lambda sign, units, exponent: f"{sign}{units}e{exponent}", st.sampled_from(["", "+", "-"]), digits,
              st.integers(-4, 4)),
    st.builds(lambda units: f" {units} ", digits),
    st.builds(lambda units: f"-{units}", digits),
)


@given(amount_texts)
def test_an_amount_text_reads_as_the_rules_say(text: str):
    expected, read = _amount_as_the_rules_say(text), _read(text)
    assert read == expected, text
    assert str(read) == str(expected), text  # the same digits: 12.50 stays 12.50


@pytest.mark.parametrize(("text", "amount"), [
    ("14400", "14400"), ("1234.5", "1234.5"), ("0012.50", "12.50"), ("999999999.99", "999999999.99"),
    ("1000000000", "1000000000"), (" 12.5 ", "12.5"), ("1.000", "1.000"), ("-0", "0"),
])
def test_amounts_written_in_every_way(text: str, amount: str):
    assert str(parse_money(text)) == amount


@pytest.mark.parametrize("text", ["12.345", "1000000000.01", "-1", "1_000", "１２", "NaN", "", "12,5"])
def test_what_is_not_an_amount(text: str):
    with pytest.raises(ValueError):
        parse_money(text)


def _luhn_as_the_rule_says(siren: str) -> bool:
    """From the right, every second digit doubled, the digits of each result added, then the sum of
    all a multiple of ten."""
    total = 0
    for position, digit in enumerate(reversed(siren)):
        value = int(digit) * (2 if position % 2 else 1)
        total += sum(int(figure) for figure in str(value))
    return total % 10 == 0


@given(st.text("0123456789", min_size=9, max_size=9))
def test_the_luhn_key_is_the_rule(siren: str):
    assert luhn_valid(siren) is _luhn_as_the_rule_says(siren)


@pytest.mark.parametrize(("siren", "message"), [
    ("21750001", "9 chiffres attendus"), ("2175000166", "9 chiffres attendus"), ("21750001a", "9 chiffres attendus"),
    ("２１７５０００１６", "9 chiffres attendus"), ("217500017", "clé de contrôle (Luhn) est fausse"),
])
def test_a_siren_that_is_not_one(siren: str, message: str):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_siren(siren)
    assert check_siren("217500016")


@given(st.floats())
def test_a_float_reads_as_the_decimal_it_prints_as_every_time(number: float):
    """``decimal_of`` keeps the decimals of the floats it has read: read twice (the second time
    from what it keeps), a float is the decimal of its text, its sign included (``-0.0``)."""
    for _ in range(2):
        found = decimal_of(number)
        assert str(found) == str(Decimal(repr(number)))


def test_zero_and_minus_zero_stay_two_decimals():
    assert [str(decimal_of(value)) for value in (0.0, -0.0, 0.0, -0.0)] == ["0.0", "-0.0", "0.0", "-0.0"]


def test_a_float_subclass_reads_as_the_float_it_holds():
    """A subclass of float (which may compare and hash as it likes) is read from its value, never
    taken for a float read before."""

    class Odd(float):
        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return hash(0.5)

    assert decimal_of(0.5) == Decimal("0.5")
    assert str(decimal_of(Odd(0.25))) == "0.25"


def test_floats_keep_reading_right_once_many_were_read():
    numbers = [index / 7 for index in range(1, 10_000)]
    assert [decimal_of(number) for number in numbers] == [Decimal(repr(number)) for number in numbers]
    assert [decimal_of(number) for number in numbers[:100]] == [Decimal(repr(number)) for number in numbers[:100]]
