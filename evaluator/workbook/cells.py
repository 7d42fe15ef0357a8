"""A cell read as the JSON value of its column, and a JSON value written as a cell, both exactly.

Numbers are decimals end to end. Excel keeps a number as a binary double, exact to 15 significant
digits, and writes it in the file with up to 17 (``0.1`` may be stored ``0.10000000000000001``): a
numeric cell is read as its 15 significant digits, which give back every decimal of 15 digits or
fewer — what Excel shows (``0.1``, ``1234.56``, ``=0.1*3`` is ``0.3``). Its number format then gives
its scale: ``10800.5`` shown with two decimals (``#,##0.00``) is ``10800.50``, as it was written; a
number with more decimals than its format shows keeps them (``12.345`` shown ``12.35`` is still
``12.345``, an amount the version's schema refuses). A number Excel cannot hold (more than 15
significant digits) is written as text, and read back as the decimal it writes.

Dates are dates (``AAAA-MM-JJ`` or ``JJ/MM/AAAA`` typed as text is read too); booleans are « oui » or
« non » (Excel's TRUE and FALSE too); lists (countries, signatories) are written separated by commas.
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import orjson

from evaluator.reading.parse import NumberTooLarge, read_decimal
from evaluator.workbook.layout import APPLICANT, CO_BENEFICIARY, NO, YES, ColumnKind

Raw = str | bool | Decimal | datetime | None
"""A cell as read, whatever its column: empty, a text, a boolean, a number (a decimal), a date."""

EXCEL_DIGITS = 15
"""The significant digits a number of Excel holds exactly."""
DATE_FORMAT = "DD/MM/YYYY"
_FIRST_DAY = "1900-03-01"
"""The first day a date cell holds as every spreadsheet reads it (Excel counts a 29 February 1900):
an earlier date is written as its text."""
_INTERNED = 64
"""A text of a cell up to this length is kept once however many cells hold it."""

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_FRENCH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", re.ASCII)
_SEPARATORS = re.compile(r"[,;\s]+")
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_BOOLEANS = {YES: True, NO: False, "vrai": True, "faux": False, "true": True, "false": False}
_ROLES = {"demandeur": APPLICANT, "cobeneficiaire": CO_BENEFICIARY}


class Refusal(NamedTuple):
    """A cell its column cannot read: why, and how to mend it."""

    message: str
    hint: str | None = None


class Cell(Protocol):
    """A cell as openpyxl reads it."""

    @property
    def value(self) -> Any: ...

    @property
    def number_format(self) -> str: ...


def raw_value(cell: Cell) -> Raw:
    """A cell's value, as read: a number as a decimal (``cell_decimal``), a time as its text; an
    empty text is an empty cell."""
    value = cell.value
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= _INTERNED else value  # (kept once: codes, oui, references)
    if isinstance(value, (bool, datetime)):
        return value
    if isinstance(value, (int, float)):
        return cell_decimal(value, cell.number_format)
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def cell_decimal(value: int | float, number_format: str) -> Decimal:
    """A number of a cell as a decimal: its 15 significant digits, at the scale its format shows
    when that adds only zeros."""
    found = Decimal(value) if isinstance(value, int) else Decimal(format(value, f".{EXCEL_DIGITS}g"))
    decimals = shown_decimals(number_format)
    exponent = found.as_tuple().exponent
    if decimals is None or not isinstance(exponent, int) or -exponent >= decimals or found.adjusted() + decimals > 26:
        return found
    return found.quantize(Decimal(1).scaleb(-decimals))


@lru_cache(maxsize=256)
def shown_decimals(number_format: str) -> int | None:
    """The decimals a number format shows (``#,##0.00`` two, ``0.0 %`` three), or ``None`` for a
    format that shows no fixed number of them (``General``, a text, a scientific format)."""
    section = _FORMAT_NOISE.sub("", number_format.split(";")[0])
    if "E" in section.upper() or not re.search(r"[0#?]", section):
        return None
    point = section.find(".")
    decimals = 0 if point < 0 else len(section[point + 1:]) - len(section[point + 1:].lstrip("0#?"))
    return decimals + 2 * section.count("%")


def json_value(kind: ColumnKind, raw: Raw) -> Any:
    """The JSON value of a cell of a column of ``kind`` (not empty): what an application file would
    write there, numbers written as they are (``orjson.Fragment``); ``None`` for a cell of blanks
    where no text is expected; a ``Refusal`` when the cell cannot be that."""
    if isinstance(raw, str) and kind not in ("text", "link") and not raw.strip():
        return None
    reader = _READERS.get(kind)
    return _text(raw) if reader is None else reader(raw)


def _text(raw: Raw) -> str:
    if isinstance(raw, bool):
        return YES if raw else NO
    if isinstance(raw, Decimal):
        return f"{raw:f}"
    if isinstance(raw, datetime):
        return _iso(raw)
    return str(raw)


def _iso(moment: datetime) -> str:
    return moment.date().isoformat() if moment.time() == time() else moment.isoformat()


def _link(raw: Raw) -> str:
    return _text(raw).strip()


def _siren(raw: Raw) -> str:
    """A SIREN typed as a number has lost its leading zeros: they are put back."""
    if isinstance(raw, Decimal) and raw == raw.to_integral_value() and 0 <= raw < 10**9:
        return f"{int(raw):09d}"
    return _text(raw).strip() if isinstance(raw, str) else _text(raw)


def _sirens(raw: Raw) -> list[str]:
    return [_siren(raw)] if not isinstance(raw, str) else _items(raw)


def _items(raw: Raw) -> list[str]:
    return [item for item in _SEPARATORS.split(_text(raw)) if item]


def _boolean(raw: Raw) -> bool | Refusal:
    if isinstance(raw, bool):
        return raw
    found = _BOOLEANS.get(_text(raw).strip().casefold())
    return found if found is not None else Refusal(f"« {_text(raw)} » n'est ni « oui » ni « non »",
                                                   "choisissez oui ou non dans la liste")


def _integer(raw: Raw) -> int | Refusal:
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    return Refusal(f"« {_text(raw)} » n'est pas un nombre entier", "saisissez un nombre sans décimale")


def _number(raw: Raw) -> orjson.Fragment | Refusal:
    found = _decimal(raw)
    if found is None:
        return Refusal(f"« {_text(raw)} » n'est pas un nombre",
                       "saisissez un nombre (une part s'écrit comme une fraction : 0,45 pour 45 %)")
    return orjson.Fragment(f"{found:f}".encode())


def _money(raw: Raw) -> str | Refusal:
    """An amount as the decimal text it is (its format said by the version's schema, as in an
    application file: « 1 250,50 € » typed as text is refused with how to write it)."""
    if isinstance(raw, (bool, datetime)):
        return Refusal(f"« {_text(raw)} » n'est pas un montant", "saisissez un montant en euros, par exemple 1250,50")
    return _text(raw).strip()


def _decimal(raw: Raw) -> Decimal | None:
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
        try:
            return read_decimal(raw.strip())
        except NumberTooLarge:
            return None
    return None


def _date(raw: Raw) -> str | Refusal:
    if isinstance(raw, datetime):
        return _iso(raw)
    text = _text(raw).strip()
    if isinstance(raw, str) and _ISO_DATE.fullmatch(text):
        return text  # (the version's schema says whether it is a date of the calendar)
    french = _FRENCH_DATE.fullmatch(text) if isinstance(raw, str) else None
    if french is not None:
        try:
            return date(int(french[3]), int(french[2]), int(french[1])).isoformat()
        except ValueError:
            return Refusal(f"« {text} » n'est pas une date du calendrier")
    return Refusal(f"« {text} » n'est pas une date", "saisissez une date, par exemple 10/06/2026")


def _role(raw: Raw) -> str | Refusal:
    text = _text(raw).strip()
    found = _ROLES.get(text.casefold().replace("-", "").replace(" ", "").replace("é", "e"))
    return found if found is not None else Refusal(f"rôle « {text} » inconnu : « {APPLICANT} » ou "
                                                   f"« {CO_BENEFICIARY} » attendu", "choisissez le rôle dans la liste")


_READERS: dict[str, Any] = {
    "siren": _siren, "sirens": _sirens, "countries": _items, "boolean": _boolean, "integer": _integer,
    "number": _number, "share": _number, "money": _money, "date": _date, "role": _role, "link": _link}
"""How a column of each kind reads a cell (a text column keeps it as text)."""


def cell_value(kind: ColumnKind, value: Any) -> tuple[Any, str | None]:
    """What a cell of a column of ``kind`` holds for the JSON value ``value`` of an application
    (valid for its version), and its number format (``None``: the default): a date as a date, an
    amount or a number as a number at its scale, a boolean as « oui » or « non », a list joined by
    commas, anything else as the text or number it is."""
    if isinstance(value, bool):
        return YES if value else NO, None
    if isinstance(value, list):
        return ", ".join(map(str, value)), None
    if kind == "date" and isinstance(value, str) and _ISO_DATE.fullmatch(value) and value >= _FIRST_DAY:
        return date.fromisoformat(value), DATE_FORMAT
    if kind in ("money", "number", "share") and not isinstance(value, bool):
        found = value if isinstance(value, Decimal) else read_decimal(repr(value) if isinstance(value, float)
                                                                         else str(value))
        return _number_cell(found, kind == "money")
    if isinstance(value, int) and abs(value) >= 10**EXCEL_DIGITS:
        return str(value), None
    return value, None


def _number_cell(value: Decimal, money: bool) -> tuple[Any, str | None]:
    """A decimal as a number whose format shows its scale, or as its text when Excel cannot hold it."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or len(value.as_tuple().digits) > EXCEL_DIGITS:
        return f"{value:f}", None
    decimals = max(0, -exponent)
    shown = "." + "0" * decimals if decimals else ""
    return value, ("#,##0" if money else "0") + shown
