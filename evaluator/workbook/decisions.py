"""The decisions of a batch as a table staff can filter and total (``guichet batch -o decisions.csv``
or ``-o decisions.xlsx``): one row per application — its line, reference, date, status, rate,
version, amounts as numbers, and the reasons for its status in words (for a line refused, its
problems). Made from the batch's short records (``core.summary``, and its error records).

The CSV is written for a French spreadsheet: UTF-8 with a byte-order mark, « ; » between values,
decimal commas; a text that a spreadsheet would take for a formula (« =… ») is written behind an
apostrophe. The workbook has frozen, filterable headers and, below the rows, the totals of the rows
shown (``SOUS.TOTAL``: they follow the filter)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import openpyxl
import orjson
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from evaluator.core.decision import AMOUNTS
from evaluator.core.facts import ENGINE_FACTS
from evaluator.reading.problems import InputError, Problem, visible
from evaluator.versions.lock import replacing
from evaluator.workbook.cells import DATE_FORMAT
from evaluator.workbook.writing import MAX_ROW, styled

SHEET = "Décisions"
_LABELS = {fact.name: fact.label[:1].upper() + fact.label[1:] for fact in ENGINE_FACTS}
HEADERS = ("Ligne", "Référence", "Date de dépôt", "Statut", "Taux", "Version",
           *(_LABELS[name] for name in AMOUNTS), "Motifs")
"""The columns, in French (the amounts named as the engine names its facts)."""
_FIRST_AMOUNT = 7
_FORMATS = (None, None, DATE_FORMAT, None, "%", None, *(["#,##0.00"] * len(AMOUNTS)), None)
"""Each column's number format in the workbook (``%``: the rate's, as a percentage)."""
_REFUSED = "Refusée : demande invalide"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_table(records: IO[bytes], path: Path) -> int:
    """Write the table of the batch's records (JSON Lines, short or error records) to ``path``, a
    CSV or an Excel workbook as its suffix says, whole or not at all; the number of rows."""
    with replacing(path) as beside:
        if path.suffix.lower() == ".csv":
            return _write_csv(records, beside)
        return _write_workbook(records, beside, path)


def rows(records: IO[bytes]) -> Iterator[list[Any]]:
    """Each record as a row of the table: numbers as ``Decimal``, dates as dates."""
    for line in records:
        if line.strip():
            yield _row(orjson.loads(line))


def _row(record: Mapping[str, Any]) -> list[Any]:
    if record["status"] == "error":
        return [record["line"], None, None, _REFUSED, None, None, *([None] * len(AMOUNTS)),
                "\n".join(map(_problem, record["problems"]))]
    amounts = record["amounts"]
    return [record["line"], record["reference"], date.fromisoformat(record["submitted_on"]), record["status_label"],
            Decimal(record["rate"]), record["version"], *(Decimal(amounts[name]) for name in AMOUNTS),
            "\n".join(reason["message"] for reason in record["reasons"])]


def _problem(problem: Mapping[str, Any]) -> str:
    where = problem.get("cell") or problem.get("path") or ""
    text = f"{where} : {problem['message']}" if where else problem["message"]
    return f"{text} (conseil : {problem['hint']})" if problem.get("hint") else text


def _write_csv(records: IO[bytes], target: Path) -> int:
    count = 0
    with target.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS)
        for row in rows(records):
            writer.writerow([_csv_value(value) for value in row])
            count += 1
    return count


def _csv_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + visible(value) if value.startswith(_FORMULA_START) else visible(value)
    return value


def _write_workbook(records: IO[bytes], target: Path, path: Path) -> int:
    book = openpyxl.Workbook(write_only=True)
    sheet: Any = book.create_sheet(SHEET)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(HEADERS, start=1):
        width = 60 if header == "Motifs" else 14 if index >= _FIRST_AMOUNT else 12
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([styled(sheet, header, Font(bold=True), Alignment(wrap_text=True, vertical="top"))
                  for header in HEADERS])
    count = 0
    for row in rows(records):
        count += 1
        if count >= MAX_ROW - 1:
            raise InputError([Problem(str(path), f"un classeur Excel tient au plus {MAX_ROW - 2} décisions "
                                                 "(et ses en-têtes, ses totaux)",
                                      hint="écrivez les décisions en CSV (-o decisions.csv) ou en JSON Lines")])
        sheet.append([_cell(sheet, value, shown) for value, shown in zip(row, _FORMATS, strict=True)])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{count + 1}"
    if count:
        sheet.append(_totals(sheet, count + 1))
    book.save(target)
    return count


def _totals(sheet: Any, last: int) -> list[Any]:
    """The row of the totals of each amount over the rows the filter shows (2 to ``last``)."""
    totals: list[Any] = [None, styled(sheet, "Total des lignes affichées", Font(bold=True))]
    totals += [None] * (_FIRST_AMOUNT - 3)
    for index in range(_FIRST_AMOUNT, _FIRST_AMOUNT + len(AMOUNTS)):
        letter = get_column_letter(index)
        total = WriteOnlyCell(sheet, f"=SUBTOTAL(109,{letter}2:{letter}{last})")
        total.number_format, total.font = "#,##0.00", Font(bold=True)
        totals.append(total)
    return totals


def _cell(sheet: Any, value: Any, number_format: str | None) -> Any:
    if value is None or isinstance(value, int):
        return value
    cell = WriteOnlyCell(sheet, visible(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # (never a formula)
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    elif number_format is not None:
        cell.number_format = number_format if number_format != "%" else _rate_format(value)
    return cell


def _rate_format(value: Decimal) -> str:
    """A rate as a percentage, with the decimals it has (``0.125``: 12,5 %)."""
    exponent = value.normalize().as_tuple().exponent
    decimals = max(0, -exponent - 2) if isinstance(exponent, int) else 0
    return "0" + ("." + "0" * decimals if decimals else "") + "%"
