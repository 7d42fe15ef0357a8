"""The formats of an application's values: dates, SIRENs (with their Luhn key) and amounts in
euros, each checked and read as the model holds it. Shared by the fast check of a document
(``validation``), its detailed validation (``detailed``) and the model (``core.application``)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

MAX_AMOUNT = Decimal("1000000000")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def check_date(value: object) -> bool:
    if isinstance(value, str):
        parse_date(value)
    return True


@lru_cache(maxsize=4096)
def parse_date(text: str) -> date:
    """A strict ISO calendar date ``AAAA-MM-JJ``."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"« {show(text)} » n'est pas une date au format AAAA-MM-JJ")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"« {show(text)} » n'est pas une date du calendrier") from None


def check_siren(value: object) -> bool:
    if isinstance(value, str):
        read_siren(value)
    return True


def read_siren(text: str) -> str:
    """A SIREN: nine ASCII digits whose Luhn key holds; ``ValueError`` otherwise."""
    if len(text) != 9 or not text.isascii() or not text.isdigit():  # (ASCII digits are 0 to 9)
        raise ValueError(f"« {show(text)} » n'est pas un SIREN : 9 chiffres attendus")
    if not luhn_valid(text):
        raise ValueError(f"« {show(text)} » n'est pas un SIREN valide : la clé de contrôle (Luhn) est fausse")
    return text


def luhn_valid(digits: str) -> bool:
    """The Luhn check of a SIREN (ASCII digits): every second digit from the right doubled, its
    digits added, then the sum of all a multiple of ten."""
    number, total, doubled = int(digits), 0, False  # (leading zeros add nothing, doubled or not)
    while number:
        digit = number % 10
        number //= 10
        if doubled:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
        doubled = not doubled
    return total % 10 == 0


def check_money(value: object) -> bool:
    if isinstance(value, (int, Decimal, str)) and not isinstance(value, bool):
        parse_money(value)
    return True


def parse_money(value: int | Decimal | float | str) -> Decimal:
    """An amount in euros: finite, not negative, at most two decimals, below the sanity limit. A
    float is the decimal it prints as (``decimal_of``)."""
    if isinstance(value, str):
        return _money_text(value)
    return _amount(decimal_of(value), value)


def decimal_of(value: int | Decimal | float) -> Decimal:
    """A number as a ``Decimal``; a float as the decimal it prints as (``0.1`` is ``Decimal("0.1")``)."""
    if type(value) is not float:  # (a subclass of float may compare as it likes: not a key)
        return Decimal(float.__repr__(value)) if isinstance(value, float) else Decimal(value)
    found = _FLOATS.get(value)
    if found is None:
        found = Decimal(float.__repr__(value))
        if value and value == value:  # (0.0 and -0.0 are one key, and two decimals; NaN is no key)
            if len(_FLOATS) >= _MAX_FLOATS:
                _FLOATS.clear()
            _FLOATS[value] = found
    return found


_FLOATS: dict[float, Decimal] = {}
"""The decimals of the floats read lately (shares and amounts: the same values come again and again;
a float's text and its ``Decimal`` take ten times as long as a look-up), emptied when it holds
``_MAX_FLOATS``: what comes often is soon kept again."""
_MAX_FLOATS = 4096


@lru_cache(maxsize=16384)
def _money_text(value: str) -> Decimal:
    """An amount written as a text. (Cached: the same amounts come again and again in a portfolio,
    and an amount refused by the model is read again by the detailed validation. Numbers are not:
    ``1234.5`` and ``1234.50`` are one key for a cache, and two amounts as written.)"""
    if _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value)
    text = value.strip()
    text = _YAML_SPECIALS.get(text, text)
    if not (_MONEY_TEXT.fullmatch(text) or text in _YAML_SPECIALS.values()):
        raise ValueError(f"« {show(value)} » n'est pas un montant")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"« {show(value)} » n'est pas un montant") from None
    return _amount(amount, value)


def _amount(amount: Decimal, value: int | Decimal | float | str) -> Decimal:
    if not amount.is_finite():
        raise ValueError(f"« {show(value)} » n'est pas un montant fini")
    if amount < 0:
        raise ValueError(f"montant négatif : {show(value)}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"montant {show(value)} supérieur à la limite de {MAX_AMOUNT} €")
    if amount != amount.quantize(_CENT):
        raise ValueError(f"le montant {show(value)} a plus de deux décimales")
    return amount + 0  # -0 is zero


_CENT = Decimal("0.01")
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
"""A decimal written with ASCII digits (an exponent admitted, as in JSON): not ``14_400``, not
full-width digits."""
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,2})?", re.ASCII)
"""An amount written as most are (``14400``, ``1234.5``): finite, not negative, with at most two
decimals and below ``MAX_AMOUNT``, read without the other checks."""
_YAML_SPECIALS = {".nan": "NaN", ".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity"}


def show(value: object) -> str:
    """A value as a message quotes it: JSON's words for ``None`` and the booleans, cut at 60 characters."""
    text = "null" if value is None else ("true" if value is True else "false" if value is False else str(value))
    return text if len(text) <= 60 else text[:57] + "…"
