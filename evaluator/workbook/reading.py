"""Reading a portfolio workbook (``layout``): its sheets checked whole first — their keys, each row's
application — then its applications one at a time, each as the JSON line an application file would
hold (``cells.json_value``), with the cell of each of its values: a problem the version's schema or
rules find in it is then located ``Feuille!Cellule`` (``PlacedDocument``), with the usual French
message and hint.

What stops the whole workbook (``InputError``, nothing decided): a file that is no workbook, a sheet
missing, a column whose key is unknown or repeated, a row of « Bénéficiaires », « Dépenses » or
« Pièces » naming no application, two applications with the same key. What refuses one application
only (``Unreadable``, the others go on): a cell its column cannot read (« peut-être » for oui or non),
an application without applicant, or with two.

The rows are kept in memory while the applications are read (a workbook holds at most 1,048,576 rows
a sheet); its parts are checked for their unpacked size first (``MAX_UNPACKED``), so that a small
archive cannot unpack to gigabytes.
"""

from __future__ import annotations

import difflib
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from evaluator.core.application import accepted_line
from evaluator.reading.files import open_regular
from evaluator.reading.parse import Document, nearest
from evaluator.reading.problems import InputError, JsonPath, Problem
from evaluator.workbook.cells import Cell, Raw, Refusal, json_value, raw_value
from evaluator.workbook.layout import (
    APPLICANT,
    APPLICATIONS,
    DOCUMENTS,
    ENTITIES,
    EXPENSES,
    LINK,
    ROLE,
    Column,
    Layout,
    Sheet,
)

MAX_UNPACKED = 512 * 1024 * 1024
"""The most the parts of a workbook may unpack to, in bytes (a portfolio of 10,000 applications
takes about 20 MB)."""
_HEADER_ROWS = 2
_XLS = b"\xd0\xcf\x11\xe0"
_SAVE_AS = "enregistrez-le dans Excel au format « Classeur Excel (.xlsx) »"

Row = tuple[int, tuple[Raw, ...]]
"""A row of a sheet: its number, and the value of each column of its table."""


@dataclass(frozen=True)
class Table:
    """A sheet as read: the columns of the layout it has (each with its place in a row, in the
    layout's order) and its rows that are not empty."""

    sheet: Sheet
    columns: tuple[tuple[Column, int], ...]
    rows: tuple[Row, ...]

    def position(self, key: str) -> int | None:
        """Where the column ``key`` stands among ``columns``."""
        return next((index for index, (column, _) in enumerate(self.columns) if column.key == key), None)

    def cell(self, column: int | None, row: int) -> str:
        """``Feuille!Cellule`` of a row, in a column (its place in the sheet), or its first one."""
        return _cell(self.sheet.name, (column or 0) + 1, row)


@dataclass(frozen=True)
class Assembled:
    """An application read from the workbook: its rank, its JSON line, the cell of each value."""

    number: int
    line: bytes
    cells: Mapping[JsonPath, str]


@dataclass(frozen=True)
class Unreadable:
    """An application whose cells cannot be read: its rank, and why."""

    number: int
    problems: tuple[Problem, ...]


Entry = Assembled | Unreadable


@dataclass
class PlacedDocument(Document):
    """An application read from a workbook: a problem at a JSON path is located at its cell (or
    the cell of its nearest ancestor: the row of an expense line, of the application)."""

    cells: Mapping[JsonPath, str] = field(default_factory=dict)

    def problem(self, path: JsonPath, message: str, hint: str | None = None, missing: tuple[str, ...] = ()) -> Problem:
        return Problem(self.source, message, path=path, hint=hint, cell=self.place(path), missing=missing)

    def place(self, path: JsonPath) -> str | None:
        return nearest(self.cells, path)


def document_of(entry: Assembled, source: str) -> PlacedDocument:
    """The document of an application read from a workbook: its JSON line read as a batch reads a
    line (``accepted_line``: the same application, the same decision), its problems located at its
    cells."""
    document = accepted_line(entry.line, source, entry.number)
    assert document is not None, "an application's line is never blank"
    return placed(document, entry.cells)


