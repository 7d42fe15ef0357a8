"""Invariants of the evaluation, on random valid applications (hypothesis): every category, 0-10
co-beneficiaries, 1-20 expense lines of every kind (excluded ones and lines of co-beneficiaries
included), amounts with cents, every flag, any subset of documents, dates across and around the
window. The number of examples follows the hypothesis profile (``GUICHET_HYPOTHESIS_PROFILE``)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import jsonschema
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from evaluator import Decision, InputError, Registry
from evaluator.core.application import build_application, mapping_document
from evaluator.core.engine import evaluate
from evaluator.core.report import render_text
from evaluator.reading.parse import json_line_document, load_document
from evaluator.reading.resources import schema
from strategies import (
    EXCLUDED_KINDS,
    FRUGAL_EVIDENCE,
    POLICY,
    ROOT,
    amounts,
    applications,
    covered_sirens,
    to_json,
)

EXAMPLES = settings().max_examples
DECISION_SCHEMA = jsonschema.Draft202012Validator(schema("decision"), format_checker=jsonschema.FormatChecker())
MONEY = re.compile(r"^[0-9]+\.[0-9]{2}$")
CENT = Decimal("0.01")


def decide(application: dict[str, Any]) -> Decision:
    """The decision of the bundled v1.0 on a valid application; a refusal is a generator bug."""
    try:
        document = mapping_document(copy.deepcopy(application))
        return evaluate(POLICY, build_application(document, POLICY))
    except InputError as error:  # pragma: no cover - shows what the generator got wrong
        raise AssertionError(f"the generated application was refused: {error}") from None


def money(text: str) -> Decimal:
    assert MONEY.fullmatch(text), f"not an amount ≥ 0 with two decimals: {text!r}"
    return Decimal(text)


@settings(max_examples=EXAMPLES)
@given(applications())
def test_every_decision_is_sound(application: dict[str, Any]) -> None:
    decision = decide(application)
    result = decision.to_dict()
    event(f"status {result['status']}, grant {'> 0' if decision.amounts.grant_total else '0'}")
    DECISION_SCHEMA.validate(result)
    amounts_ = {name: money(value) for name, value in result["amounts"].items()}
    rate = {name: Decimal(value) for name, value in result["rate"].items() if name not in ("base_tier", "bonuses")}

    requested = sum((Decimal(line["amount"]) for line in application["expenses"]), Decimal(0))
    assert amounts_["requested_total"] == requested
    assert amounts_["eligible_total"] == amounts_["eligible_licence"] + amounts_["eligible_deployment"]
    assert amounts_["excluded_total"] == amounts_["requested_total"] - amounts_["eligible_total"]
    assert amounts_["eligible_deployment"] <= amounts_["eligible_licence"]
    assert amounts_["grant_licence"] + amounts_["grant_deployment"] == amounts_["grant_total"]
    assert amounts_["grant_total"] <= rate["ceiling"] * amounts_["eligible_total"]
    assert amounts_["grant_total"] <= rate["final"] * amounts_["eligible_total"]
    bonuses = sum((Decimal(v) for v in result["rate"]["bonuses"].values()), Decimal(0))
    assert rate["final"] == min(rate["base"] + bonuses, rate["ceiling"])

    payments = [money(payment["amount"]) for payment in result["payments"]]
    if result["status"] == "ineligible":
        assert amounts_["grant_total"] == 0 and payments == []
    else:
        assert sum(payments, Decimal(0)) == amounts_["grant_total"]

    entity_licence = [money(e["eligible_licence"]) for e in result["entities"]]
    entity_deployment = [money(e["eligible_deployment"]) for e in result["entities"]]
    assert sum(entity_licence, Decimal(0)) == amounts_["eligible_licence"]
    assert amounts_["eligible_deployment"] - CENT * len(entity_deployment) <= sum(entity_deployment, Decimal(0))
    assert sum(entity_deployment, Decimal(0)) <= amounts_["eligible_deployment"]
    assert [e["siren"] for e in result["entities"]] == covered_sirens(application)
    assert decision.to_json() == decide(application).to_json(), "the same input gives the same bytes"
    assert f"STATUT : {decision.status_label.upper()}" in render_text(decision)  # the French report renders


@settings(max_examples=max(10, EXAMPLES // 2))
@given(applications(), st.sampled_from(EXCLUDED_KINDS), amounts, st.data())
def test_an_excluded_line_changes_only_requested_and_excluded(application: dict[str, Any], kind: str,
                                                              amount: Decimal | str, data: st.DataObject) -> None:
    before = decide(application).to_dict()
    line = {"kind": kind, "amount": amount, "entity": data.draw(st.sampled_from(covered_sirens(application)))}
    after = decide({**application, "expenses": [*application["expenses"], line]}).to_dict()
    added = Decimal(amount)
    for name in ("eligible_licence", "eligible_deployment", "eligible_total", "grant_licence", "grant_deployment",
                 "grant_total"):
        assert after["amounts"][name] == before["amounts"][name], name
    assert Decimal(after["amounts"]["requested_total"]) == Decimal(before["amounts"]["requested_total"]) + added
    assert Decimal(after["amounts"]["excluded_total"]) == Decimal(before["amounts"]["excluded_total"]) + added
    assert (after["status"], after["rate"], after["payments"], after["entities"]) == (
        before["status"], before["rate"], before["payments"], before["entities"])


def _with_bonus_fact(application: dict[str, Any], which: str, data: st.DataObject) -> dict[str, Any]:
    changed = copy.deepcopy(application)
    if which in ("overseas", "action_coeur_de_ville"):
        changed["applicant"][which] = True
    elif which == "qpv":
        entity = data.draw(st.sampled_from([changed["applicant"], *changed.get("co_beneficiaries", [])]))
        entity["qpv_population_share"] = data.draw(st.sampled_from([Decimal("0.40"), Decimal("0.75"), Decimal(1)]))
    else:
        changed["frugal_ai"] = True
        changed["documents"].append({"kind": data.draw(st.sampled_from(FRUGAL_EVIDENCE))})
    return changed


@settings(max_examples=max(10, EXAMPLES // 2))
@given(applications(), st.sampled_from(["overseas", "action_coeur_de_ville", "qpv", "frugal_ai"]), st.data())
def test_a_bonus_qualifying_fact_never_lowers_the_grant(application: dict[str, Any], which: str,
                                                        data: st.DataObject) -> None:
    before = decide(application).to_dict()
    after = decide(_with_bonus_fact(application, which, data)).to_dict()
    assert after["status"] == before["status"]
    assert Decimal(after["rate"]["final"]) >= Decimal(before["rate"]["final"])
    assert Decimal(after["amounts"]["grant_total"]) >= Decimal(before["amounts"]["grant_total"])


class _Dumper(yaml.SafeDumper):
    """YAML as staff write it: decimals as plain numbers."""


def _plain_number(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = f"{value:f}"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{'float' if '.' in text else 'int'}", text)


_Dumper.add_representer(Decimal, _plain_number)


@settings(max_examples=max(10, EXAMPLES // 4))
@given(applications())
def test_yaml_and_json_forms_give_the_same_decision(application: dict[str, Any]) -> None:
    yaml_text = yaml.dump(application, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    json_text = to_json(application)
    from_yaml = load_document(yaml_text.encode(), "demande.yaml")
    from_json = load_document(json_text.encode(), "demande.json")
    from_line = json_line_document(json_text, "lot.jsonl", 1)
    expected = decide(application).to_json()
    for document in (from_yaml, from_json, from_line):
        assert evaluate(POLICY, build_application(document, POLICY)).to_json() == expected


@settings(max_examples=max(2, EXAMPLES // 50))
@given(st.lists(applications(max_co_beneficiaries=4, max_expenses=6), min_size=1, max_size=12))
def test_decisions_are_byte_identical_across_hash_seeds(tmp_path_factory: Any, registry: Registry,
                                                        batch: list[dict[str, Any]]) -> None:
    lines = tmp_path_factory.mktemp("seeds") / "lot.jsonl"
    lines.write_text("".join(to_json(application) + "\n" for application in batch), encoding="utf-8")
    outputs = []
    for seed in ("0", "4242"):
        result = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "batch", str(lines),
                                 "--policy-version", POLICY.version],
                                capture_output=True, timeout=120, cwd=lines.parent,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    named = (registry.evaluate(a, version=POLICY.version) for a in batch)  # (named: a date outside it is stated)
    in_process = "".join(json.dumps({"line": n, **d.to_dict()}, ensure_ascii=False, separators=(",", ":"))
                         + "\n" for n, d in enumerate(named, start=1))
    assert outputs[0].decode("utf-8") == in_process
