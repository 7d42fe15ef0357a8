"""Amounts as data: the fictitious version 1.2 (tests/amendment/amounts/1.2.yaml), made from 1.0 by
data edits alone, caps the licences retained per licence, the deployment at 40 % of the eligible
total, the grant per inhabitant of each entity and per application, sets minimum amounts, and
declares a new field (each entity's population). Its golden cases check the decisions to the cent."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli
from conftest import decide_with, edited, policy_directory, refused
from evaluator import InputError, Registry, load_policy
from evaluator.versions.budget import envelopes

HERE = Path(__file__).resolve().parent / "amendment" / "amounts"
DRAFT = HERE / "1.2.yaml"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return policy_directory(tmp_path, {"1.2.yaml": DRAFT.read_text(encoding="utf-8")})


@pytest.fixture
def draft_text() -> str:
    return DRAFT.read_text(encoding="utf-8")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, list(args))
    return result.exit_code, result.output


def _under_draft(application: dict[str, Any], population: int = 3000) -> dict[str, Any]:
    application["submitted_on"] = "2027-08-01"
    application["applicant"]["population"] = population
    return application


def test_the_golden_cases_of_the_amendment_hold_to_the_cent(directory):
    code, output = _run("test", str(HERE / "cases.yaml"), "--policy-dir", str(directory))
    assert code == 0, output
    assert "9 passed, 0 failed" in output


def test_the_new_field_is_required_by_the_draft_and_refused_by_1_0(directory, application):
    registry = Registry.from_directory(directory)
    application["submitted_on"] = "2027-08-01"
    with pytest.raises(InputError) as missing:
        registry.evaluate(application, version="1.2")
    assert any("population" in problem.message for problem in missing.value.problems)
    application["applicant"]["population"] = 3000
    assert registry.evaluate(application, version="1.2").status == "eligible"
    with pytest.raises(InputError) as unknown:
        registry.evaluate(application)  # 1.0 governs: the draft is not published
    assert any("1.2" in (problem.hint or "") for problem in unknown.value.problems)


@pytest.mark.parametrize(("split", "licence", "deployment"), [
    ("pro_rata", "800.00", "200.00"), ("licence_first", "1000.00", "0.00"), ("deployment_first", "700.00", "300.00")])
def test_a_capped_grant_is_split_as_the_policy_says(draft_text, application, split, licence, deployment):
    # 1 200 € of licences and 300 € of deployment at 30 %, capped at 5 € × 200 inhabitants = 1 000 €
    policy = load_policy(edited(draft_text, ("  split: pro_rata", f"  split: {split}")).encode(), "split.yaml")
    application = _under_draft(application, population=200)
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12}, {"kind": "training", "amount": 1000}]
    amounts = decide_with(policy, application).amounts
    assert (amounts.grant_licence, amounts.grant_deployment, amounts.grant_total) == (
        Decimal(licence), Decimal(deployment), Decimal("1000.00"))


def test_a_cap_per_line_bounds_the_lines_of_one_kind(draft_text, application):
    line_cap = ("  caps:\n    per_licence:",
                "  caps:\n    training_line:\n      label: Formation plafonnée à 800 € par ligne\n"
                "      applies_to: training\n      per: line\n      limit: 800\n    per_licence:")
    policy = load_policy(edited(draft_text, line_cap).encode(), "line.yaml")
    application = _under_draft(application)
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12}, {"kind": "training", "amount": 1000},
                               {"kind": "training", "amount": 500}, {"kind": "integration", "amount": 900}]
    decision = decide_with(policy, application)
    assert decision.amounts.eligible_deployment == Decimal("2200.00")  # 800 + 500 + 900
    capped = [f for f in decision.findings if f.rule == "expenses.caps.training_line"]
    assert [f.message for f in capped] == [
        "Formation plafonnée à 800 € par ligne : ligne 2, 1 000,00 € ramenés à 800,00 €."]


FIELDS = ("  aggregates:\n", (
    "    council_deliberation: {at: application, type: boolean, label: délibération de l'assemblée, default: false}\n"
    "    open_source: {at: solution, type: boolean, label: solution sous licence libre, default: false}\n"
    "    trainees: {at: expense, type: integer, minimum: 0, label: agents formés par la ligne, default: 0}\n"
    "    certified: {at: document, type: boolean, label: pièce certifiée conforme, default: false}\n"
    "  aggregates:\n"
    "    certified_quotes:\n      label: devis certifiés\n      over: documents\n      operation: count\n"
    "      where: kind == 'quote' and certified\n"))
USES = (
    ("    public_procurement:\n", "    deliberation:\n      label: L'assemblée a délibéré\n"
                                 "      test: council_deliberation and certified_quotes >= 1\n"
                                 "      on_fail: incomplete\n    public_procurement:\n"),
    ("    ia_frugale:\n", "    logiciel_libre:\n      label: Bonification « logiciel libre »\n      when: open_source\n"
                       "      value: 0.05\n    ia_frugale:\n"),
    ("  caps:\n    per_licence:",
     "  caps:\n    per_trainee:\n      label: Formation plafonnée à 200 € par agent formé\n"
     "      applies_to: training\n      per: line\n      limit: 200 * trainees\n    per_licence:"),
)


def test_a_new_field_at_each_level_is_read_where_staff_write_it(draft_text, application):
    """A field of the application, of its solution, of each expense line and of each document,
    added by a data edit, read by a criterion, a bonus, a cap per line and an aggregate."""
    policy = load_policy(edited(draft_text, FIELDS, *USES).encode(), "fields.yaml")
    application = _under_draft(application)
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12},
                               {"kind": "training", "amount": 1000, "trainees": 3}]
    before = decide_with(policy, application)
    assert before.status == "incomplete"
    assert before.amounts.eligible_deployment == Decimal("600.00")  # 200 € × 3 agents
    assert before.rate.final == Decimal("0.30")
    application.update(council_deliberation=True)
    application["solution"]["open_source"] = True
    application["documents"][0]["certified"] = True
    after = decide_with(policy, application)
    assert (after.status, after.rate.final) == ("eligible", Decimal("0.35"))


LARGE_GRANT = (
    ("    mutualisation_declaration: {label: Déclaration de mutualisation co-signée}\n",
     "    mutualisation_declaration: {label: Déclaration de mutualisation co-signée}\n"
     "    deliberation: {label: Délibération de l'assemblée}\n"),
    ("  requirements:\n",
     "  requirements:\n    deliberation:\n      label: Délibération, au-delà de 1 000 € de subvention\n"
     "      one_of: [deliberation]\n      when: grant_total > 1000 and rate < 40 %\n      on_missing: incomplete\n"),
)


@pytest.mark.parametrize(("population", "status"), [(3000, "incomplete"), (200, "eligible")])
def test_later_rules_may_read_the_rate_and_the_grant(draft_text, application, population, status):
    # 1 500 € of grant asks for the deliberation; capped at 5 € × 200 inhabitants, 1 000 € does not
    policy = load_policy(edited(draft_text, *LARGE_GRANT).encode(), "grant.yaml")
    application = _under_draft(application, population)
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12}, {"kind": "training", "amount": 1000}]
    assert decide_with(policy, application).status == status


@pytest.mark.parametrize(("edit", "message"), [
    (("      limit: grant_cap\n", "      limit: grant_total\n"),
     "« grant_total » n'est connu qu'à partir de l'étape « le calcul de la subvention » ; cette expression est "
     "évaluée à l'étape « le calcul du taux »"),
    (("      test: requested_total >= minimum_request", "      test: grant_total >= minimum_request"),
     "« grant_total » n'est connu qu'à partir de l'étape « le calcul de la subvention »"),
    (("      applies_to: licence\n      per: entity", "      applies_to: hardware\n      per: entity"),
     "« hardware » n'est pas un groupe de dépenses retenu"),
    (("      limit: licence_unit_cap * licences", "      limit: licence_unit_cap * licence_count"),
     "licence_count"),
])
def test_a_misplaced_amount_is_refused_where_it_is_written(draft_text, edit, message):
    problems = refused(draft_text, edit)
    assert any(message in problem.message for problem in problems), [p.message for p in problems]
    assert all(problem.line for problem in problems)


def test_docs_show_the_caps_and_the_split(directory):
    code, output = _run("docs", "--version", "1.2", "--policy-dir", str(directory))
    assert code == 0, output
    assert "## Subvention" in output
    assert "Plafond de 50 000,00 € par demande" in output
    assert "au prorata : la part des licences arrondie, le reste au déploiement" in output
    assert "Plafond de 300,00 € par licence et par an" in output


def test_diff_tells_the_amendment_in_words(directory):
    code, output = _run("diff", "1.0", "1.2", "--policy-dir", str(directory))
    assert code == 0, output
    for line in (
        "Nouvelle information de la demande « population municipale de l'entité (INSEE) » (chaque entité ; "
        "nombre entier ; obligatoire)",
        "Nouveau plafond de 50 000,00 € par demande",
        "Nouveau plafond de 5,00 € par habitant de chaque entité (plafond de la subvention par habitant de chaque "
        "entité (5,00 €) × population municipale de l'entité (INSEE) (`grant_per_inhabitant * population`))",
        "partage d'une subvention plafonnée : au prorata : la part des licences arrondie, le reste au déploiement",
        "test : subvention, plafonds appliqués est au moins subvention minimale (1 000,00 €) "
        "(`grant_total >= minimum_grant`)",
        "s'il n'est pas rempli : non éligible",
        "(`min(deployment_requested, eligible_licence * deployment_max_share / (1 - deployment_max_share))`)",
    ):
        assert line in output, line


def test_a_share_written_as_a_percentage_is_refused_with_how_to_write_it(draft_text):
    problems = refused(draft_text, ("      share: 0.50\n", "      share: 50 %\n"))
    assert [(p.message, p.hint) for p in problems] == [(
        "valeur « 50 % » non reconnue ; valeurs admises : rest",
        "une part s'écrit comme une fraction : 30 % s'écrit 0.30 ; le dernier versement reçoit le reste (rest)")]


def test_the_budget_report_is_right_to_the_cent_on_a_hand_computed_portfolio(draft_text, application):
    policy = load_policy(draft_text.encode(), "1.2.yaml")
    application["expenses"] = [{"kind": "licence", "amount": 4000, "months": 12}, {"kind": "training", "amount": 1000}]
    portfolio = []  # 1 500 € each, 1 000 € at 200 inhabitants, ineligible at 100 (under the 1 000 € minimum)
    for line, (submitted, population) in enumerate(
            [("2027-08-01", 3000), ("2027-08-15", 100), ("2027-09-01", 200), ("2027-10-01", 3000),
             ("2028-02-01", 3000)], start=1):
        item = _under_draft(copy.deepcopy(application), population)
        item.update(submitted_on=submitted, reference=f"R{line}")
        portfolio.append((line, decide_with(policy, item)))
    whole, year_2027, year_2028 = envelopes(policy.budget, reversed(portfolio))  # submission order, not file order
    assert [e.to_dict() for e in (whole, year_2027, year_2028)] == [
        {"envelope": "window", "year": None, "label": "Toute la période", "credits": "5000.00",
         "committed": "5500.00", "remaining": "-500.00",
         "applications": 4, "exhausted": {"line": 5, "reference": "R5", "submitted_on": "2028-02-01",
                                          "grant": "1500.00", "covered": "1000.00"}},
        {"envelope": "year", "year": 2027, "label": "Année 2027", "credits": "3000.00",
         "committed": "4000.00", "remaining": "-1000.00",
         "applications": 3, "exhausted": {"line": 4, "reference": "R4", "submitted_on": "2027-10-01",
                                          "grant": "1500.00", "covered": "500.00"}},
        {"envelope": "year", "year": 2028, "label": "Année 2028", "credits": "2000.00",
         "committed": "1500.00", "remaining": "500.00",
         "applications": 1, "exhausted": None}]
    assert year_2027.text() == (
        "Année 2027 : 3 000,00 € de crédits, 4 000,00 € engagés par 3 demande(s) éligible(s) ; dépassement de "
        "1 000,00 €. Les crédits sont épuisés le 1er octobre 2027, par la demande R4 (ligne 4) (1 500,00 €, dont "
        "500,00 € couverts).")
