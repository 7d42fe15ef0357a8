"""Changing the rules is a YAML edit alone: each amendment below is a textual edit of the v1.0
policy file, and the decisions follow, with no code change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from conftest import decide_with


def _licences(application: dict[str, Any], count: int) -> dict[str, Any]:
    application["applicant"]["licences"] = count
    return application


def test_lowering_the_licence_threshold_moves_an_application_to_the_higher_tier(amended, decide, application):
    application = _licences(application, 300)
    assert decide(application).rate.base.value == Decimal("0.30")
    lowered = amended(("    value: 500\n", "    value: 300\n"))
    decision = decide_with(lowered, application)
    assert decision.rate.base.id == "majore"
    assert decision.rate.final == Decimal("0.40")
    assert "300 licences" in decision.rate.base.label


def test_a_bonus_value_is_data(amended, application):
    application["applicant"]["overseas"] = True
    policy = amended(("      value: 0.10\n      clause: \"§3 Bonifications ; Annexe 2 (1)\"",
                      "      value: 0.05\n      clause: \"§3 Bonifications ; Annexe 2 (1)\""))
    decision = decide_with(policy, application)
    assert dict((b.id, b.value) for b in decision.rate.bonuses) == {"territoires_fragiles": Decimal("0.05")}
    assert decision.rate.final == Decimal("0.35")


def test_the_ceiling_is_data(amended, application):
    application["applicant"]["overseas"] = True
    application["applicant"]["licences"] = 600
    application["frugal_ai"] = True
    application["documents"].append({"kind": "frugality_charter"})
    clause = '\n    clause: "§3 Bonifications"'
    policy = amended((f"    value: 0.50{clause}", f"    value: 0.55{clause}"))
    assert decide_with(policy, application).rate.final == Decimal("0.55")


def test_the_window_is_data(amended, decide, application):
    application["submitted_on"] = "2028-06-01"
    assert decide(application).status == "eligible"
    policy = amended(("  closes_on: 2029-05-21", "  closes_on: 2028-05-21"))
    decision = decide_with(policy, application)
    assert decision.status == "ineligible"
    assert [f.outcome for f in decision.findings if f.rule == "window"] == ["fail"]


def test_a_category_outcome_is_data(amended, decide, application):
    application["applicant"]["category"] = "association"
    assert decide(application).status == "ineligible"
    label = "      label: Association\n"
    policy = amended((f"{label}      outcome: ineligible", f"{label}      outcome: review"))
    assert decide_with(policy, application).status == "review"


def test_a_new_bonus_on_an_existing_fact_is_a_yaml_edit(amended, decide, application):
    application["solution"]["kind"] = "business_solution"
    new_bonus = (
        "    ia_frugale:\n",
        "    solution_metier:\n"
        "      label: Bonification « solution métier »\n"
        "      when: solution_kind == 'business_solution'\n"
        "      value: 0.05\n"
        "      clause: \"Avenant de test\"\n"
        "    ia_frugale:\n",
    )
    decision = decide_with(amended(new_bonus), application)
    assert [b.id for b in decision.rate.bonuses] == ["solution_metier"]
    assert decision.rate.final == Decimal("0.35")
    assert decision.amounts.grant_total > decide(application).amounts.grant_total


def test_the_funded_period_and_deployment_cap_are_data(amended, decide, application):
    application["expenses"] = [{"kind": "licence", "amount": "2400", "months": 24},
                               {"kind": "training", "amount": "5000"}]
    assert decide(application).amounts.eligible_licence == Decimal("1200.00")
    policy = amended(("    months: 12\n", "    months: 24\n"),
                     ("formula: min(deployment_requested, eligible_licence)",
                      "formula: min(deployment_requested, eligible_licence * 2)"))
    amounts = decide_with(policy, application).amounts
    assert (amounts.eligible_licence, amounts.eligible_deployment) == (Decimal("2400.00"), Decimal("4800.00"))
