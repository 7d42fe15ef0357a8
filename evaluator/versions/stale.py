"""Texts a draft left stale: a label, interpretation, reason or condition that still quotes a value
its source version had and the draft changed (« 21 mai 2029 » once the window closes later).

The source of a draft is the version before it in its directory, by number (``policy new`` copies
it, and the policy file does not record it). The two files' data are compared leaf by leaf: every
number and date but those of the header (version, status, effective date, title, source) —
parameters, window dates, rates, bonuses, ceiling, funded months, tranche shares… Each old value is
looked for in the draft's texts in the forms French writes it: a date as ``2029-05-21``, ``21 mai
2029`` or ``21/05/2029``; a number as ``500``, ``1 000``, ``0,40`` or ``0.40``; a share as ``40 %``
(any space, or none). A text that quotes the new value too is taken as deliberate (« de 500 à
300 »); an old value the draft still has elsewhere is looked for only in the texts of its own rule,
since a text elsewhere may quote the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from evaluator.core import french
from evaluator.reading.formats import parse_date
from evaluator.reading.parse import Document, load_document
from evaluator.reading.problems import InputError, JsonPath, Problem
from evaluator.versions.lock import VERSION_NUMBER, version_number

TEXT_KEYS = frozenset({"label", "interpretation", "reason", "condition"})
"""The keys whose values are texts a reader reads."""

_HEADER = frozenset({"id", "version", "status", "effective_from", "title", "source"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACE = "[ \u00a0\u202f]"
_BEFORE = rf"(?<![\w.,§])(?<![0-9]{_SPACE})"
_AFTER = rf"(?![\w]|[.,][0-9]|{_SPACE}[0-9])"

Value = int | Decimal | date


def stale_texts(path: Path) -> list[Problem]:
    """The warnings for the draft at ``path``: each text that quotes a value of its source version
    the draft changed, located at the line where it quotes it. None for a published version, a
    version without a source, or files that do not read (``guichet validate`` reports those)."""
    try:
        new = load_document(path.read_bytes(), str(path))
        source = _source_file(path)
        if source is None or not isinstance(new.data, dict) or new.data.get("status") != "draft":
            return []
        old = load_document(source.read_bytes(), str(source))
    except (OSError, InputError):
        return []
    return _stale(new, old, source.stem)


def _source_file(path: Path) -> Path | None:
    """The version file before ``path``'s version (by number) beside it, if any."""
    if not VERSION_NUMBER.fullmatch(path.stem):
        return None
    earlier = [(version_number(other.stem), other) for other in path.parent.glob("*.yaml")
               if VERSION_NUMBER.fullmatch(other.stem) and version_number(other.stem) < version_number(path.stem)]
    return max(earlier)[1] if earlier else None


def _stale(new: Document, old: Document, old_version: str) -> list[Problem]:
    before, after = dict(_values(old.data, ())), dict(_values(new.data, ()))
    kept = set(after.values())
    texts = list(_texts(new.data, ()))
    warnings = []
    for leaf, was in before.items():
        now = after.get(leaf)
        if now is None or now == was:
            continue
        old_form, new_form = _quoted(was, _not_money(new.data, leaf)), _quoted(now)
        rule = leaf[:-1]
        for at, text in texts:
            if (was in kept and at[:len(rule)] != rule) or not old_form.search(text) or new_form.search(text):
                continue
            warnings.append(_warning(new, at, old_form, leaf, was, now, old_version))
    return sorted(warnings, key=lambda w: (w.line or 0, w.column or 0))


