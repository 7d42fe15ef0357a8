"""Errors as values: a problem has a location and a French message until the CLI prints it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

JsonPath = tuple[str | int, ...]


_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on rather than shows (escape sequences, a carriage return, text
direction overrides): every control character but the tab and the end of line."""


def visible(text: str) -> str:
    """``text`` to print on a terminal: each control character written as its escape
    (``\\x1b``), so that a value (a name in an application) cannot retitle the window, move the
    cursor or hide what follows."""
    return _CONTROLS.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_path(path: JsonPath) -> str:
    """Render a JSON path the way staff read it: ``expenses[2].amount`` (``$`` for the root)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, where it is and how to mend it."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None
    path: JsonPath | None = None
    hint: str | None = None
    excerpt: str | None = None
    cell: str | None = None
    """In a workbook, the sheet and the cell (``Dépenses!D7``), where ``line`` and ``column`` locate
    a text."""
    missing: tuple[str, ...] = ()
    """The keys missing at ``path``, for a problem that says some are (what a form shows beside each
    field); the message names them too. Not part of the JSON form."""

    def location(self) -> str:
        where = self.source
        if self.cell is not None:
            return f"{where}:{self.cell}"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        """``file:line:col: message (à path)``, the offending line quoted, then the hint; in a
        workbook, ``file:Feuille!Cellule: message``."""
        text = f"{self.location()}: {self.message}"
        if self.path is not None and self.cell is None:
            text += f" (à {format_path(self.path)})"
        if self.excerpt is not None:
            excerpt, column = _window(self.excerpt, self.column)
            text += f"\n    {excerpt}"
            if column is not None:
                text += "\n    " + " " * (column - 1) + "^"
        if self.hint:
            text += f"\n  conseil : {self.hint}"
        return visible(text)

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path) if self.path is not None else None,
            "message": self.message,
            "hint": self.hint,
        }
        if self.cell is not None:
            found["cell"] = self.cell
        return found


EXCERPT_WIDTH = 100


def _window(line: str, column: int | None) -> tuple[str, int | None]:
    """At most ``EXCERPT_WIDTH`` characters of a long line, around ``column`` (moved to match)."""
    if len(line) <= EXCERPT_WIDTH:
        return line, column
    start = max(0, min((column or 1) - 1 - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
    shown = line[start:start + EXCERPT_WIDTH]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + EXCERPT_WIDTH < len(line) else ""
    return prefix + shown + suffix, None if column is None else column - start + len(prefix)


class InputError(Exception):
    """Bad input: carries every problem found, each with its location."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(p.render() for p in problems))
        self.problems: tuple[Problem, ...] = tuple(problems)


def raise_if_any(problems: Iterable[Problem]) -> None:
    found = list(problems)
    if found:
        raise InputError(found)


class Refused(NamedTuple):
    """A line that is not a valid application, in a report's records: its number and its problems."""

    line: int
    problems: tuple[Problem, ...]


LIMIT = 50
"""The items a report lists by default (the changed applications of an impact, the refused lines of
a portfolio): the others are counted."""


@dataclass
class Refusals:
    """A report's refused lines: how many, and the first ``limit`` of them."""

    limit: int
    count: int = 0
    first: list[Refused] = field(default_factory=list)

    def add(self, refused: Refused) -> None:
        self.count += 1
        if len(self.first) < self.limit:
            self.first.append(refused)

    def to_dict(self) -> dict[str, object]:
        return {"refused": self.count, "invalid": [{"line": r.line, "problems": [p.to_dict() for p in r.problems]}
                                                   for r in self.first],
                "invalid_not_listed": self.count - len(self.first)}

    def text(self) -> str:
        """The lines refused, each with its first problem, in French (nothing when there is none)."""
        if not self.count:
            return ""
        lines = ["Lignes invalides, non évaluées :"]
        lines.extend(f"  ligne {r.line} : " + r.problems[0].render().replace("\n", "\n    ") for r in self.first)
        if self.count > len(self.first):
            lines.append(f"  … et {self.count - len(self.first)} autre(s).")
        return "\n".join(lines) + "\n"