def placed(document: Document, cells: Mapping[JsonPath, str]) -> PlacedDocument:
    """``document`` (read from an application's JSON line), its problems located at ``cells``."""
    detailed = document.detailed
    again = (lambda: placed(detailed(), cells)) if detailed is not None else None
    return PlacedDocument(document.source, document.data, document.lines, document.locations, document.plain_text,
                          document.problems, again, cells)


@dataclass(frozen=True)
class Portfolio:
    """A workbook of applications, checked: its applications in order, each with its key."""

    source: str
    tables: Mapping[str, Table]
    keys: tuple[str, ...]
    children: Mapping[str, Mapping[str, tuple[Row, ...]]]
    """The rows of « Bénéficiaires », « Dépenses » and « Pièces », by sheet and application key."""

    def __len__(self) -> int:
        return len(self.keys)

    def entries(self) -> Iterator[Entry]:
        """Each application, in the order of « Demandes », numbered from 1."""
        applications = self.tables[APPLICATIONS]
        for number, (row, key) in enumerate(zip(applications.rows, self.keys, strict=True), start=1):
            yield _Assembly(self.source, self.tables).application(
                number, row, *(self.children[name].get(key, ()) for name in (ENTITIES, EXPENSES, DOCUMENTS)))


def read_workbook(path: Path, source: str, layout: Layout) -> Portfolio:
    """The portfolio of the workbook at ``path`` (named ``source``), its sheets checked whole
    (``InputError`` with every problem found)."""
    with open_regular(path, source) as file:
        return workbook_from(file, source, layout)


def workbook_from(file: IO[bytes], source: str, layout: Layout) -> Portfolio:
    """The portfolio of a workbook read from ``file`` (a file, or the bytes of an upload)."""
    _refuse_other_formats(file, source)
    return _checked(source, _tables(file, source, layout))


def _refuse_other_formats(file: IO[bytes], source: str) -> None:
    """A file that is not a workbook (an .xls of Excel 97-2003, JSON Lines…), or one whose parts
    unpack beyond ``MAX_UNPACKED``, is refused before openpyxl reads it."""
    head = file.read(4)
    file.seek(0)
    if head == _XLS:
        raise InputError([Problem(source, "classeur au format .xls (Excel 97-2003) : le format .xlsx est attendu",
                                  hint=_SAVE_AS)])
    try:
        with zipfile.ZipFile(file) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError([Problem(source, "le fichier n'est pas un classeur Excel (.xlsx) lisible",
                                  hint=f"{_SAVE_AS} ; pour des demandes en JSON Lines, nommez le fichier .jsonl")
                          ]) from None
    finally:
        file.seek(0)
    if unpacked > MAX_UNPACKED:
        raise InputError([Problem(source, f"classeur trop volumineux : ses parties font {unpacked} octets une fois "
                                          f"décompressées, la limite est de {MAX_UNPACKED} octets")])


def _cell(sheet: str, column: int, row: int) -> str:
    """``Feuille!Cellule``: the sheet, the column's letters (1 is A) and the row."""
    from openpyxl.utils import get_column_letter  # openpyxl only where a workbook is read: no cost at start

    return f"{sheet}!{get_column_letter(column)}{row}"


def _tables(file: IO[bytes], source: str, layout: Layout) -> dict[str, Table]:
    import openpyxl  # (see _cell)

    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (openpyxl warns of extensions it does not read: none matters here)
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
            try:
                for sheet in layout.sheets:
                    if sheet.name not in workbook.sheetnames:
                        problems.append(Problem(source, f"feuille « {sheet.name} » absente",
                                                hint="partez du modèle que donne « guichet template »"))
                        continue
                    worksheet: Any = workbook[sheet.name]
                    worksheet.reset_dimensions()  # (some programs write them wrong: every row is read)
                    tables[sheet.name] = _table(worksheet.iter_rows(), sheet, source, problems)
            finally:
                workbook.close()
    except InputError:
        raise
    except Exception as error:  # openpyxl on a damaged file: anything from its XML or zip readers
        raise InputError([Problem(source, "classeur illisible : endommagé, ou ce n'est pas un classeur Excel",
                                  hint=_SAVE_AS)]) from error
    if problems:
        raise InputError(problems)
    return tables


