"""Loading a policy: the bundled v1.0 loads; a broken policy is refused with every problem, each
with its line and a French message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import decide_with, refused
from evaluator import load_policy


def _line_of(policy_text: str, needle: str) -> int:
    return next(n for n, line in enumerate(policy_text.splitlines(), start=1) if needle in line)


def test_bundled_policy_loads_with_its_rules(policy):
    assert (policy.id, policy.version, policy.status) == ("guichet-cofinancement", "1.0", "published")
    assert [t.rate for t in policy.rate.tiers] == [Decimal("0.40"), Decimal("0.30")]
    assert policy.rate.ceiling.value == Decimal("0.50")
    assert {"GR", "EL"} <= set(policy.lists["eu_member_states"].values)
    assert "NO" not in policy.lists["eu_member_states"].values
    assert len(policy.sha256) == 64


def test_every_rule_carries_a_clause(policy):
    rules = [*policy.beneficiaries.categories.values(), *policy.expenses.kinds.values(), *policy.rate.tiers,
             *policy.rate.bonuses, *policy.sovereignty.checks, *policy.conditions.checks,
             *policy.documents.requirements, *policy.payments.tranches, *policy.reporting.indicators,
             *policy.parameters.values(), *policy.lists.values()]
    assert all(rule.clause for rule in rules)


def test_labels_quote_parameters(policy):
    assert policy.rate.tiers[0].label == "Demande mutualisée ou portant sur au moins 500 licences"
    assert "10 %" in policy.mutualisation.checks[0].label


def test_unknown_fact_is_refused_at_its_line(policy_text):
    problems = refused(policy_text, ("when: mutualised or licence_count >= licence_threshold",
                                       "when: mutualised or licence_cont >= licence_threshold"))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.line == _line_of(policy_text, "when: mutualised or licence_count")
    assert "nom inconnu : « licence_cont »" in problem.message
    assert problem.hint == "vouliez-vous dire « licence_count » ?"
    assert problem.render().startswith(f"broken.yaml:{problem.line}:")


def test_all_problems_of_a_file_in_one_run(policy_text):
    problems = refused(
        policy_text,
        ("test: not extra_eu_jurisdiction", "test: not extra_eu_jurisdiction and"),
        ("test: editor_country in eu_member_states", "test: editor_country in eu_states"),
        ("one_of: [quote]", "one_of: [devis]"),
    )
    messages = " | ".join(p.message for p in problems)
    assert len(problems) == 3, messages
    assert "syntaxe" in messages and "eu_states" in messages and "devis" in messages
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_duplicate_key_is_refused(policy_text):
    problems = refused(policy_text, ("    region: {label: Région, outcome: eligible}\n",
                                       "    region: {label: Région, outcome: eligible}\n"
                                       "    region: {label: Région, outcome: eligible}\n"))
    assert "clé en double : « region »" in problems[0].message
    assert problems[0].line == _line_of(policy_text, "    region: {label") + 1


@pytest.mark.parametrize("rate", ["1.5", "40", "-0.1"])
def test_out_of_range_rate_is_refused(policy_text, rate):
    problems = refused(policy_text, ("      rate: 0.30\n", f"      rate: {rate}\n"))
    assert problems[0].path == ("rate", "base", "standard", "rate")
    assert problems[0].hint == "un taux s'écrit comme une fraction : 40 % s'écrit 0.40"


def test_a_rule_without_clause_is_refused(policy_text):
    parameter = "    label: Seuil de licences du taux majoré\n    value: 500\n    unit: licences\n"
    problems = refused(policy_text, (f'{parameter}    clause: "§3 Niveau de financement"\n', parameter))
    assert problems[0].message == "clé obligatoire manquante : « clause »"


def test_misspelled_key_suggests_the_right_one(policy_text):
    problems = refused(policy_text, ("  on_outside: ineligible", "  on_outsde: ineligible"))
    messages = [p.message for p in problems]
    assert "clé inconnue : « on_outsde »" in messages
    assert any(p.hint == "vouliez-vous dire « on_outside » ?" for p in problems)


def test_wrong_enum_lists_the_allowed_values(policy_text):
    problems = refused(policy_text, ("      on_fail: review\n      clause: \"Annexe 4\"",
                                       "      on_fail: examen\n      clause: \"Annexe 4\""))
    assert "valeurs admises : ineligible, incomplete, review" in problems[0].message


def test_version_keeps_its_text(policy_text):
    problems = refused(policy_text, ('version: "1.0"\nstatus', "version: 1.10\nstatus"),
                         ("status: published", "status: publie"))
    assert [p.path for p in problems] == [("status",)]
    assert all("version" not in (p.path or ()) for p in problems)


def test_last_tier_must_be_unconditional(policy_text):
    problems = refused(policy_text, ("      label: Autres demandes éligibles\n",
                                       "      label: Autres demandes éligibles\n      when: mutualised\n"))
    assert "dernier palier" in problems[0].message


def test_unknown_parameter_in_a_label(policy_text):
    problems = refused(policy_text, ("au moins {licence_threshold} licences", "au moins {licence_seuil} licences"))
    assert "paramètre inconnu « {licence_seuil} »" in problems[0].message


def test_expression_reading_a_fact_not_yet_known(policy_text):
    problems = refused(policy_text, ("formula: min(deployment_requested, eligible_licence)",
                                       "formula: min(deployment_requested, eligible_licence) if mutualised else 0"))
    assert problems[0].message == ("expression refusée : « mutualised » n'est connu qu'à partir de l'étape "
                                   "« la mutualisation » ; cette expression est évaluée à l'étape « le relevé des "
                                   "dépenses »")


def test_optional_fact_requires_on_absent(policy_text):
    fail = "      on_fail: ineligible\n"
    problems = refused(policy_text, (f"{fail}      on_absent: pass\n", fail))
    assert "« purchase_date » est facultatif" in problems[0].message


def test_schema_and_expression_problems_together(policy_text):
    problems = refused(policy_text, ("  on_outside: ineligible", "  on_outsde: ineligible"),
                         ("test: editor_country in eu_member_states", "test: editor_contry in eu_member_states"),
                         ("    region: {label: Région, outcome: eligible}\n",
                          "    region: {label: Région, outcome: eligible}\n    region: {label: R}\n"))
    messages = [p.message for p in problems]
    assert any("on_outsde" in m for m in messages)
    assert any("editor_contry" in m for m in messages)
    assert any("clé en double : « region »" in m for m in messages)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_a_rounding_step_is_a_power_of_ten(policy_text):
    problems = refused(policy_text, ("  quantum: 0.01\n", "  quantum: 0.05\n"))
    assert problems[0].message == "pas d'arrondi 0.05 non admis : 0.01, 0.1 ou 1"
    assert problems[0].path == ("rounding", "quantum")


def test_an_integer_written_with_a_decimal_point_is_that_integer(policy_text):
    """JSON Schema counts ``12.0`` as an integer: the model reads it as the ``int`` 12."""
    policy = load_policy(policy_text.replace("    months: 12\n", "    months: 12.0\n", 1).encode(), "douze.yaml")
    assert policy.expenses.funded_period.months == 12
    assert type(policy.expenses.funded_period.months) is int


@pytest.mark.parametrize(("written", "step"), [("0.010", "0.01"), ("1.0", "1"), ("0.10", "0.1")])
def test_a_rounding_step_is_the_step_it_is_worth_however_written(policy_text, written: str, step: str):
    policy = load_policy(policy_text.replace("  quantum: 0.01\n", f"  quantum: {written}\n", 1).encode(), "pas.yaml")
    assert str(policy.rounding.quantum) == step


def test_a_parameter_written_minus_zero_is_zero(policy_text):
    text = policy_text.replace("    value: 0.10\n    unit: fraction", "    value: -0.00\n    unit: fraction", 1)
    assert str(load_policy(text.encode(), "zero.yaml").constants["applicant_min_share"]) == "0.00"


def test_a_policy_with_thousands_of_tiers_loads_and_decides(policy_text, application):
    """Tiers are walked in order, never written as one chain of nested conditions: thousands of them
    load, and the first whose condition holds gives the base rate."""
    tiers = "".join(f"    palier_{n}:\n      label: Palier {n}\n      when: licence_count >= {n}\n      rate: 0.30\n"
                    for n in range(4000, 0, -1))
    policy = load_policy(policy_text.replace("  base:\n", "  base:\n" + tiers, 1).encode(), "tiers.yaml")
    assert len(policy.rate.tiers) == 4002
    assert decide_with(policy, application).tier.id == "palier_120"  # the commune asks for 120 licences


@pytest.mark.parametrize("operation", ["[sum]", "{sum: 1}"])
def test_an_aggregate_operation_that_is_not_a_word_is_a_located_problem(policy_text, operation):
    """The schema refuses it; the expressions of the refused file are still checked, without
    looking the operation up as if it were a word."""
    aggregate = "      operation: max\n      of: qpv_population_share\n"
    problems = refused(policy_text, (aggregate, aggregate.replace("max", operation)))
    assert [p.path for p in problems] == [("facts", "aggregates", "max_qpv_population_share", "operation")]
