"""``guichet diff`` a reviewer can sign off: each rule added or changed with its condition in words,
its value or share, its outcomes and its clause; a text that quotes a changed parameter is not
reported as changed; the same changes as a standalone, accessible HTML page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from conftest import edited, policy_directory
from evaluator import Registry
from evaluator.versions.diff import Change, compare

BONUS = "Bonification « collectivité labellisée <IA> & co »"
EDITS = (
    ('version: "1.0"\nstatus: published\neffective_from: 2026-05-22',
     'version: "1.1"\nstatus: draft\neffective_from: 2027-01-01'),
    ("    value: 500\n", "    value: 300\n"),  # quoted by a tier's label, read by its condition
    ("    value: 0.40\n    unit: fraction", "    value: 0.30\n    unit: fraction"),  # quoted by an interpretation
    ("formula: min(deployment_requested, eligible_licence)",
     "formula: min(deployment_requested, eligible_licence * 40 % / 60 %)"),
    ("  ceiling:\n", f"""    labellisee:
      label: {BONUS}
      when: applicant_overseas and licence_count >= 100
      value: 0.05
      clause: Avenant (fictif)
  ceiling:
"""),
    ("    balance:\n", """    interim:
      label: Versement intermédiaire
      share: 0.20
      condition: Après la formation des utilisateurs
    balance:
"""),
    ("\npayments:\n", """    frugality_evidence:
      label: Charte de sobriété numérique
      one_of: [frugality_charter]
      when: frugal_ai
      on_missing: review

payments:
"""),
)


@pytest.fixture
def directory(tmp_path: Path, policy_text: str) -> Path:
    return policy_directory(tmp_path, {"1.1.yaml": edited(policy_text, *EDITS)})


@pytest.fixture
def changes(directory: Path) -> dict[str, list[Change]]:
    registry = Registry.from_directory(directory)
    found: dict[str, list[Change]] = {}
    for change in compare(registry.version("1.0"), registry.version("1.1")):
        found.setdefault(change.path, []).append(change)
    return found


def test_only_what_the_draft_writes_differently_is_reported(changes):
    assert list(changes) == ["effective_from", "parameters.licence_threshold", "parameters.qpv_share_threshold",
                             "expenses.eligible_deployment", "rate.bonuses.labellisee",
                             "documents.requirements.frugality_evidence", "payments.tranches.interim"]
    [threshold] = changes["parameters.licence_threshold"]
    assert (threshold.text, threshold.details) == ("Seuil de licences du taux majoré : 500 → 300",
                                                   (("clause", "§3 Niveau de financement"),))
    # the tier « … au moins {licence_threshold} licences » and the interpretation quoting
    # {qpv_share_threshold} changed only with the parameters: no « Libellé modifié », reported once
    assert all(change.field != "libellé" for group in changes.values() for change in group)


def test_a_new_bonus_says_its_condition_and_value(changes):
    [bonus] = changes["rate.bonuses.labellisee"]
    assert bonus.text == "Nouvelle bonification « collectivité labellisée <IA> & co » (+5 %)"
    assert bonus.details == (
        ("condition", "entité située en outre-mer (demandeur) et licences des entités couvertes est au moins 100 "
                      "(`applicant_overseas and licence_count >= 100`)"),
        ("justificatif", "aucun"),
        ("issues possibles", "accordée (+5 %) ; conditions non réunies"),
        ("clause", "Avenant (fictif)"))


def test_a_new_tranche_says_its_share_and_condition(changes):
    [tranche] = changes["payments.tranches.interim"]
    assert tranche.text == "Nouveau versement intermédiaire"
    details = dict(tranche.details)
    assert (details["part"], details["condition"]) == ("20 %", "Après la formation des utilisateurs")


def test_a_new_required_document_says_its_consequence(changes):
    [requirement] = changes["documents.requirements.frugality_evidence"]
    assert requirement.text == "Nouvelle pièce exigée « Charte de sobriété numérique »"
    details = dict(requirement.details)
    assert details["si elle manque"] == "examen au cas par cas"
    assert details["quand"] == "démarche d'IA frugale déclarée (`frugal_ai`)"
    assert details["issues possibles"] == "fournie ; manquante → examen au cas par cas ; non requise"


def test_a_changed_formula_in_words_and_as_written(changes):
    [formula] = changes["expenses.eligible_deployment"]
    assert (formula.field, formula.old, formula.new) == (
        "formule",
        "le plus petit de déploiement demandé par les entités couvertes et licences éligibles "
        "(`min(deployment_requested, eligible_licence)`)",
        "le plus petit de déploiement demandé par les entités couvertes et licences éligibles × 40 % ÷ 60 % "
        "(`min(deployment_requested, eligible_licence * 40 % / 60 %)`)")
    assert formula.text == f"Plafond des dépenses de déploiement : {formula.old} → {formula.new}"
    assert ("clause", "§2 Dépenses éligibles, note 7") in formula.details


def _run(directory: Path, *options: str) -> str:
    result = CliRunner().invoke(cli.main, ["diff", "1.0", "1.1", "--policy-dir", str(directory), *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_text_and_markdown_give_each_rule_under_its_change(directory):
    text = _run(directory)
    assert ("  - Nouvelle bonification « collectivité labellisée <IA> & co » (+5 %)\n"
            "      condition : entité située en outre-mer (demandeur) et licences des entités couvertes est au moins "
            "100 (`applicant_overseas and licence_count >= 100`)\n"
            "      justificatif : aucun\n") in text
    markdown = _run(directory, "--format", "markdown")
    assert "- Nouveau versement intermédiaire\n  - part : 20 %\n" in markdown


class _Page(HTMLParser):
    """What a reader of the page meets: its elements, attributes, headings and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta",):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag, f"</{tag}> closes another element"

    def handle_data(self, data: str) -> None:
        if self.open:
            self.text.setdefault(self.open[-1], []).append(data)


def test_the_html_page_is_standalone_accessible_and_escaped(directory):
    page = _run(directory, "--format", "html")
    assert page.startswith("<!DOCTYPE html>\n")
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    assert parsed.open == []
    tags = [tag for tag, _ in parsed.tags]
    assert dict(parsed.tags)["html"] == {"lang": "fr"}
    assert tags.count("h1") == 1 and tags.count("main") == 1 and "table" in tags
    assert not {"script", "link", "img", "iframe"} & set(tags)
    assert all("src" not in attrs and (attrs.get("href") or "#").startswith("#") for _, attrs in parsed.tags)
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in parsed.tags if tag == "th")
    assert BONUS in parsed.text["h2"]  # escaped in the file, read back as written
    assert "&lt;IA&gt; &amp; co" in page and "<IA>" not in page
    assert "Condition" in parsed.text["th"] and "Issues possibles" in parsed.text["th"]
    assert "applicant_overseas and licence_count >= 100" in parsed.text["code"]
