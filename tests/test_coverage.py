"""Rule coverage: the possible outcomes come from the policy's data, the observed ones from the
decisions; the project's own policy is entirely exercised by tests/cases."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import POLICY_FILE
from evaluator import Decision, Policy, Registry
from evaluator.reading.parse import load_document
from evaluator.reading.problems import InputError
from evaluator.testing.cases import collect, run_case
from evaluator.testing.coverage import (
    CoverageReport,
    coverage,
    observed,
    parse_minimum,
    percent,
    policy_coverage,
    render_text,
    rule_lines,
    rules,
)

CASES_DIR = Path(__file__).parent / "cases"


def outcomes(policy: Policy) -> dict[str, list[str]]:
    return {rule.id: [branch.key for branch in rule.branches] for rule in rules(policy)}


@pytest.fixture(scope="module")
def golden_decisions() -> list[Decision]:
    registry = Registry.default()
    cases, problems = collect([CASES_DIR])
    assert not problems
    return [result.decision for case in cases if (result := run_case(case, registry)).decision is not None]


# -- the v1.0 policy and tests/cases -----------------------------------------------------------


def test_the_v1_policy_is_entirely_exercised_by_tests_cases(policy, golden_decisions):
    report = policy_coverage(policy, golden_decisions)
    missing = [f"{rule.rule.id} : {branch.label} ({branch.key})" for rule, branch in report.uncovered()]
    assert report.cases == len(golden_decisions)
    assert not missing, f"{len(missing)} issue(s) non couverte(s) par tests/cases :\n" + "\n".join(missing)
    assert report.percent == 100


def test_every_finding_of_the_golden_cases_is_an_outcome_of_its_rule(policy, golden_decisions):
    """If the engine produced a finding the coverage cannot classify, coverage would under-report."""
    table = {rule.id: rule for rule in rules(policy)}
    outside: set[str] = set()
    for decision in golden_decisions:
        for finding in decision.trace:
            rule = table.get(finding.rule)
            if rule is None:
                outside.add(finding.rule)
                continue
            if finding.rule.startswith("expenses.kinds.") and finding.branch == "set_aside":
                continue  # the line of an entity set aside: the entity's outcome, not the kind's
            assert finding.branch in {b.key for b in rule.branches}, (finding.rule, finding.branch)
    assert outside == {"amounts.grant"}  # the grant is a computation, not a rule of the policy file


# -- possible outcomes: read from the model ------------------------------------------------------


def test_the_possible_outcomes_of_v1(policy):
    table = outcomes(policy)
    assert table["window"] == ["inside", "outside"]
    assert table["beneficiaries.categories.commune"] == ["eligible"]
    assert table["beneficiaries.categories.etat"] == ["ineligible"]
    assert table["beneficiaries.categories.spl"] == ["review", "ineligible"]
    assert table["beneficiaries.categories.gip"] == ["review", "ineligible"]
    assert table["beneficiaries.unknown_category"] == ["review"]
    assert table["expenses.kinds.licence"] == ["retained"]
    assert table["expenses.kinds.hardware"] == ["excluded"]
    assert table["expenses.funded_period"] == ["prorated"]
    assert table["expenses.eligible_deployment"] == ["whole", "capped"]
    assert table["expenses.checks.licence_present"] == ["met", "failed"]
    assert table["mutualisation.mutualised_when"] == ["yes", "no"]
    assert table["rate.base.majore"] == table["rate.base.standard"] == ["taken"]
    assert table["rate.bonuses.territoires_fragiles"] == ["granted", "not_granted"]
    assert table["rate.bonuses.ia_frugale"] == ["granted", "not_granted", "missing_evidence"]
    assert table["rate.ceiling"] == ["not_reached", "applied"]
    assert table["sovereignty.criteria.data_in_eu"] == ["met", "failed"]
    assert table["sovereignty.criteria.model_provider_in_eu"] == ["met", "failed", "absent"]
    assert table["conditions.checks.public_procurement"] == ["met", "failed", "absent"]
    assert table["documents.requirements.quote"] == ["supplied", "missing"]
    assert table["documents.requirements.mutualisation_declaration"] == ["supplied", "missing", "not_required"]
    assert table["reporting.indicators.users_trained"] == ["required"]
    assert table["reporting.indicators.licences_by_entity"] == ["required", "not_required"]
    assert table["payments.tranches.advance"] == ["computed"]
    assert table["statuses"] == ["ineligible", "incomplete", "review", "eligible"]
    assert len(table["beneficiaries.categories.commune"]) == 1
    assert sum(1 for rule in table if rule.startswith("beneficiaries.categories.")) == len(
        policy.beneficiaries.categories)
    assert sum(len(keys) for keys in table.values()) == 104


def test_labels_are_french_and_say_where_a_failure_leads(policy):
    labels = {rule.id: {b.key: b.label for b in rule.branches} for rule in rules(policy)}
    assert labels["window"]["outside"] == "hors de la période → non éligible"
    assert labels["sovereignty.criteria.data_in_eu"]["failed"] == "non rempli → examen au cas par cas"
    assert labels["conditions.checks.public_procurement"]["absent"] == "non renseigné → dossier incomplet"
    assert labels["sovereignty.criteria.model_provider_in_eu"]["absent"] == "non renseigné → sans objet"
    assert labels["beneficiaries.categories.spl"] == {"review": "examen au cas par cas, si non_economic_activity",
                                                      "ineligible": "non éligible, sinon"}
    assert labels["rate.bonuses.ia_frugale"]["granted"] == "accordée (+10 %)"
    assert labels["rate.base.majore"]["taken"] == "palier retenu (40 %)"
    assert labels["statuses"]["review"] == "Examen au cas par cas"


def test_the_outcomes_follow_the_policy_when_it_is_amended(amended):
    """Nothing is written per rule id: a new tier, a bonus without evidence, a criterion whose empty
    fact now leaves the file incomplete, a requirement without condition, a category with two
    conditional cases change the outcomes."""
    policy = amended(
        ("  base:\n    majore:\n", "  base:\n    renforce:\n      label: Très grande demande\n"
                                   "      when: licence_count >= 5000\n      rate: 0.45\n    majore:\n"),
        ("      evidence:\n        label: Justificatif de démarche d'IA frugale\n"
         "        one_of: [frugal_ai_practices, environmental_impact, frugality_charter,\n"
         "                 responsible_procurement_clauses]\n"
         "        clause: \"Annexe 2 (2), justificatifs nécessaires\"\n", ""),
        ("      test: model_provider_country in eu_member_states\n      on_absent: pass\n",
         "      test: model_provider_country in eu_member_states\n      on_absent: incomplete\n"),
        ("      when: covered_co_beneficiary_count >= 1\n      signed_by_all_covered: true\n",
         "      signed_by_all_covered: true\n"),
        ("    association:\n      label: Association\n      outcome: ineligible\n",
         "    association:\n      label: Association\n      cases:\n        - when: non_economic_activity\n"
         "          outcome: eligible\n          label: Association à activité non économique\n"
         "        - when: licences > 100\n          outcome: review\n          label: Grande association\n"
         "      outcome: ineligible\n"),
    )
    table = outcomes(policy)
    assert [rule for rule in table if rule.startswith("rate.base.")] == [
        "rate.base.renforce", "rate.base.majore", "rate.base.standard"]
    assert table["rate.bonuses.ia_frugale"] == ["granted", "not_granted"]
    labels = {rule.id: [b.label for b in rule.branches] for rule in rules(policy)}
    assert labels["sovereignty.criteria.model_provider_in_eu"] == [
        "rempli", "non rempli → examen au cas par cas", "non renseigné → dossier incomplet"]
    assert table["documents.requirements.mutualisation_declaration"] == ["supplied", "missing"]
    assert table["beneficiaries.categories.association"] == ["eligible", "review", "ineligible"]


# -- observed outcomes: a tiny synthetic set, exactly ----------------------------------------------

SIMPLE = {  # examples/commune-simple.yaml: eligible, 30 %, hardware excluded, no purchase date
    ("window", "inside"), ("beneficiaries.categories.commune", "eligible"),
    ("expenses.kinds.licence", "retained"), ("expenses.kinds.training", "retained"),
    ("expenses.kinds.hardware", "excluded"), ("expenses.eligible_deployment", "whole"),
    ("expenses.checks.licence_present", "met"), ("mutualisation.mutualised_when", "no"),
    ("mutualisation.checks.applicant_share", "met"), ("rate.base.standard", "taken"),
    ("rate.bonuses.territoires_fragiles", "not_granted"), ("rate.bonuses.ia_frugale", "not_granted"),
    ("rate.ceiling", "not_reached"),
    *((f"sovereignty.criteria.{name}", "met") for name in (
        "eu_law_applicable", "no_extra_eu_jurisdiction", "data_in_eu", "editor_in_eu", "model_provider_in_eu",
        "auditability", "no_unconsented_transfer", "reversibility", "ai_act_compliance")),
    ("conditions.checks.public_procurement", "met"), ("conditions.checks.no_retroactive_funding", "absent"),
    ("documents.requirements.quote", "supplied"), ("documents.requirements.sovereignty_sheet", "supplied"),
    ("documents.requirements.sovereignty_evidence", "supplied"),
    ("documents.requirements.mutualisation_declaration", "not_required"),
    *((f"reporting.indicators.{name}", "required") for name in (
        "licences_purchased", "users_trained", "active_users", "productivity_gain", "user_satisfaction")),
    ("reporting.indicators.licences_by_entity", "not_required"),
    ("payments.tranches.advance", "computed"), ("payments.tranches.balance", "computed"),
    ("statuses", "eligible"),
}


def _troubled(application: dict[str, Any]) -> dict[str, Any]:
    """The same commune, out of the window, a 36-month licence, deployment above the licences, frugal
    AI without evidence, a model provider left empty, a purchase before submission, no quote."""
    changed = copy.deepcopy(application)
    changed["submitted_on"] = "2026-01-15"
    changed["purchase_date"] = "2026-01-10"
    changed["frugal_ai"] = True
    changed["solution"].pop("model_provider_country")
    changed["solution"]["editor_country"] = "US"
    changed["expenses"] = [{"kind": "licence", "amount": 3600, "months": 36}, {"kind": "integration", "amount": 5000}]
    changed["documents"] = [{"kind": "sovereignty_sheet"}, {"kind": "editor_attestation"}]
    return changed


TROUBLED = {
    ("window", "outside"), ("beneficiaries.categories.commune", "eligible"),
    ("expenses.kinds.licence", "retained"), ("expenses.kinds.integration", "retained"),
    ("expenses.funded_period", "prorated"), ("expenses.eligible_deployment", "capped"),
    ("expenses.checks.licence_present", "met"), ("mutualisation.mutualised_when", "no"),
    ("mutualisation.checks.applicant_share", "met"), ("rate.base.standard", "taken"),
    ("rate.bonuses.territoires_fragiles", "not_granted"), ("rate.bonuses.ia_frugale", "missing_evidence"),
    ("rate.ceiling", "not_reached"),
    *((f"sovereignty.criteria.{name}", "met") for name in (
        "eu_law_applicable", "no_extra_eu_jurisdiction", "data_in_eu", "auditability", "no_unconsented_transfer",
        "reversibility", "ai_act_compliance")),
    ("sovereignty.criteria.editor_in_eu", "failed"), ("sovereignty.criteria.model_provider_in_eu", "absent"),
    ("conditions.checks.public_procurement", "met"), ("conditions.checks.no_retroactive_funding", "failed"),
    ("documents.requirements.quote", "missing"), ("documents.requirements.sovereignty_sheet", "supplied"),
    ("documents.requirements.sovereignty_evidence", "supplied"),
    ("documents.requirements.mutualisation_declaration", "not_required"),
    *((f"reporting.indicators.{name}", "required") for name in (
        "licences_purchased", "users_trained", "active_users", "productivity_gain", "user_satisfaction")),
    ("reporting.indicators.licences_by_entity", "not_required"),
    ("statuses", "ineligible"),  # an ineligible application has no payment
}


def test_observed_outcomes_of_one_decision_are_exactly_these(policy, decide, application):
    assert observed(rules(policy), decide(application)) == SIMPLE
    assert observed(rules(policy), decide(_troubled(application))) == TROUBLED


def test_coverage_of_a_tiny_case_set_is_exact(policy, decide, application):
    decisions = [decide(application), decide(application), decide(_troubled(application))]
    report = policy_coverage(policy, decisions)
    hits = {(rule.rule.id, b.branch.key): b.cases for rule in report.rules for b in rule.branches}
    assert {pair for pair, count in hits.items() if count} == SIMPLE | TROUBLED
    assert hits[("statuses", "eligible")] == 2
    assert hits[("statuses", "ineligible")] == 1
    assert hits[("beneficiaries.categories.commune", "eligible")] == 3
    assert hits[("statuses", "review")] == 0
    assert report.cases == 3
    assert report.covered == len(SIMPLE | TROUBLED)
    assert report.total == 104
    assert report.percent == percent(len(SIMPLE | TROUBLED), 104)
    by_rule = {rule.rule.id: rule for rule in report.rules}
    assert (by_rule["window"].covered, by_rule["window"].total) == (2, 2)
    assert (by_rule["rate.bonuses.ia_frugale"].covered, by_rule["rate.bonuses.ia_frugale"].total) == (2, 3)
    assert ("beneficiaries.categories.spl", "review") in {(r.rule.id, b.key) for r, b in report.uncovered()}


def test_a_co_beneficiary_of_a_conditional_category_and_an_unknown_one(policy, decide, application):
    application = copy.deepcopy(application)
    application["co_beneficiaries"] = [
        {"name": "SPL Numérique", "siren": "213105554", "category": "spl", "licences": 5,
         "non_economic_activity": True},
        {"name": "Office", "siren": "210100012", "category": "office_intercommunal", "licences": 5},
        {"name": "GIP", "siren": "216901231", "category": "gip", "licences": 5},
    ]
    pairs = observed(rules(policy), decide(application))
    assert {("beneficiaries.categories.spl", "review"), ("beneficiaries.unknown_category", "review"),
            ("beneficiaries.categories.gip", "ineligible")} <= pairs
    assert ("beneficiaries.categories.spl", "ineligible") not in pairs


def test_each_version_is_covered_by_the_decisions_taken_under_it(policy, amended, decide, application):
    draft = amended(('version: "1.0"\nstatus: published', 'version: "1.1"\nstatus: draft'))
    report = coverage([policy, draft], [decide(application)])
    assert [(p.version, p.cases, p.covered) for p in report.policies] == [("1.0", 1, len(SIMPLE)), ("1.1", 0, 0)]
    assert report.total == 2 * 104
    assert report.covered == len(SIMPLE)


# -- figures, threshold, output --------------------------------------------------------------------


def test_the_percentage_is_never_rounded_up():
    assert percent(199, 200) == Decimal("99.5")
    assert percent(1999, 2000) == Decimal("99.9")
    assert percent(2, 3) == Decimal("66.6")
    assert percent(0, 0) == 100
    assert percent(104, 104) == 100


def test_the_threshold_is_compared_on_exact_counts(policy, decide, application):
    report = coverage([policy], [decide(application)])
    exact = Decimal(report.covered * 100) / report.total
    assert report.meets(Decimal(0))
    assert report.meets(exact)
    assert not report.meets(exact + Decimal("0.0001"))
    assert not report.meets(Decimal(100))


@pytest.mark.parametrize(("text", "value"), [("100", Decimal(100)), ("95.5", Decimal("95.5")),
                                             ("95,5", Decimal("95.5")), ("90 %", Decimal(90)), ("0", Decimal(0))])
def test_parse_minimum(text, value):
    assert parse_minimum(text) == value


@pytest.mark.parametrize("text", ["101", "-1", "abc", "nan", "inf", ""])
def test_parse_minimum_refuses_what_is_not_a_percentage(text):
    with pytest.raises(InputError) as caught:
        parse_minimum(text)
    assert "n'est pas un pourcentage de 0 à 100" in caught.value.problems[0].message


def test_rule_lines_point_into_the_policy_file(policy):
    document = load_document(POLICY_FILE.read_bytes(), str(POLICY_FILE))
    lines = rule_lines(document, rules(policy))
    text = POLICY_FILE.read_text(encoding="utf-8").splitlines()
    assert text[lines["rate.bonuses.ia_frugale"] - 1].strip() == "ia_frugale:"
    assert text[lines["sovereignty.criteria.data_in_eu"] - 1].strip() == "data_in_eu:"
    assert text[lines["window"] - 1].strip() == "window:"
    assert set(lines) == {rule.id for rule in rules(policy)}


def test_the_terminal_table_is_french_and_lists_what_remains(policy, decide, application):
    report = coverage([policy], [decide(application)])
    lines = render_text(report, Decimal(100))
    text = "\n".join(lines)
    assert lines[0] == "Couverture des règles : guichet-cofinancement 1.0 (1 cas)"
    assert any(line.split()[:2] == ["window", "1/2"] and "✓ dans la période" in line
               and "✗ hors de la période → non éligible" in line for line in lines)
    assert "Issues non couvertes" in text
    assert "beneficiaries.categories.spl : examen au cas par cas, si non_economic_activity" in text
    assert lines[-1].startswith(f"Couverture : {str(report.percent).replace('.', ',')} % "
                                f"({report.covered}/104 issues) ; minimum exigé : 100 %, NON ATTEINT")


def test_the_json_for_tools(policy, decide, application):
    report = coverage([policy], [decide(application)], {"1.0": {"window": 39}})
    data = json.loads(json.dumps(report.to_dict(Decimal(90))))
    assert data["covered"] == len(SIMPLE) and data["total"] == 104
    assert data["minimum"] == "90" and data["meets_minimum"] is False
    assert data["percent"] == str(report.percent)
    window = data["policies"][0]["rules"][0]
    assert window == {
        "rule": "window", "label": "Période de dépôt des demandes", "clause": "§4 Modalités", "line": 39,
        "covered": 1, "total": 2,
        "outcomes": [{"outcome": "inside", "label": "dans la période", "covered": True, "cases": 1},
                     {"outcome": "outside", "label": "hors de la période → non éligible", "covered": False,
                      "cases": 0}],
    }
    assert {"rule": "window", "outcome": "outside"}.items() <= data["uncovered"][0].items()
    assert len(data["uncovered"]) == 104 - len(SIMPLE)


def test_an_empty_report_is_complete():
    assert CoverageReport(()).percent == 100
    assert CoverageReport(()).meets(Decimal(100))


def test_no_decision_covers_nothing(policy):
    report = policy_coverage(policy, [])
    assert (report.cases, report.covered, report.total) == (0, 0, 104)
    assert render_text(coverage([policy], []))[0].endswith("(aucun cas ne l'applique)")
