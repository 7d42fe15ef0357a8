"""Writing a portfolio workbook: applications (valid for their versions) as rows of the sheets of
a ``Layout``, each value in the cell its column reads back exactly (``cells.cell_value``); with no
application, the template staff fill in. Every workbook has a « Lisez-moi » sheet that explains each
column (its key, what it holds, what an empty cell means), the dropdowns of the policy's lists (kept
in a hidden sheet « Listes »), and frozen, filterable headers. Written as a stream (openpyxl's
write-only mode): memory stays small whatever the number of applications."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from evaluator.workbook.cells import cell_value
from evaluator.workbook.layout import (
    APPLICANT,
    APPLICATIONS,
    CO_BENEFICIARY,
    DOCUMENTS,
    ENTITIES,
    EXPENSES,
    LINK,
    LISTS,
    README,
    ROLE,
    Choices,
    Column,
    Layout,
    Sheet,
)

MAX_ROW = 1_048_576
"""The last row of a sheet in Excel."""
_BOLD = Font(bold=True)
_KEY = Font(italic=True, color="808080", size=9)
_WRAP = Alignment(wrap_text=True, vertical="top")
_FIRST_DATA_ROW = 3


class WorkbookWriter:
    """A workbook being written: ``add`` each application, then ``save``."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.book = openpyxl.Workbook(write_only=True)
        _readme(self.book.create_sheet(README), layout)
        self.sheets: dict[str, Any] = {sheet.name: self.book.create_sheet(sheet.name) for sheet in layout.sheets}
        self.sheets[APPLICATIONS].sheet_view.tabSelected = True  # (it opens first: set before a row is written)
        places = _lists(self.book.create_sheet(LISTS), layout)
        for sheet in layout.sheets:
            _headers(self.sheets[sheet.name], sheet, layout.lists, places)
        self.book.active = 1

    def add(self, key: str, application: Mapping[str, Any]) -> None:
        """The rows of one application (its JSON data, valid for its version), its other rows
        naming it by ``key``."""
        self._row(APPLICATIONS, application, key, None)
        self._row(ENTITIES, application["applicant"], key, APPLICANT)
        for entity in application.get("co_beneficiaries", ()):
            self._row(ENTITIES, entity, key, CO_BENEFICIARY)
        for line in application["expenses"]:
            self._row(EXPENSES, line, key, None)
        for document in application["documents"]:
            self._row(DOCUMENTS, document, key, None)

    def save(self, path: Path) -> None:
        self.book.save(path)

    def _row(self, name: str, item: Mapping[str, Any], key: str, role: str | None) -> None:
        sheet = self.sheets[name]
        columns = self.layout.sheet(name).columns
        sheet.append([_cell(sheet, column, _value(column, item, key, role)) for column in columns])


def _value(column: Column, item: Mapping[str, Any], key: str, role: str | None) -> Any:
    if column.key == LINK:
        return key
    if column.key == ROLE:
        return role
    found: Any = item
    for part in column.path:
        found = found.get(part) if isinstance(found, Mapping) else None
    return found


def _cell(sheet: Any, column: Column, value: Any) -> Cell | None:
    if value is None:
        return None
    shown, number_format = cell_value(column.kind, value)
    cell = WriteOnlyCell(sheet, shown)
    if isinstance(shown, str):
        cell.data_type = "s"  # a text, even one that begins with « = »: never a formula
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _headers(worksheet: Any, sheet: Sheet, lists: Mapping[str, Choices], places: Mapping[str, str]) -> None:
    """The two header rows (labels, keys), frozen and filterable, column widths, dropdowns."""
    worksheet.freeze_panes = f"A{_FIRST_DATA_ROW}"
    last = get_column_letter(len(sheet.columns))
    worksheet.auto_filter.ref = f"A2:{last}2"
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        worksheet.column_dimensions[letter].width = min(max(len(column.label), len(column.key), 10) + 2, 40)
        cells = f"{letter}{_FIRST_DATA_ROW}:{letter}{MAX_ROW}"
        if column.choices is not None:
            worksheet.data_validations.append(_dropdown(places[column.choices], cells, lists[column.choices].strict))
        elif column.key == LINK:  # the references of « Demandes », offered (a rank is admitted too)
            worksheet.data_validations.append(_dropdown(f"{APPLICATIONS}!$A${_FIRST_DATA_ROW}:$A${MAX_ROW}", cells,
                                                        None))
    worksheet.append([styled(worksheet, column.label, _BOLD, _WRAP) for column in sheet.columns])
    worksheet.append([styled(worksheet, column.key, _KEY) for column in sheet.columns])


