"""Beneficiary categories (``beneficiaries.categories``, ``beneficiaries.unknown_category``): each
entity's category gives its outcome; the applicant's leads the application to it, a co-beneficiary
of an ineligible category is set aside with its expense lines. Then the facts over the entities
covered: the aggregates the policy declares (``facts.aggregates``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from evaluator.core import french
from evaluator.core.application import Entity, aggregate_value
from evaluator.core.decision import Role
from evaluator.core.expressions import Type
from evaluator.core.findings import Applied, Outcome, Status
from evaluator.core.kinds.base import SETTING, Branch, Description, Kind, Loader, Noun, Section, Work, code, rule_id
from evaluator.core.policy import Beneficiaries, Category, CategoryCase, CategoryOutcome, Policy, UnknownCategory
from evaluator.reading.problems import JsonPath

FINDINGS: dict[str, tuple[Outcome, Status | None]] = {
    "eligible": ("pass", None), "review": ("review", "review"), "ineligible": ("fail", "ineligible")}
"""A category's outcome as a finding: its outcome, and its effect when the entity is the applicant (a
co-beneficiary of an ineligible category is only set aside)."""


def load(loader: Loader) -> Beneficiaries:
    section = loader.data["beneficiaries"]
    clause = section["clause"]

    def category(path: JsonPath, key: str, item: dict[str, Any]) -> Category:
        cases = []
        for index, case in enumerate(item.get("cases", [])):
            when = loader.item_expression((*path, "cases", index, "when"), "entity", Type.BOOL)
            if when is not None:
                cases.append(CategoryCase(when, case["outcome"], loader.text((*path, "cases", index, "label"))))
        if item["outcome"] != "eligible" and "reason" not in item and not cases:
            loader.problem(path, f"la catégorie « {key} » n'est pas éligible sans dire pourquoi",
                           "ajoutez « reason: » avec le motif")
        return Category(key, rule_id(path), loader.text((*path, "label")), item["outcome"],
                        loader.text((*path, "reason")) if "reason" in item else None, tuple(cases),
                        item.get("clause", clause), loader.interpretation(path, item))

    unknown = section["unknown_category"]
    return Beneficiaries(
        {c.id: c for c in loader.items(("beneficiaries", "categories"), category)},
        UnknownCategory(unknown["outcome"], unknown.get("clause", clause),
                        loader.interpretation(("beneficiaries", "unknown_category"), unknown)),
        clause,
        loader.interpretation(("beneficiaries",), section),
    )


def evaluate(work: Work) -> None:
    application = work.application
    covered = work.covered
    people: list[tuple[Role, Entity]] = [("applicant", application.applicant)]
    people.extend(("co_beneficiary", entity) for entity in application.co_beneficiaries)
    for role, entity in people:
        outcome, rule, clause, said = classify(work.policy, entity)
        applicant = role == "applicant"
        is_covered = applicant or outcome != "ineligible"
        finding, effect = FINDINGS[outcome]
        work.find(Applied(rule, finding, clause, effect if is_covered else None, (), entity.siren, outcome, message,
                          (entity, applicant, outcome, said)))
        work.entity_rows.append((role, entity, outcome, is_covered))
        if is_covered:
            covered.append(entity)
    facts = work.facts
    if work.policy.covered_aggregates:
        each = tuple(entity.facts for entity in covered)
        for aggregate in work.policy.covered_aggregates:
            items = each if aggregate.over == "covered_entities" else each[1:]  # covered_co_beneficiaries
            facts[aggregate.name] = aggregate_value(aggregate, items, work.policy.constants)


def message(entity: Entity, applicant: bool, outcome: str, said: str) -> str:
    who = f"{'Demandeur' if applicant else 'Co-bénéficiaire'} {entity.name} ({entity.siren})"
    text = said
    if outcome == "ineligible" and not applicant:
        text += " Il est écarté de la demande, avec ses lignes de dépenses."
    return f"{who} : {text}"


def entity_facts(policy: Policy, entity: Entity) -> dict[str, Any]:
    """An entity's facts, with the parameters and lists every expression may read."""
    return {**policy.constants, **entity.facts}


def classify(policy: Policy, entity: Entity) -> tuple[CategoryOutcome, str, str, str]:
    """Outcome, rule id, clause and French message for an entity's category."""
    beneficiaries = policy.beneficiaries
    category = beneficiaries.categories.get(entity.category)
    if category is None:
        unknown = beneficiaries.unknown_category
        return (unknown.outcome, unknown.rule, unknown.clause,
                _unknown_message(entity.category, beneficiaries.categories, unknown.outcome))
    if category.cases:
        facts = entity_facts(policy, entity)
        for case in category.cases:
            if case.when.function(facts):
                return case.outcome, category.rule, category.clause, f"{category.label} : {case.label}."
    return category.outcome, category.rule, category.clause, category.message


def _unknown_message(category: str, known: Mapping[str, object], outcome: CategoryOutcome) -> str:
    close = _closest(category, tuple(known))
    text = f"catégorie « {category} » absente des listes du cahier des charges"
    text += f" (vouliez-vous dire « {close} » ?)" if close else ""
    return text + f" : {french.OUTCOMES[outcome]}."


@lru_cache(maxsize=1024)
def _closest(category: str, known: tuple[str, ...]) -> str | None:
    """The known category an unknown one is most likely a misspelling of."""
    close = difflib.get_close_matches(category, known, n=1, cutoff=0.75)
    return close[0] if close else None


def _category_branches(category: Category, _policy: Policy) -> tuple[Branch, ...]:
    """One branch per distinct outcome: the conditional cases in order, then the default one.
    Cases that lead to the same outcome share its branch."""
    conditions: dict[CategoryOutcome, list[str]] = {}
    for case in category.cases:
        conditions.setdefault(case.outcome, []).append(f"si {case.when.text}")
    conditions.setdefault(category.outcome, []).append("sinon" if category.cases else "")
    return tuple(
        Branch(outcome, french.OUTCOMES[outcome] + (f", {' ; '.join(w for w in words if w)}" if any(words) else ""))
        for outcome, words in conditions.items()
    )


def _unknown_branches(unknown: UnknownCategory, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch(unknown.outcome, french.OUTCOMES[unknown.outcome]),)


def _describe_category(category: Category, _policy: Policy) -> Description:
    outcome = french.OUTCOMES[category.outcome]
    cases = "".join(f"si {code(case.when, '')} : {french.OUTCOMES[case.outcome]} ; " for case in category.cases)
    return ("issue", f"{cases}sinon : {outcome}" if cases else outcome), ("motif", category.reason or "")


def _describe_unknown(unknown: UnknownCategory, _policy: Policy) -> Description:
    return (("issue", french.OUTCOMES[unknown.outcome]),)


CATEGORY = Kind("category", Noun("catégorie", True, "value"), lambda policy: policy.beneficiaries.categories.values(),
                _category_branches, _describe_category)
UNKNOWN_CATEGORY = Kind("unknown_category", SETTING, lambda policy: (policy.beneficiaries.unknown_category,),
                        _unknown_branches, _describe_unknown)
SECTION: Section = Section("beneficiaries", "Bénéficiaires", (CATEGORY, UNKNOWN_CATEGORY), evaluate,
                           lambda policy: policy.beneficiaries, load)
