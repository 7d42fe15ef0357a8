"""How numbers, amounts, rates and dates read in French."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre")


def number(value: int | Decimal) -> str:
    """``1234567.5`` → ``1 234 567,5``."""
    return _french(format(value, ",f" if isinstance(value, Decimal) else ","))


def count(value: int, one: str, many: str) -> str:
    """``count(1, "ligne", "lignes")`` → ``1 ligne``; ``12 345 lignes``."""
    return f"{number(value)} {one if value <= 1 else many}"


def euros(value: Decimal) -> str:
    """``4800`` → ``4 800,00 €``."""
    return f"{_french(format(value, ',.2f'))} €"


def _french(text: str) -> str:
    """English digit grouping to French: ``1,234.5`` → ``1 234,5``."""
    return text.replace(",", " ").replace(".", ",")


@lru_cache(maxsize=1024)  # a few rates, written in every decision; the text depends on the value alone
def percent(value: Decimal) -> str:
    """A fraction as a percentage: ``0.40`` → ``40 %``, ``0.125`` → ``12,5 %``."""
    scaled = (value * 100).normalize()
    if scaled == scaled.to_integral_value():
        scaled = scaled.quantize(Decimal(1))
    return f"{number(scaled)} %"


@lru_cache(maxsize=4096)
def day(value: date) -> str:
    """``2026-05-22`` → ``22 mai 2026``."""
    first = "1er" if value.day == 1 else str(value.day)
    return f"{first} {_MONTHS[value.month - 1]} {value.year}"


OUTCOMES = {"eligible": "éligible", "review": "examen au cas par cas", "ineligible": "non éligible"}
"""The outcome of a beneficiary category, in words."""

GROUPS = {"licence": "licences", "deployment": "déploiement", "excluded": "exclue"}
"""The group of an expense kind, in words."""

FIELD_TYPES = {"boolean": "oui ou non", "integer": "nombre entier", "number": "nombre", "share": "part (0 à 1)",
               "money": "montant en euros", "date": "date", "text": "texte", "country": "pays (code ISO)",
               "countries": "liste de pays (codes ISO)"}
"""The type of a declared field, in words."""

OPERATIONS = {"count": "nombre", "sum": "somme", "min": "plus petit", "max": "plus grand", "any": "au moins un",
              "all": "tous", "distinct": "valeurs distinctes"}
"""An aggregate's operation, in words."""

ROUNDING_WORDS = {"down": "au centime inférieur", "up": "au centime supérieur", "half_up": "au plus proche",
                  "half_even": "au plus proche, au pair"}


def quantity(value: object, unit: str | None) -> str:
    """A value in the unit a policy parameter or a fact declares."""
    if isinstance(value, date):
        return day(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (int, Decimal)):
        if unit == "fraction":
            return percent(Decimal(value))
        if unit == "euros":
            return euros(Decimal(value))
        if unit == "months":
            return f"{number(value)} mois"
        return number(value)
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) if value else "aucun"
    return str(value)


_MONTH_NAMES = "|".join(_MONTHS)
_UNBREAKABLE = re.compile(rf"(\d|1er|{_MONTH_NAMES}) "
                          rf"(?=\d{{3}}\b|[€%]|mois\b|licences?\b|(?:{_MONTH_NAMES})\b|\d{{4}}\b)")


def unbreakable(text: str) -> str:
    """``text`` with no line break inside an amount, a rate or a date: the spaces of « 12 345,50 € »,
    « 40 % » and « 1er juillet 2027 » become non-breaking (for web pages and printed documents)."""
    return _UNBREAKABLE.sub("\\1\u00a0", text)