def _dropdown(formula: str, cells: str, strict: bool | None) -> DataValidation:
    """A dropdown of the cells ``formula`` points to: another value refused (``strict``), warned of,
    or admitted (``None``)."""
    check = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=strict is not None,
                           errorStyle="stop" if strict else "warning", errorTitle="Valeur hors de la liste",
                           error="Choisissez une valeur de la liste (la feuille Lisez-moi les décrit).")
    check.add(cells)
    return check


def styled(worksheet: Any, value: str, font: Font, alignment: Alignment | None = None) -> Cell:
    """A text cell (never a formula) in ``font``."""
    cell = WriteOnlyCell(worksheet, value)
    cell.data_type = "s"
    cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _lists(worksheet: Any, layout: Layout) -> dict[str, str]:
    """The hidden sheet of the dropdowns' values, a list a column; where each list stands."""
    worksheet.sheet_state = "hidden"
    lists = list(layout.lists.items())
    places = {name: f"{LISTS}!${get_column_letter(index)}$2:${get_column_letter(index)}${len(choices.values) + 1}"
              for index, (name, choices) in enumerate(lists, start=1)}
    depth = max((len(choices.values) for _, choices in lists), default=0)
    worksheet.append([styled(worksheet, choices.title, _BOLD) for _, choices in lists])
    for row in range(depth):
        worksheet.append([styled(worksheet, choices.values[row], Font()) if row < len(choices.values) else None
                          for _, choices in lists])
    return places


def _readme(worksheet: Any, layout: Layout) -> None:
    """The « Lisez-moi » sheet: how the workbook is made, then each column of each sheet, then the
    codes of the lists with their labels."""
    worksheet.column_dimensions["A"].width = 16
    worksheet.column_dimensions["B"].width = 30
    worksheet.column_dimensions["C"].width = 26
    worksheet.column_dimensions["D"].width = 60
    worksheet.column_dimensions["E"].width = 40
    for row in _readme_rows(layout):
        worksheet.append([styled(worksheet, text, _BOLD if bold else Font(), _WRAP) if text else None
                          for text, bold in row])


def _readme_rows(layout: Layout) -> Iterator[list[tuple[str, bool]]]:
    which = "nt les versions" if len(layout.versions) > 1 else " la version"
    yield [(f"{layout.title} — demandes de cofinancement", True)]
    yield [(f"Les colonnes des informations que déclare{which} {', '.join(layout.versions)} de la politique.", False)]
    yield []
    for paragraph in _GUIDE:
        yield [(paragraph, False)]
    yield []
    yield [(heading, True) for heading in ("Feuille", "Colonne", "Clé (ligne 2)", "Ce qu'elle contient", "Si vide")]
    for sheet in layout.sheets:
        yield [(sheet.name, True), (f"une ligne : {sheet.row}", False)]
        for column in sheet.columns:
            yield [("", False), (column.label, False), (column.key, False), (column.words, False),
                   (column.absent, False)]
    for choices in layout.lists.values():
        if any(choices.labels):
            yield []
            yield [(choices.title, True), ("code", True), ("libellé", True)]
            for value, label in zip(choices.values, choices.labels, strict=True):
                yield [("", False), (value, False), (label, False)]


_GUIDE = (
    "Une demande par ligne de la feuille Demandes (avec sa solution) ; son demandeur et ses co-bénéficiaires dans la "
    "feuille Bénéficiaires, ses lignes de dépenses dans la feuille Dépenses, ses pièces dans la feuille Pièces. Chaque "
    "ligne de ces trois feuilles désigne sa demande dans la colonne « Demande » : par sa référence, ou par son rang "
    "dans la feuille Demandes (1 pour la première) quand elle n'en a pas.",
    "Chaque feuille a deux lignes d'en-tête : le libellé de la colonne, puis sa clé, que guichet lit (ne la modifiez "
    "pas). L'ordre des colonnes est libre ; une colonne sans clé est ignorée (pour vos notes).",
    "Une cellule vide : l'information n'est pas donnée ; la colonne « Si vide » dit ce qu'elle vaut alors. Les listes "
    "déroulantes proposent les valeurs admises. Montants en euros TTC, deux décimales au plus ; dates au format "
    "JJ/MM/AAAA ; oui ou non ; plusieurs pays ou SIREN séparés par des virgules.",
    "Décider les demandes : guichet batch ce-classeur.xlsx -o decisions.xlsx (une ligne par demande : statut, taux, "
    "montants, motifs). Les convertir en JSON Lines : guichet convert ce-classeur.xlsx -o demandes.jsonl.",
)