def _table(rows: Iterator[Sequence[Cell]], sheet: Sheet, source: str, problems: list[Problem]) -> Table:
    """A sheet's table: its two header rows read (the keys of row 2), then its rows that hold a value."""
    labels = [_header(cell) for cell in next(rows, ())]
    keys = [_header(cell) for cell in next(rows, ())]
    found: dict[str, int] = {}
    for index, key in enumerate(keys):
        where = _cell(sheet.name, index + 1, _HEADER_ROWS)
        if not key:
            label = labels[index] if index < len(labels) else ""
            lost = next((column for column in sheet.columns if column.label == label), None) if label else None
            if lost is not None and lost.key not in keys:
                problems.append(Problem(source, f"la clé de la colonne « {label} » est effacée", cell=where,
                                        hint=f"écrivez « {lost.key} » en ligne {_HEADER_ROWS}"))
        elif key in found:
            problems.append(Problem(source, f"colonne « {key} » en double", cell=where))
        elif sheet.column(key) is None:
            problems.append(Problem(source, f"colonne inconnue « {key} »", cell=where, hint=_unknown_hint(key, sheet)))
        else:
            found[key] = index
    for key in (LINK, ROLE) if sheet.name == ENTITIES else (LINK,) if sheet.name != APPLICATIONS else ():
        if key not in found:
            column = sheet.column(key)
            assert column is not None, "the link and role columns are in the layout"
            problems.append(Problem(source, f"colonne « {column.label} » (clé {key}) absente",
                                    cell=f"{sheet.name}!A{_HEADER_ROWS}",
                                    hint=f"ajoutez-la : « {column.label} » en ligne 1, « {key} » en ligne 2"))
    columns = tuple((column, found[column.key]) for column in sheet.columns if column.key in found)
    read: list[Row] = []
    for number, row in enumerate(rows, start=_HEADER_ROWS + 1):
        values = tuple(raw_value(row[index]) if index < len(row) else None for _, index in columns)
        if any(value is not None for value in values):
            read.append((number, values))
    return Table(sheet, columns, tuple(read))


def _header(cell: Cell) -> str:
    value = cell.value
    return "" if value is None else str(value).strip()


def _unknown_hint(key: str, sheet: Sheet) -> str:
    close = difflib.get_close_matches(key, [column.key for column in sheet.columns], n=1, cutoff=0.6)
    if close:
        return f"vouliez-vous dire « {close[0]} » ?"
    return (f"la feuille Lisez-moi décrit les colonnes de la feuille {sheet.name} (aucune version ne déclare "
            "celle-ci) ; une colonne à vous (des notes) se laisse sans clé en ligne 2")


def _checked(source: str, tables: Mapping[str, Table]) -> Portfolio:
    """The portfolio, once every application has a key of its own and every row of the other
    sheets the key of an application."""
    problems: list[Problem] = []
    applications = tables[APPLICATIONS]
    reference = applications.position("reference")
    rows: dict[str, int] = {}
    keys: list[str] = []
    for rank, (number, values) in enumerate(applications.rows, start=1):
        raw = values[reference] if reference is not None else None
        key = (json_value("link", raw) if raw is not None else "") or str(rank)
        if key in rows:
            where = applications.columns[reference][1] if reference is not None else None
            problems.append(Problem(
                source, f"deux demandes sont désignées par « {key} » (lignes {rows[key]} et {number})",
                cell=applications.cell(where, number),
                hint="une référence ne désigne qu'une demande ; une demande sans référence est désignée par son rang "
                     "dans la feuille (1 pour la première)"))
        rows.setdefault(key, number)
        keys.append(key)
    children = {name: _grouped(tables[name], rows, source, problems) for name in (ENTITIES, EXPENSES, DOCUMENTS)}
    if problems:
        raise InputError(problems)
    return Portfolio(source, tables, tuple(keys), children)