def _values(data: Any, path: JsonPath) -> Iterator[tuple[JsonPath, Value]]:
    """Every number and date of a policy's data, by path, but those of its header."""
    if isinstance(data, dict):
        for key, item in data.items():
            if path or key not in _HEADER:
                yield from _values(item, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _values(item, (*path, index))
    elif isinstance(data, (int, Decimal)) and not isinstance(data, bool):
        yield path, data
    elif isinstance(data, str) and _ISO_DATE.fullmatch(data):
        try:
            yield path, parse_date(data)
        except ValueError:
            return


def _texts(data: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(data, dict):
        for key, item in data.items():
            if key in TEXT_KEYS and isinstance(item, str):
                yield (*path, key), item
            else:
                yield from _texts(item, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _texts(item, (*path, index))


def _not_money(data: dict[str, Any], leaf: JsonPath) -> bool:
    """``leaf`` is the value of a parameter whose unit is not euros: « 500 € » does not quote it."""
    if len(leaf) != 3 or leaf[0] != "parameters" or leaf[2] != "value":
        return False
    parameter = data.get("parameters", {}).get(leaf[1])
    return isinstance(parameter, dict) and parameter.get("unit") != "euros"


def _quoted(value: Value, not_money: bool = False) -> re.Pattern[str]:
    """The forms French writes ``value`` in, as one pattern that does not match inside another
    number (``500`` in ``1 500`` or ``5 000``, ``0,4`` in ``0,45``) — nor, ``not_money``, an amount
    in euros."""
    forms = [re.escape(form).replace(r"\ ", _SPACE) for form in sorted(_forms(value), key=len, reverse=True)]
    if isinstance(value, Decimal) and 0 < value <= 1:
        share = _decimal((value * 100).normalize()).replace(".", ",")
        forms.append(rf"{re.escape(share)}{_SPACE}?%")
    euros = rf"(?!{_SPACE}?€)" if not_money else ""
    return re.compile(rf"{_BEFORE}(?:{'|'.join(forms)}){_AFTER}{euros}")


def _forms(value: Value) -> set[str]:
    if isinstance(value, date):
        days = {french.day(value), f"{value.day} {french.day(value).split(' ', 1)[1]}"}
        return {value.isoformat(), *days, f"{value.day:02d}/{value.month:02d}/{value.year}",
                f"{value.day}/{value.month}/{value.year}"}
    if isinstance(value, int) or value == value.to_integral_value():
        whole = int(value)
        return {str(whole), f"{whole:,}".replace(",", " ")}
    texts = {_decimal(value), _decimal(value.normalize())}
    if (value * 100) % 1 == 0:
        texts.add(f"{value:.2f}")
    return texts | {text.replace(".", ",") for text in texts}


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _warning(document: Document, at: JsonPath, quoted: re.Pattern[str], leaf: JsonPath, was: Value, now: Value,
             old_version: str) -> Problem:
    """The warning for the text at ``at``, located where it quotes the old value."""
    line, column, shown = _where(document, at, quoted)
    name = ".".join(map(str, leaf))
    parameter = leaf[1] if len(leaf) == 3 and leaf[0] == "parameters" and leaf[2] == "value" else None
    hint = (f"écrivez {{{parameter}}} à la place de la valeur : le texte citera toujours celle du paramètre"
            if parameter is not None else
            "mettez le texte à jour ; un texte peut citer un paramètre (section parameters) par {nom}, qui suit "
            "alors sa valeur")
    quoting = f"« {shown} »" if shown else f"la valeur {_show(was)}"
    return Problem(document.source, f"avertissement : ce texte cite encore {quoting}, l'ancienne valeur de {name} "
                                    f"({_show(was)} dans la version {old_version}, {_show(now)} dans celle-ci)",
                   line, column, at, hint, document.lines[line - 1] if 0 < line <= len(document.lines) else None)


def _where(document: Document, at: JsonPath, quoted: re.Pattern[str]) -> tuple[int, int, str | None]:
    """Where the text at ``at`` quotes the value, and how: the first line of the text (from its
    start) or of its continuation lines that does; else where the text starts (a quotation split
    across two lines)."""
    line, column = document.locate(at) or (1, 1)
    lines = document.lines
    key = lines[line - 1].find(f"{at[-1]}:") if 0 < line <= len(lines) else len(lines)
    for number in range(line, len(lines) + 1):
        text = lines[number - 1]
        if number > line and text.strip() and len(text) - len(text.lstrip()) <= key:
            break
        found = quoted.search(text, column - 1 if number == line else 0)
        if found:
            return number, found.start() + 1, found[0]
    return line, column, None


def _show(value: Value) -> str:
    return value.isoformat() if isinstance(value, date) else _decimal(Decimal(value))
