"""``guichet convert``: JSON Lines to a workbook and back, losslessly — the applications read back
are those written, and decide the same. Every application is checked by the version that governs
it first: a conversion writes its whole output, or nothing (every problem said, each at its line and
path, or its sheet and cell)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from evaluator.core.application import build_application
from evaluator.reading.parse import Document, json_line_document, json_lines
from evaluator.reading.problems import InputError, JsonPath, Problem
from evaluator.versions.lock import replacing
from evaluator.versions.registry import Registry
from evaluator.workbook.layout import Layout
from evaluator.workbook.reading import Portfolio, Unreadable, document_of
from evaluator.workbook.writing import WorkbookWriter


def to_workbook(registry: Registry, stream: IO[bytes], source: str, target: Path, layout: Layout,
                version: str | None = None) -> int:
    """Write the applications of a JSON Lines stream as the workbook ``target``; their number. An
    application without reference is named by its rank (its line, in a file without blank lines)."""
    writer = WorkbookWriter(layout)
    problems: list[Problem] = []
    keys: dict[str, int] = {}
    with replacing(target) as beside:
        for number, line in json_lines(stream, source):
            try:
                document = json_line_document(line, source, number)
                check(registry, document, version)
            except InputError as error:
                problems.extend(error.problems)
                continue
            key = document.data.get("reference") or str(len(keys) + 1)
            if key in keys:
                problems.append(document.problem(("reference",) if "reference" in document.data else (),
                                                 f"la demande est désignée par « {key} », comme celle de la ligne "
                                                 f"{keys[key]}", _SAME_KEY))
            keys.setdefault(key, number)
            problems.extend(document.problem(path, f"caractère de contrôle (U+{ord(found):04X}) : un classeur ne "
                                                   "peut pas le contenir", "retirez ce caractère invisible")
                            for path, found in _unwritable(document.data, ()))
            if not problems:
                writer.add(key, document.data)
        writer.save(beside)  # (even when it is refused, and removed: its parts closed)
        if problems:
            raise InputError(problems)
    return len(keys)


def write_template(target: Path, layout: Layout) -> None:
    """The workbook without applications, to fill in."""
    with replacing(target) as beside:
        WorkbookWriter(layout).save(beside)


_SAME_KEY = ("dans un classeur, une demande est désignée par sa référence, ou par son rang (1 pour la première) "
             "quand elle n'en a pas : donnez à chaque demande une référence qui lui soit propre")


def to_json_lines(registry: Registry, portfolio: Portfolio, target: Path, version: str | None = None) -> int:
    """Write the applications of a workbook as the JSON Lines file ``target``, one a line; their number."""
    problems: list[Problem] = []
    with replacing(target) as beside, beside.open("wb") as output:
        for entry in portfolio.entries():
            if isinstance(entry, Unreadable):
                problems.extend(entry.problems)
                continue
            try:
                check(registry, document_of(entry, portfolio.source), version)
            except InputError as error:
                problems.extend(error.problems)
                continue
            if not problems:
                output.write(entry.line + b"\n")
        if problems:
            raise InputError(problems)
    return len(portfolio)


def check(registry: Registry, document: Document, version: str | None) -> None:
    """Check an application against the version that governs it (``InputError``, every problem)."""
    build_application(document, registry.checked(registry.governing(document, version)))


def _unwritable(value: Any, path: JsonPath) -> list[tuple[JsonPath, str]]:
    """The texts of ``value`` holding a control character no workbook can hold, and that character."""
    if isinstance(value, str):
        found = ILLEGAL_CHARACTERS_RE.search(value)
        return [(path, found[0])] if found else []
    if isinstance(value, Mapping):
        return [item for key, child in value.items() for item in _unwritable(child, (*path, key))]
    if isinstance(value, list):
        return [item for index, child in enumerate(value) for item in _unwritable(child, (*path, index))]
    return []