def _grouped(table: Table, applications: Mapping[str, int], source: str,
             problems: list[Problem]) -> dict[str, tuple[Row, ...]]:
    """The rows of a sheet by the key of their application."""
    link = table.position(LINK)
    assert link is not None, "a sheet without its link column is refused when read"
    where = table.columns[link][1]
    groups: dict[str, list[Row]] = {}
    for number, values in table.rows:
        raw = values[link]
        key = json_value("link", raw) if raw is not None else ""
        if key in applications:
            groups.setdefault(key, []).append((number, values))
        elif not key:
            problems.append(Problem(source, "ligne sans demande : la colonne « Demande » est vide",
                                    cell=table.cell(where, number),
                                    hint="la référence de la demande, ou son rang dans la feuille Demandes"))
        else:
            close = difflib.get_close_matches(key, list(applications), n=1, cutoff=0.6)
            problems.append(Problem(source, f"aucune demande « {key} » dans la feuille Demandes",
                                    cell=table.cell(where, number),
                                    hint=f"vouliez-vous dire « {close[0]} » ?" if close else
                                    "la référence de la demande, ou son rang dans la feuille Demandes"))
    return {key: tuple(rows) for key, rows in groups.items()}


class _Assembly:
    """One application put together from its rows, with the cell of each value."""

    def __init__(self, source: str, tables: Mapping[str, Table]) -> None:
        self.source, self.tables = source, tables
        self.cells: dict[JsonPath, str] = {}
        self.problems: list[Problem] = []

    def application(self, number: int, row: Row, entities: Sequence[Row], expenses: Sequence[Row],
                    documents: Sequence[Row]) -> Entry:
        data = self.fill(APPLICATIONS, row, ())
        data.setdefault("solution", {})
        people = self.tables[ENTITIES]
        role = people.position(ROLE)
        co_beneficiaries: list[dict[str, Any]] = []
        for entity in entities:
            raw = entity[1][role] if role is not None else None
            found = json_value("role", raw) if raw is not None else Refusal("rôle absent")
            where = people.cell(people.columns[role][1] if role is not None else None, entity[0])
            if isinstance(found, Refusal):
                self.problems.append(Problem(self.source, found.message, cell=where,
                                             hint=found.hint or "choisissez le rôle dans la liste"))
            elif found != APPLICANT:
                co_beneficiaries.append(self.fill(ENTITIES, entity, ("co_beneficiaries", len(co_beneficiaries))))
            elif "applicant" in data:
                self.problems.append(Problem(self.source, "second demandeur de la demande", cell=where,
                                             hint="une demande a un seul demandeur ; les autres entités sont des "
                                                  "co-bénéficiaires"))
            else:
                data["applicant"] = self.fill(ENTITIES, entity, ("applicant",))
        if "applicant" not in data:
            self.problems.append(Problem(self.source, "la demande n'a pas de demandeur",
                                         cell=self.tables[APPLICATIONS].cell(None, row[0]),
                                         hint="ajoutez-lui une ligne « demandeur » dans la feuille Bénéficiaires"))
        if co_beneficiaries:
            data["co_beneficiaries"] = co_beneficiaries
        data["expenses"] = [self.fill(EXPENSES, line, ("expenses", index)) for index, line in enumerate(expenses)]
        data["documents"] = [self.fill(DOCUMENTS, item, ("documents", index)) for index, item in enumerate(documents)]
        if self.problems:
            return Unreadable(number, tuple(self.problems))
        return Assembled(number, orjson.dumps(data), self.cells)

    def fill(self, name: str, row: Row, base: JsonPath) -> dict[str, Any]:
        """The object of a row (at ``base`` in the application), each of its values read as its
        column says; the cell of each value, and of the row, noted."""
        table = self.tables[name]
        number, values = row
        self.cells[base] = table.cell(None, number)
        found: dict[str, Any] = {}
        for (column, index), raw in zip(table.columns, values, strict=True):
            if column.kind in ("link", "role"):
                continue
            path = (*base, *column.path)
            where = self.cells[path] = table.cell(index, number)
            value = json_value(column.kind, raw) if raw is not None else None
            if isinstance(value, Refusal):
                self.problems.append(Problem(self.source, value.message, path=path, hint=value.hint, cell=where))
            elif value is not None:
                target = found
                for part in column.path[:-1]:
                    target = target.setdefault(part, {})
                target[column.path[-1]] = value
        return found
