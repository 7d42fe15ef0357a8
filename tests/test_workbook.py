"""Portfolios as Excel workbooks: JSON Lines → workbook → JSON Lines gives the same applications and
the same decisions (examples, the benchmarks' generator, random applications); a batch on a
workbook decides as on its JSON Lines; a refused cell is located « Feuille!Cellule »; the template
has the dropdowns of the policy, a « Lisez-moi », and the columns a version declares."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
from conftest import policy_directory
from evaluator import Registry
from evaluator.core.application import accepted_line, build_application
from evaluator.workbook.cells import cell_decimal, cell_value, json_value, shown_decimals
from evaluator.workbook.convert import to_json_lines, to_workbook
from evaluator.workbook.layout import layout
from evaluator.workbook.reading import Assembled, Unreadable, document_of, read_workbook
from strategies import applications as drawn_applications
from strategies import to_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DRAFT = ROOT / "tests" / "amendment" / "amounts" / "1.2.yaml"


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli.main, list(args))


def _generated(count: int, seed: int = 11) -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import applications

    return [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in applications(count, seed=seed)]


def _examples() -> list[str]:
    found = []
    for path in sorted(EXAMPLES.iterdir()):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["submitted_on"] = str(data["submitted_on"])
        found.append(json.dumps(data, ensure_ascii=False))
    return found


def _round_trip(registry: Registry, lines: list[str], directory: Path) -> list[bytes]:
    """The lines written as a workbook, then read back as JSON Lines."""
    workbook, back = directory / "portefeuille.xlsx", directory / "retour.jsonl"
    count = to_workbook(registry, io.BytesIO(("\n".join(lines) + "\n").encode()), "lot.jsonl", workbook,
                        layout(registry.versions))
    assert count == len(lines)
    assert to_json_lines(registry, read_workbook(workbook, "portefeuille.xlsx", layout(registry.versions)),
                         back) == len(lines)
    return back.read_bytes().splitlines()


def _decision(registry: Registry, line: bytes, number: int) -> bytes:
    document = accepted_line(line, "lot.jsonl", number)
    assert document is not None
    return registry.decide(document).to_bytes()


def _application(registry: Registry, line: bytes, number: int) -> Any:
    document = accepted_line(line, "lot.jsonl", number)
    assert document is not None
    return build_application(document, registry.checked(registry.governing(document)))


def _same(registry: Registry, lines: list[str], back: list[bytes]) -> None:
    assert len(back) == len(lines)
    for number, (line, read) in enumerate(zip(lines, back, strict=True), start=1):
        assert _application(registry, read, number) == _application(registry, line.encode(), number), line
        assert _decision(registry, read, number) == _decision(registry, line.encode(), number), line


def test_examples_and_generated_applications_come_back_the_same(registry: Registry, tmp_path: Path):
    lines = [*_examples(), *_generated(60)]
    back = _round_trip(registry, lines, tmp_path)
    _same(registry, lines, back)
    assert json.loads(back[0])["applicant"] == json.loads(lines[0])["applicant"]


def test_a_workbook_read_back_and_written_again_is_the_same(registry: Registry, tmp_path: Path):
    lines = _generated(20)
    (tmp_path / "un").mkdir()
    (tmp_path / "deux").mkdir()
    first = _round_trip(registry, lines, tmp_path / "un")
    assert _round_trip(registry, [line.decode() for line in first], tmp_path / "deux") == first
    assert (tmp_path / "un" / "portefeuille.xlsx").read_bytes() != b""


@settings(max_examples=max(10, settings().max_examples // 10), deadline=None)
@given(st.lists(drawn_applications(max_co_beneficiaries=4, max_expenses=6), min_size=1, max_size=4), st.data())
def test_random_applications_come_back_the_same(registry: Registry, tmp_path_factory: pytest.TempPathFactory,
                                                drawn: list[dict[str, Any]], data: st.DataObject):
    for index, application in enumerate(drawn):  # a reference of its own, or none (its rank names it)
        application.pop("reference", None)
        if data.draw(st.booleans()):
            application["reference"] = f"DEM-{index}"
    lines = [to_json(application) for application in drawn]
    _same(registry, lines, _round_trip(registry, lines, tmp_path_factory.mktemp("aller-retour")))


def test_a_batch_on_a_workbook_decides_as_on_its_json_lines(tmp_path: Path):
    lines = [*_examples(), *_generated(40)]
    source = tmp_path / "lot.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _run("convert", str(source), "-o", str(tmp_path / "lot.xlsx")).exit_code == 0
    for options in (["--workers", "1"], ["--workers", "2"], ["--format", "summary", "--workers", "2"]):
        alone = _run("batch", str(source), *options)
        assert alone.exit_code == 0, alone.output
        from_workbook = _run("batch", str(tmp_path / "lot.xlsx"), *options)
        assert from_workbook.exit_code == 0, from_workbook.output
        assert from_workbook.stdout == alone.stdout


def test_impact_and_budget_on_a_workbook_report_as_on_its_json_lines(tmp_path: Path):
    directory = policy_directory(tmp_path / "versions", {"1.2.yaml": DRAFT.read_text(encoding="utf-8")})
    lines = []
    for number, line in enumerate(_generated(12), start=1):
        item = json.loads(line)
        item.update(submitted_on="2027-08-01", reference=f"R{number}")
        for entity in (item["applicant"], *item.get("co_beneficiaries", ())):
            entity["population"] = 400 * number
        lines.append(json.dumps(item, ensure_ascii=False))
    source = tmp_path / "lot.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    converted = _run("convert", str(source), "-o", str(tmp_path / "lot.xlsx"), "--policy-version", "1.2",
                     "--policy-dir", str(directory))
    assert converted.exit_code == 0, converted.output
    for command in (["impact", "--from", "1.2", "--to", "1.2"], ["budget", "--policy-version", "1.2"]):
        alone = _run(*command, str(source), "--format", "json", "--policy-dir", str(directory))
        assert alone.exit_code == 0, alone.output
        from_workbook = _run(*command, str(tmp_path / "lot.xlsx"), "--format", "json", "--policy-dir", str(directory))
        assert from_workbook.exit_code == 0, from_workbook.output
        assert from_workbook.stdout == alone.stdout


@pytest.fixture
def workbook(registry: Registry, tmp_path: Path) -> Path:
    """Three applications as a workbook: the first two by reference, the third without one."""
    lines = _generated(3)
    third = json.loads(lines[2])
    del third["reference"]
    lines[2] = json.dumps(third, ensure_ascii=False)
    path = tmp_path / "lot.xlsx"
    to_workbook(registry, io.BytesIO(("\n".join(lines) + "\n").encode()), "lot.jsonl", path, layout(registry.versions))
    return path


def _edited(path: Path, **cells: Any) -> Path:
    """The workbook with ``Feuille_Cellule=valeur`` cells changed, as staff would in Excel."""
    book = openpyxl.load_workbook(path)
    for name, value in cells.items():
        sheet, cell = name.rsplit("_", 1)
        book[sheet][cell].value = value
    book.save(path)
    return path


def _records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_a_third_application_without_reference_is_named_by_its_rank(workbook: Path):
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert [row[0] for row in book["Demandes"].iter_rows(min_row=3, values_only=True)] == [
        "BENCH-0000000", "BENCH-0000001", None]
    assert {row[0] for row in book["Dépenses"].iter_rows(min_row=3, values_only=True)} == {
        "BENCH-0000000", "BENCH-0000001", "3"}


def test_a_refused_cell_is_located_sheet_and_cell(workbook: Path):
    _edited(workbook, Dépenses_C3=12.345, Demandes_D4="peut-être")
    result = _run("batch", str(workbook))
    assert result.exit_code == 2
    records = _records(result.stdout)
    first, second = records[0], records[1]
    assert first["status"] == "error" and second["status"] == "error" and records[2]["status"] != "error"
    assert [(p["cell"], p["path"], p["message"]) for p in first["problems"]] == [
        ("Dépenses!C3", "expenses[0].amount", "le montant 12.345 a plus de deux décimales")]
    assert second["problems"][0]["cell"] == "Demandes!D4"
    assert "ni « oui » ni « non »" in second["problems"][0]["message"]
    refused = _run("convert", str(workbook), "-o", str(workbook.with_suffix(".jsonl")))
    assert refused.exit_code == 2 and not workbook.with_suffix(".jsonl").exists()
    assert "lot.xlsx:Dépenses!C3: le montant 12.345 a plus de deux décimales\n  conseil : un montant" in refused.stderr
    assert "Traceback" not in refused.output


def test_a_rule_of_the_policy_is_located_at_its_cell_too(workbook: Path):
    _edited(workbook, Dépenses_B3="abonnement")
    problems = _records(_run("batch", str(workbook)).stdout)[0]["problems"]
    assert [(p["cell"], p["path"]) for p in problems] == [("Dépenses!B3", "expenses[0].kind")]
    assert problems[0]["message"].startswith("nature de dépense inconnue : « abonnement »")


def test_an_application_without_applicant_is_refused_alone(workbook: Path):
    book = openpyxl.load_workbook(workbook, read_only=True)
    roles = [row[:2] for row in book["Bénéficiaires"].iter_rows(min_row=3, values_only=True)]
    row = roles.index(("BENCH-0000001", "demandeur")) + 3
    _edited(workbook, **{f"Bénéficiaires_B{row}": "co-bénéficiaire"})
    records = _records(_run("batch", str(workbook)).stdout)
    assert [r["status"] == "error" for r in records] == [False, True, False]
    assert records[1]["problems"][0] | {"hint": None} == {
        "source": str(workbook), "line": None, "column": None, "path": None, "cell": "Demandes!A4",
        "message": "la demande n'a pas de demandeur", "hint": None}


@pytest.mark.parametrize(("edit", "said"), [
    ({"Dépenses_A3": "BENCH-9"}, "Dépenses!A3: aucune demande « BENCH-9 » dans la feuille Demandes"),
    ({"Demandes_A4": "BENCH-0000000"}, "Demandes!A4: deux demandes sont désignées par « BENCH-0000000 »"),
    ({"Pièces_B2": "nature"}, "Pièces!B2: colonne inconnue « nature »"),
])
def test_a_workbook_whose_rows_do_not_hold_together_is_refused_whole(workbook: Path, edit: dict[str, Any],
                                                                      said: str):
    result = _run("batch", str(workbook), "-o", str(workbook.with_name("decisions.jsonl")))
    assert result.exit_code == 0
    _edited(workbook, **edit)
    result = _run("batch", str(workbook), "-o", str(workbook.with_name("decisions.xlsx")))
    assert result.exit_code == 2
    assert f"lot.xlsx:{said}" in result.stderr
    assert "rien n'a été évalué" in result.stderr and not workbook.with_name("decisions.xlsx").exists()


def test_files_that_are_no_workbook_are_refused_in_french(tmp_path: Path):
    (tmp_path / "vide.xlsx").write_bytes(b"")
    (tmp_path / "ancien.xlsx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    for name, said in (("vide.xlsx", "n'est pas un classeur Excel (.xlsx) lisible"),
                       ("ancien.xlsx", "classeur au format .xls (Excel 97-2003)")):
        result = _run("batch", str(tmp_path / name))
        assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.output


def test_a_cell_is_read_as_excel_shows_it():
    assert cell_decimal(0.1, "General") == Decimal("0.1")
    assert cell_decimal(1234.56, "#,##0.00") == Decimal("1234.56")
    assert str(cell_decimal(float("0.10000000000000001"), "General")) == "0.1"  # as Excel may store it
    assert str(cell_decimal(0.1 * 3, "General")) == "0.3"  # =0.1*3
    assert str(cell_decimal(10800.5, "#,##0.00")) == "10800.50"  # the scale its format shows
    assert str(cell_decimal(10800, "#,##0.00")) == "10800.00"
    assert str(cell_decimal(12.345, "#,##0.00")) == "12.345"  # shown 12,35 but not rounded
    assert str(cell_decimal(0.4, "0%")) == "0.40"
    assert (shown_decimals("General"), shown_decimals('#,##0.00 "€"'), shown_decimals("0.0 %")) == (None, 2, 3)
    assert json_value("money", Decimal("1234.56")) == "1234.56"
    assert json_value("siren", Decimal(19740115)) == "019740115"  # a SIREN typed as a number
    assert json_value("date", "10/06/2026") == "2026-06-10"
    assert json_value("date", datetime(2026, 6, 10)) == "2026-06-10"
    assert [json_value("boolean", text) for text in ("Oui", "non", "VRAI")] == [True, False, True]
    assert json_value("countries", "FR, DE;IT") == ["FR", "DE", "IT"]
    assert json_value("boolean", "   ") is None
    assert json_value("integer", Decimal("2.5")).message == "« 2.5 » n'est pas un nombre entier"


def test_a_value_excel_cannot_hold_is_written_as_its_text():
    assert cell_value("share", Decimal("0.1234567890123456789")) == ("0.1234567890123456789", None)
    assert cell_value("share", Decimal("0.1200")) == (Decimal("0.1200"), "0.0000")
    assert cell_value("money", "10800.00") == (Decimal("10800.00"), "#,##0.00")
    assert cell_value("date", "2026-06-10")[1] == "DD/MM/YYYY"
    assert cell_value("date", "1789-07-14") == ("1789-07-14", None)


def test_conversion_refuses_invalid_lines_and_writes_nothing(registry: Registry, tmp_path: Path):
    lines = _generated(3)
    lines[1] = lines[1].replace('"licences":', '"licenses":', 1)
    lines.append(lines[0])  # the same reference twice
    source = tmp_path / "lot.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run("convert", str(source), "-o", str(tmp_path / "lot.xlsx"))
    assert result.exit_code == 2 and not (tmp_path / "lot.xlsx").exists()
    assert "lot.jsonl:2:1: clé inconnue : « licenses »" in result.stderr
    assert "lot.jsonl:4:1: la demande est désignée par « BENCH-0000000 », comme celle de la ligne 1" in result.stderr
    same = _run("convert", str(source), "-o", str(tmp_path / "autre.jsonl"))
    assert same.exit_code == 2 and "guichet convert passe de JSON Lines à un classeur" in same.stderr


def test_the_template_has_the_dropdowns_and_a_readme(tmp_path: Path):
    result = _run("template", "-o", str(tmp_path / "modele.xlsx"))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "modele.xlsx")
    assert book.sheetnames == ["Lisez-moi", "Demandes", "Bénéficiaires", "Dépenses", "Pièces", "Listes"]
    assert book["Listes"].sheet_state == "hidden"
    lists = {column[0].value: [cell.value for cell in column[1:] if cell.value is not None]
             for column in book["Listes"].iter_cols()}
    assert "commune" in lists["Catégories de bénéficiaires"] and "licence" in lists["Natures de dépenses"]
    assert "quote" in lists["Natures de pièces"] and lists["Oui ou non"] == ["oui", "non"]

    def dropdowns(sheet: str) -> dict[str, str]:
        keys = {cell.column_letter: cell.value for cell in book[sheet][2]}
        return {keys[str(rule.sqref)[0]]: rule.formula1 for rule in book[sheet].data_validations.dataValidation}

    assert dropdowns("Bénéficiaires")["category"].startswith("Listes!$C$2")
    assert dropdowns("Bénéficiaires")["#role"].startswith("Listes!$A$2")
    assert dropdowns("Dépenses")["kind"].startswith("Listes!$D$2")
    assert dropdowns("Pièces")["kind"].startswith("Listes!$E$2")
    assert dropdowns("Demandes")["frugal_ai"].startswith("Listes!$B$2")
    assert "solution.extra_eu_transfer" in dropdowns("Demandes")  # a text field with values
    readme = [row for row in book["Lisez-moi"].iter_rows(values_only=True)]
    assert any(row[1:3] == ("Part de la population de l'entité en QPV", "qpv_population_share") and row[4] == "vide : 0"
               for row in readme)
    assert any(row[2] == "solution.model_provider_country" and row[4].startswith("facultatif") for row in readme)
    assert [cell.value for cell in book["Demandes"][2]][:2] == ["reference", "submitted_on"]
    assert book["Demandes"].freeze_panes == "A3"


def test_a_field_of_a_draft_version_is_a_column_of_its_template(tmp_path: Path):
    directory = policy_directory(tmp_path, {"1.2.yaml": DRAFT.read_text(encoding="utf-8")})
    result = _run("template", "--version", "1.2", "--policy-dir", str(directory), "-o", str(tmp_path / "m.xlsx"))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "m.xlsx")
    assert "population" in [cell.value for cell in book["Bénéficiaires"][2]]
    assert "population" not in [cell.value for cell in openpyxl.load_workbook(
        _template(tmp_path / "m10.xlsx"))["Bénéficiaires"][2]]


def _template(path: Path, *options: str) -> Path:
    assert _run("template", "-o", str(path), *options).exit_code == 0
    return path


def test_a_template_filled_in_as_in_excel_is_decided(tmp_path: Path):
    """Values typed as Excel keeps them: numbers as floats, dates as dates, oui/non, a SIREN as a
    number; the staff workflow: template → fill in → batch → a table of decisions."""
    path = _template(tmp_path / "modele.xlsx")
    book = openpyxl.load_workbook(path)

    def fill(sheet: str, row: dict[str, Any]) -> None:
        keys = [cell.value for cell in book[sheet][2]]
        book[sheet].append([row.get(key) for key in keys])

    fill("Demandes", {"reference": "DEM-1", "submitted_on": datetime(2026, 6, 10), "frugal_ai": "non",
                      "public_procurement_compliant": "oui", "solution.name": "Assistant", "solution.editor": "Éditeur",
                      "solution.kind": "general_purpose", "solution.editor_country": "FR",
                      "solution.hosting_countries": "FR", "solution.processing_countries": "FR, DE",
                      **{f"solution.{key}": "oui" for key in ("auditability_commitment", "eu_law_applicable",
                                                              "reversibility", "ai_act_compliant")},
                      "solution.extra_eu_transfer": "none", "solution.extra_eu_jurisdiction": "non"})
    fill("Bénéficiaires", {"#application": "DEM-1", "#role": "demandeur", "siren": 219740115, "name": "Commune",
                           "category": "commune", "licences": 60, "qpv_population_share": 0.1})
    fill("Dépenses", {"#application": "DEM-1", "kind": "licence", "amount": 10800.0, "months": 36})
    fill("Dépenses", {"#application": "DEM-1", "kind": "configuration", "amount": 1234.56})
    for kind in ("quote", "sovereignty_sheet", "editor_attestation"):
        fill("Pièces", {"#application": "DEM-1", "kind": kind})
    book.save(path)
    result = _run("batch", str(path), "-o", str(tmp_path / "decisions.xlsx"))
    assert result.exit_code == 0, result.output
    table = openpyxl.load_workbook(tmp_path / "decisions.xlsx")["Décisions"]
    header, row, totals = (list(values) for values in table.iter_rows(values_only=True))
    decision = dict(zip(header, row, strict=True))
    assert decision["Référence"] == "DEM-1" and decision["Statut"] == "Éligible"
    assert decision["Montant total demandé"] == pytest.approx(12034.56)
    assert decision["Taux"] == pytest.approx(0.3)
    assert totals[header.index("Montant total demandé")] == "=SUBTOTAL(109,G2:G2)"


def test_decisions_to_a_csv_are_a_table_for_a_french_spreadsheet(workbook: Path):
    _edited(workbook, Dépenses_C3="1 250,50")
    target = workbook.with_name("decisions.csv")
    result = _run("batch", str(workbook), "-o", str(target))
    assert result.exit_code == 2
    text = target.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text[1:].split("\r\n")
    assert lines[0].startswith("Ligne;Référence;Date de dépôt;Statut;Taux;Version;Montant total demandé;")
    assert lines[1].startswith("1;;;Refusée : demande invalide;")
    assert "Dépenses!C3 : « 1 250,50 » n'est pas un montant" in lines[1]
    second = next(line for line in lines if line.startswith("2;BENCH-0000001;"))
    assert ";1.0;" in second and all("," in value for value in second.split(";")[6:14])


def test_portfolio_entries_are_read_one_by_one(registry: Registry, workbook: Path):
    portfolio = read_workbook(workbook, "lot.xlsx", layout(registry.versions))
    entries = list(portfolio.entries())
    assert len(portfolio) == 3 and all(isinstance(entry, Assembled) for entry in entries)
    first = entries[0]
    assert not isinstance(first, Unreadable)
    document = document_of(first, "lot.xlsx")
    assert document.place(("expenses", 0, "amount")) == "Dépenses!C3"
    assert document.place(("expenses", 0, "unknown", 3)) == "Dépenses!A3"
    assert document.place(("co_beneficiaries",)) == "Demandes!A3"


def test_a_workbook_that_would_unpack_too_far_is_refused_unread(workbook: Path, monkeypatch):
    monkeypatch.setattr("evaluator.workbook.reading.MAX_UNPACKED", 10_000)
    result = _run("batch", str(workbook))
    assert result.exit_code == 2 and "classeur trop volumineux" in result.stderr
    assert "la limite est de 10000 octets" in result.stderr
