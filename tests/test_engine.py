"""Properties of every decision: it validates against the decision schema, explains itself, and
is the same from one run to the next and from YAML to JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from evaluator import Registry
from evaluator.reading.parse import load_document

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").iterdir())
DECISION_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas" / "decision.schema.json").read_text(encoding="utf-8")),
    format_checker=jsonschema.FormatChecker(),
)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_decisions_are_valid_and_consistent(path, registry: Registry):
    decision = registry.evaluate_bytes(path.read_bytes(), str(path))
    DECISION_SCHEMA.validate(decision.to_dict())
    amounts = decision.amounts
    assert amounts.grant_licence + amounts.grant_deployment == amounts.grant_total
    assert amounts.eligible_total + amounts.excluded_total == amounts.requested_total
    assert amounts.eligible_deployment <= amounts.eligible_licence
    assert amounts.grant_total <= (amounts.eligible_total * decision.rate.ceiling)
    assert sum((p.amount for p in decision.payments), Decimal(0)) == amounts.grant_total
    assert all(f.clause and f.message for f in decision.findings)
    assert decision.to_json() == registry.evaluate_bytes(path.read_bytes(), str(path)).to_json()


@pytest.mark.parametrize("part", ["policy", "rate", "amounts", "entities", "payments", "obligations", "findings"])
def test_a_decision_builds_each_part_once(registry: Registry, part: str):
    """A decision's parts are built when first read, then kept (from the source and compiled alike)."""
    decision = registry.evaluate_bytes(EXAMPLES[0].read_bytes(), str(EXAMPLES[0]))
    assert part not in decision.parts
    assert getattr(decision, part) is getattr(decision, part)
    assert decision.parts[part] is getattr(decision, part)


def test_yaml_and_json_forms_give_the_same_decision(registry: Registry):
    path = EXAMPLES[0]
    document = load_document(path.read_bytes(), str(path))
    as_json = json.dumps(document.data)
    assert registry.evaluate_bytes(as_json.encode(), "x.json").to_json() == \
        registry.evaluate_bytes(path.read_bytes(), str(path)).to_json()


def test_an_ineligible_application_has_no_grant_but_its_figures(registry: Registry, application):
    application["applicant"]["category"] = "entreprise"
    decision = registry.evaluate(application)
    assert decision.status == "ineligible"
    assert decision.amounts.grant_total == 0
    assert decision.payments == ()
    assert decision.amounts.eligible_total > 0
    assert decision.rate.final == Decimal("0.30")


def test_every_rule_of_the_policy_leaves_a_finding(registry: Registry, application, policy):
    rules = {f.rule for f in registry.evaluate(application).findings}
    expected = {"window", "expenses.eligible_deployment", "mutualisation.mutualised_when", "rate.ceiling",
                "amounts.grant"}
    expected |= {f"sovereignty.criteria.{c.id}" for c in policy.sovereignty.checks}
    expected |= {f"conditions.checks.{c.id}" for c in policy.conditions.checks}
    expected |= {f"documents.requirements.{r.id}" for r in policy.documents.requirements}
    expected |= {f"rate.bonuses.{b.id}" for b in policy.rate.bonuses}
    expected |= {f"reporting.indicators.{i.id}" for i in policy.reporting.indicators}
    expected |= {f"payments.tranches.{t.id}" for t in policy.payments.tranches}
    assert expected <= rules


def test_the_python_views_and_the_json_form_agree(registry: Registry):
    from evaluator.core.decision import AMOUNTS, json_value, money_text, rate_text
    from evaluator.testing.cases import discover, load_cases

    cases = [case for path in discover([ROOT / "tests" / "cases"]) for case in load_cases(path)]
    for case in cases[::7]:
        decision = registry.decide(case.application)
        data = decision.to_dict()
        assert data["findings"] == [
            {"rule": f.rule, "outcome": f.outcome, "clause": f.clause, "message": f.message, "effect": f.effect,
             "inputs": [name for name, _ in f.inputs], **({"entity": f.entity} if f.entity else {})}
            for f in decision.findings]
        assert data["facts"] == {name: json_value(value) for f in decision.findings for name, value in f.inputs}
        assert data["amounts"] == {name: money_text(getattr(decision.amounts, name)) for name in AMOUNTS}
        rate = decision.rate
        assert data["rate"] == {"base": rate_text(rate.base.value), "base_tier": rate.base.id,
                                "bonuses": {b.id: rate_text(b.value) for b in rate.bonuses},
                                "ceiling": rate_text(rate.ceiling), "final": rate_text(rate.final)}
        assert data["entities"] == [
            {"role": e.role, "siren": e.siren, "name": e.name, "category": e.category, "outcome": e.outcome,
             "covered": e.covered, "licences": e.licences, "eligible_licence": money_text(e.eligible_licence),
             "eligible_deployment": money_text(e.eligible_deployment)} for e in decision.entities]
        assert data["payments"] == [{"id": p.id, "label": p.label, "amount": money_text(p.amount),
                                     "condition": p.condition} for p in decision.payments]
        assert data["obligations"] == [{"id": o.id, "label": o.label, "frequency": o.frequency, "clause": o.clause}
                                       for o in decision.obligations]
        assert data["policy"]["selected_for"] == json_value(decision.policy.selected_for)


def test_minus_zero_never_reaches_a_decision(amended, application):
    """Found by hypothesis on a random policy: a formula giving -0 wrote the amount "-0.00"."""
    from conftest import decide_with

    policy = amended(("formula: min(deployment_requested, eligible_licence)", "formula: -0"),
                     ("      rate: 0.30\n", "      rate: -0.00\n"))
    application["expenses"].append({"kind": "licence", "amount": "-0.00"})
    data = decide_with(policy, application).to_dict()
    assert data["amounts"]["eligible_deployment"] == "0.00"
    assert data["rate"]["base"] == "0.00"
    assert all(not value.startswith("-") for value in data["amounts"].values())
    text = json.dumps(data, ensure_ascii=False)
    assert '"-0' not in text and "-0,00 €" not in text
