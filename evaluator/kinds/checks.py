"""Criteria (``expenses.checks``, ``mutualisation.checks``, ``sovereignty.criteria``,
``conditions.checks``): a test that must hold, the status it leads to otherwise (``on_fail``), and,
when it reads a fact an application may leave out, what its absence means (``on_absent``). One
kind of rule, found in four sections."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from evaluator.findings import FAILED_OUTCOMES, Applied, Wording
from evaluator.kinds.base import Branch, Kind, Section, Work, status_words
from evaluator.policy import Check, Policy


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
                    said = Wording(message, (check, "sans objet, non renseigné : ", labels, "."))
                    find(Applied(check.rule, "pass", check.clause, None, check.test.inputs, None, said, "absent"))
                else:
                    said = Wording(message, (check, "à renseigner (", labels, ")."))
                    find(Applied(check.rule, FAILED_OUTCOMES[check.on_absent], check.clause, check.on_absent,
                                 check.test.inputs, None, said, "absent"))
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


def kind(name: str, label: str, rules: Callable[[Policy], Iterable[Check]]) -> Kind:
    """The criteria of one section of the policy."""
    return Kind(name, label, rules, branches)


SOVEREIGNTY_CRITERIA = kind("sovereignty_criterion", "Critère de souveraineté",
                            lambda policy: policy.sovereignty.checks)
CONDITIONS = kind("condition", "Condition réglementaire", lambda policy: policy.conditions.checks)
SOVEREIGNTY = Section("sovereignty", (SOVEREIGNTY_CRITERIA,), lambda work: run(work, work.policy.sovereignty.checks))
REGULATIONS = Section("conditions", (CONDITIONS,), lambda work: run(work, work.policy.conditions.checks))
