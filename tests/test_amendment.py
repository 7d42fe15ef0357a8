"""Publishing an amendment without touching code: the test draft tests/amendment/1.1.yaml (fictitious)
changes the 500-licence threshold, a bonus value and a category outcome, and adds a bonus on an
existing fact. It validates, and decisions, diff, impact and documentation follow."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from conftest import policy_directory
from evaluator import Registry
from evaluator.versions.authoring import publish
from evaluator.versions.diff import compare

DRAFT = Path(__file__).resolve().parent / "amendment" / "1.1.yaml"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return policy_directory(tmp_path, {"1.1.yaml": DRAFT.read_text(encoding="utf-8")})


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, list(args))
    return result.exit_code, result.output


def test_the_draft_validates_with_the_published_versions(directory):
    code, output = _run("validate", str(directory))
    assert code == 0, output
    assert "1.0 (publiée, à partir du 22 mai 2026) ; 1.1 (brouillon, à partir du 1er janvier 2027)" in output


def test_decisions_follow_the_amendment(directory, application):
    registry = Registry.from_directory(directory)
    application["submitted_on"] = "2027-02-01"
    application["applicant"]["licences"] = 350
    assert registry.evaluate(application).rate.final == Decimal("0.30")
    assert registry.evaluate(application, version="1.1").rate.final == Decimal("0.40")
    application["frugal_ai"] = True
    application["documents"].append({"kind": "frugality_charter"})
    application["solution"]["kind"] = "business_solution"
    bonuses = {b.id: b.value for b in registry.evaluate(application, version="1.1").rate.bonuses}
    assert bonuses == {"ia_frugale": Decimal("0.05"), "solution_metier": Decimal("0.05")}
    application["applicant"]["category"] = "association"
    assert registry.evaluate(application).status == "ineligible"
    assert registry.evaluate(application, version="1.1").status == "review"


def test_diff_in_business_words(directory):
    registry = Registry.from_directory(directory)
    texts = [c.text for c in compare(registry.version("1.0"), registry.version("1.1"))]
    assert "Seuil de licences du taux majoré : 500 → 300" in texts
    assert "Bonification « IA frugale », valeur : +10 % → +5 %" in texts
    assert "Catégorie Association : non éligible → examen au cas par cas" in texts
    assert "Nouvelle bonification « solution métier » (+5 %)" in texts
    assert "En vigueur à partir du : 22 mai 2026 → 1er janvier 2027" in texts


def test_diff_command_formats(directory):
    code, text = _run("diff", "1.0", "1.1", "--policy-dir", str(directory))
    assert code == 0 and "  - Seuil de licences du taux majoré : 500 → 300\n" in text
    code, markdown = _run("diff", "1.0", "1.1", "--policy-dir", str(directory), "--format", "markdown")
    assert markdown.startswith("## Changements de la version 1.0 à la version 1.1")
    code, raw = _run("diff", "1.0", "1.1", "--policy-dir", str(directory), "--format", "json")
    changes = json.loads(raw)["changes"]
    threshold = next(c for c in changes if c["path"] == "parameters.licence_threshold")
    assert (threshold["change"], threshold["old"], threshold["new"]) == ("changed", "500", "300")
    code, same = _run("diff", "1.0", "1.0", "--policy-dir", str(directory))
    assert "aucun changement de règle" in same


def test_impact_on_a_portfolio(directory, application, tmp_path):
    def line(**changes: object) -> str:
        data = json.loads(json.dumps(application))
        data["applicant"].update(changes)
        return json.dumps(data)

    portfolio = tmp_path / "portefeuille.jsonl"
    portfolio.write_text("\n".join([line(), line(licences=350), line(category="association"), "{}"]) + "\n",
                         encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["impact", "--from", "1.0", "--to", "1.1", str(portfolio), "--policy-dir",
                                           str(directory), "--format", "json"])
    assert result.exit_code == 2, result.output  # the line « {} » is refused, and said so (issue 14)
    assert "1 ligne refusée sur" in result.stderr
    report = json.loads(result.stdout)
    assert report["changes"] == {"unchanged": 1, "status": 1, "grant_up": 1, "grant_down": 0}
    assert (report["refused"], [r["line"] for r in report["invalid"]]) == (1, [4])
    assert [(t["from"], t["to"], t["applications"]) for t in report["transitions"]] == [("ineligible", "review", 1)]
    # before: 5 220 + 5 220 + 0 ; after: 5 220 + 6 960 (40 %) + 5 220 (association now reviewed, 30 %)
    assert (report["grant_total"]["before"], report["grant_total"]["after"]) == ("10440.00", "17400.00")
    assert [c["line"] for c in report["listed"]] == [2, 3]
    _, text = _run("impact", "--from", "1.0", "--to", "1.1", str(portfolio), "--policy-dir", str(directory))
    assert "Subvention totale : 10 440,00 € → 17 400,00 € (+6 960,00 €)" in text


def test_publish_then_in_force(directory, application):
    code, output = _run("policy", "publish", "1.1", "--policy-dir", str(directory), "--backdate")  # (whatever today)
    assert code == 0, output
    assert "Version 1.1 publiée" in output and "lock.json" in output
    registry = Registry.from_directory(directory)
    assert registry.in_force(date(2027, 1, 1)).version == "1.1"
    application["submitted_on"] = "2027-01-01"
    assert registry.evaluate(application).policy.version == "1.1"
    with pytest.raises(Exception, match="déjà publiée"):
        publish(registry, "1.1", date(2027, 1, 2))


def test_policy_new_prints_what_it_did(directory):
    code, output = _run("policy", "new", "1.2", "--from", "1.1", "--effective-from", "2027-06-01",
                        "--policy-dir", str(directory))
    assert code == 0, output
    assert f"Brouillon de la version 1.2 écrit : {directory / '1.2.yaml'}" in output
    code, output = _run("policy", "new", "1.2", "--from", "1.1", "--effective-from", "2027-06-01",
                        "--policy-dir", str(directory))
    assert code == 2 and "la version 1.2 existe déjà" in output


def test_docs_render_every_section_with_the_rate_table(directory, tmp_path):
    code, markdown = _run("docs", "--version", "1.0", "--policy-dir", str(directory))
    assert code == 0
    for title in ("Période de dépôt", "Bénéficiaires", "Dépenses", "Mutualisation", "Niveau de financement",
                  "Tableau des taux", "Souveraineté de la solution", "Pièces du dossier", "Versements",
                  "Indicateurs d'impact", "Notes d'interprétation"):
        assert f"## {title}" in markdown or f"### {title}" in markdown
    assert "| Autres demandes éligibles | oui | oui | 50 % |" in markdown
    assert "50 % (plafonné, 60 % sans plafond)" in markdown
    target = tmp_path / "doc.html"
    code, output = _run("docs", "--version", "1.1", "--format", "html", "--output", str(target),
                        "--policy-dir", str(directory))
    assert code == 0 and f"Documentation de la version 1.1 écrite : {target}" in output
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and "solution métier" in html


def test_schema_command_prints_the_policy_schema():
    code, output = _run("schema", "policy")
    assert code == 0
    assert json.loads(output)["title"] == "Politique du guichet de cofinancement"
