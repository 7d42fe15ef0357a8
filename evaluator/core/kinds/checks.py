"""Criteria (``expenses.checks``, ``mutualisation.checks``, ``sovereignty.criteria``,
``conditions.checks``): a test that must hold, the status it leads to otherwise (``on_fail``), and,
when it reads a fact an application may leave out, what its absence means (``on_absent``). One
kind of rule, found in four sections."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import FAILED_OUTCOMES, Applied
from evaluator.core.kinds.base import (
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Section,
    Work,
    code,
    rule_id,
    status_words,
)
from evaluator.core.policy import Check, CheckGroup, Policy
from evaluator.reading.problems import JsonPath


def load(loader: Loader, path: JsonPath, clause: str, stage: Stage) -> tuple[Check, ...]:
    optional = loader.facts.optional

    def check(item_path: JsonPath, key: str, item: dict[str, Any]) -> Check | None:
        test = loader.expression((*item_path, "test"), stage, Type.BOOL, optional_allowed="on_absent" in item)
        if test is None:
            return None
        absent = tuple(name for name in test.names if name in optional)
        if "on_absent" in item and not absent:
            loader.problem((*item_path, "on_absent"), "« on_absent » sans fait facultatif dans le test",
                           "retirez « on_absent » : les faits lus par ce test sont toujours renseignés")
        return Check(key, rule_id(item_path), loader.text((*item_path, "label")), test, item["on_fail"],
                     item.get("on_absent"), item.get("clause", clause), loader.interpretation(item_path, item),
                     absent)

    return loader.items(path, check)


def load_group(loader: Loader, section_key: str, checks_key: str) -> CheckGroup:
    section = loader.data[section_key]
    return CheckGroup(
        load(loader, (section_key, checks_key), section["clause"], Stage.GRANT),
        section["clause"],
        loader.interpretation((section_key,), section),
    )


def run(work: Work, checks: tuple[Check, ...]) -> None:
    """Apply ``checks`` in order, each recording its finding."""
    facts = work.facts
    find = work.find
    for check in checks:
        if check.optional:
            absent = [name for name in check.optional if facts[name] is None]
            if absent and check.on_absent is not None:
                labels = tuple(work.policy.facts.application[name].label for name in absent)
                if check.on_absent == "pass":
                    find(Applied(check.rule, "pass", check.clause, None, check.test.inputs, None, "absent", message,
                                 (check, "sans objet, non renseigné : ", labels, ".")))
                else:
                    find(Applied(check.rule, FAILED_OUTCOMES[check.on_absent], check.clause, check.on_absent,
                                 check.test.inputs, None, "absent", message, (check, "à renseigner (", labels, ").")))
                continue
        find(check.when_passed if check.test.function(facts) else check.when_failed)


def message(check: Check, before: str, absent: tuple[str, ...], after: str) -> str:
    return f"{check.label} : {before}{', '.join(absent)}{after}"


def branches(check: Check, policy: Policy) -> tuple[Branch, ...]:
    found = [Branch("met", "rempli"), Branch("failed", f"non rempli → {status_words(policy, check.on_fail)}")]
    if check.on_absent is not None:
        then = "sans objet" if check.on_absent == "pass" else status_words(policy, check.on_absent)
        found.append(Branch("absent", f"non renseigné → {then}"))
    return tuple(found)


def describe(check: Check, policy: Policy) -> Description:
    if check.on_absent is None:
        absent = "non prévu"
    elif check.on_absent == "pass":
        absent = "sans objet"
    else:
        absent = status_words(policy, check.on_absent)
    return (("s'il n'est pas rempli", status_words(policy, check.on_fail)), ("test", code(check.test, "")),
            ("si l'information manque", absent))


def kind(name: str, rules: Callable[[Policy], Iterable[Check]]) -> Kind:
    """The criteria of one section of the policy."""
    return Kind(name, Noun("critère", False), rules, branches, describe)


SOVEREIGNTY_CRITERIA = kind("sovereignty_criterion", lambda policy: policy.sovereignty.checks)
CONDITIONS = kind("condition", lambda policy: policy.conditions.checks)
SOVEREIGNTY: Section = Section("sovereignty", "Souveraineté de la solution", (SOVEREIGNTY_CRITERIA,),
                               lambda work: run(work, work.policy.sovereignty.checks),
                               lambda policy: policy.sovereignty,
                               lambda loader: load_group(loader, "sovereignty", "criteria"))
REGULATIONS: Section = Section("conditions", "Conditions réglementaires", (CONDITIONS,),
                               lambda work: run(work, work.policy.conditions.checks),
                               lambda policy: policy.conditions,
                               lambda loader: load_group(loader, "conditions", "checks"))
