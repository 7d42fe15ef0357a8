"""The evaluator: applies a policy to an application and returns a decision. No I/O.

The evaluation walks the policy's sections in the order in which their facts become known (window,
beneficiaries, expenses, mutualisation, rate, sovereignty, conditions, documents, reporting, then
amounts); each section is a small function that reads the policy's data for it, adds the facts it
establishes and records one finding (``findings.Applied``) per rule it applies. Nothing of the
cahier des charges — no threshold, rate, list, field or outcome — is written here: it all comes
from the policy. This walk is the only statement of the rules' semantics.

Everything that depends on the policy alone is done when it loads (expressions compiled, static
findings written); per application, only the application's work. The findings' French messages are
written when the decision is read, not while it is established.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from evaluator import french
from evaluator.application import Application, Entity, ExpenseLine, SuppliedDocument, aggregate_value
from evaluator.decision import Decision, EntityRow, MissingDocument, Role
from evaluator.findings import FAILED_OUTCOMES, Applied, Outcome, Status, Wording
from evaluator.policy import (
    Bonus,
    CategoryOutcome,
    Ceiling,
    Check,
    ExpenseKind,
    Indicator,
    Policy,
    Requirement,
    Rounding,
    Tranche,
    Window,
)

ZERO = Decimal(0)
NO_GRANT = "Aucune subvention : la demande n'est pas éligible."
CATEGORY_FINDINGS: dict[str, tuple[Outcome, Status | None]] = {
    "eligible": ("pass", None), "review": ("review", "review"), "ineligible": ("fail", "ineligible")}
"""A category's outcome as a finding: its outcome, and its effect when the entity is the applicant (a
co-beneficiary of an ineligible category is only set aside)."""


class _Work:
    """The state of one evaluation: the facts known so far, the trace of the rules applied, and the
    figures of the decision."""

    __slots__ = (
        "application",
        "bonuses",
        "covered",
        "entity_deployment",
        "entity_licence",
        "entity_rows",
        "facts",
        "final_rate",
        "find",
        "indicators",
        "missing",
        "paid",
        "policy",
        "round",
        "status",
        "tier",
        "trace",
    )

    def __init__(self, policy: Policy, application: Application) -> None:
        self.policy = policy
        self.application = application
        self.facts: dict[str, Any] = {**policy.constants, **application.facts}
        self.trace: list[Applied] = []
        self.find = self.trace.append
        """Record a rule applied."""
        self.missing: list[MissingDocument] = []
        self.entity_rows: list[EntityRow] = []
        self.covered: list[Entity] = []
        self.entity_licence: dict[str, Decimal] = {}
        self.entity_deployment: dict[str, Decimal] = {}
        self.tier = policy.rate.tiers[-1]
        self.bonuses: list[Bonus] = []
        self.final_rate = ZERO
        self.indicators: list[Indicator] = []
        self.paid: list[tuple[Tranche, Decimal]] = []
        self.status: Status = "eligible"
        self.round = policy.rounding.apply



def evaluate(policy: Policy, application: Application, selected_for: date | None = None) -> Decision:
    """Decide ``application`` under ``policy``."""
    work = _Work(policy, application)
    for section in SECTIONS:
        section(work)
    return Decision(work.status, selected_for, work.tier, tuple(work.bonuses), work.final_rate, _amounts(work),
                    tuple(work.entity_rows), (work.entity_licence, work.entity_deployment), tuple(work.paid),
                    tuple(work.missing), tuple(work.indicators), tuple(work.trace), work.facts, policy, application)


def _entity_facts(policy: Policy, entity: Entity) -> dict[str, Any]:
    """An entity's facts, with the parameters and lists every expression may read."""
    return {**policy.constants, **entity.facts}


# -- sections -----------------------------------------------------------------------------------


def _window(work: _Work) -> None:
    window = work.policy.window
    submitted = work.application.submitted_on
    inside = window.opens_on <= submitted <= window.closes_on
    work.find(Applied("window", "pass" if inside else "fail", window.clause, None if inside else window.on_outside,
                      ("submitted_on",), None, Wording(window_message, (window, submitted, inside))))


def window_message(window: Window, submitted: date, inside: bool) -> str:
    period = f"du {french.day(window.opens_on)} au {french.day(window.closes_on)}"
    if inside:
        return f"Demande déposée le {french.day(submitted)}, {period} : dans la période de dépôt."
    return f"Demande déposée le {french.day(submitted)}, hors de la période de dépôt ({period})."


def _beneficiaries(work: _Work) -> None:
    application = work.application
    covered = work.covered
    with_licences = licences = 0
    people: list[tuple[Role, Entity]] = [("applicant", application.applicant)]
    people.extend(("co_beneficiary", entity) for entity in application.co_beneficiaries)
    for role, entity in people:
        outcome, rule, clause, message = classify(work.policy, entity)
        applicant = role == "applicant"
        is_covered = applicant or outcome != "ineligible"
        finding, effect = CATEGORY_FINDINGS[outcome]
        work.find(Applied(rule, finding, clause, effect if is_covered else None, (), entity.siren,
                          Wording(entity_message, (entity, applicant, outcome, message))))
        work.entity_rows.append((role, entity, outcome, is_covered))
        if is_covered:
            covered.append(entity)
            licences += entity.licences
            if not applicant and entity.licences > 0:
                with_licences += 1
    facts = work.facts
    facts["covered_co_beneficiary_count"] = len(covered) - 1
    facts["co_beneficiaries_with_licences"] = with_licences
    facts["licence_count"] = licences
    if work.policy.covered_aggregates:
        domains = {"covered_entities": tuple(entity.facts for entity in covered),
                   "covered_co_beneficiaries": tuple(entity.facts for entity in covered[1:])}
        for aggregate in work.policy.covered_aggregates:
            facts[aggregate.name] = aggregate_value(aggregate, domains[aggregate.over], work.policy.constants)


def entity_message(entity: Entity, applicant: bool, outcome: str, message: str | Wording) -> str:
    who = f"{'Demandeur' if applicant else 'Co-bénéficiaire'} {entity.name} ({entity.siren})"
    text = str(message)
    if outcome == "ineligible" and not applicant:
        text += " Il est écarté de la demande, avec ses lignes de dépenses."
    return f"{who} : {text}"


def classify(policy: Policy, entity: Entity) -> tuple[CategoryOutcome, str, str, str | Wording]:
    """Outcome, rule id, clause and French message for an entity's category."""
    beneficiaries = policy.beneficiaries
    category = beneficiaries.categories.get(entity.category)
    if category is None:
        unknown = beneficiaries.unknown_category
        return (unknown.outcome, "beneficiaries.unknown_category", unknown.clause,
                Wording(_unknown_message, (entity.category, beneficiaries.categories, unknown.outcome)))
    if category.cases:
        facts = _entity_facts(policy, entity)
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



def _expenses(work: _Work) -> None:
    expenses = work.policy.expenses
    kinds = expenses.kinds
    period = expenses.funded_period
    covered = {e.siren for e in work.covered}
    requested = licence_requested = deployment_requested = eligible_licence = ZERO
    deployment_by_entity: dict[str, Decimal] = {}
    entity_licence = work.entity_licence
    find = work.find
    for line in work.application.expenses:
        kind = kinds[line.kind]
        rule = kind.rule
        amount = line.amount
        requested += amount
        if line.entity not in covered:
            find(Applied(rule, "fail", kind.clause, None, (), line.entity,
                         Wording(excluded_line_message, (line, kind))))
            continue
        group = kind.group
        if group == "excluded":
            find(Applied(rule, "fail", kind.clause, None, (), line.entity,
                         Wording(line_message, (line, kind, kind.excluded_text))))
            continue
        months = line.facts.get(period.duration)
        if group == period.applies_to and months is not None and months > period.months:
            amount = work.round(amount * period.months / months)
            find(Applied("expenses.funded_period", "info", period.clause, None, (), line.entity,
                         Wording(prorated_message, (line, kind, months, period.months, amount))))
        if group == "licence":
            licence_requested += line.amount
            eligible_licence += amount
            entity_licence[line.entity] = entity_licence.get(line.entity, ZERO) + amount
        else:
            deployment_requested += amount
            deployment_by_entity[line.entity] = deployment_by_entity.get(line.entity, ZERO) + amount
        find(Applied(rule, "pass", kind.clause, None, (), line.entity,
                     Wording(line_message, (line, kind, kind.eligible_text))))
    facts = work.facts
    facts["requested_total"] = requested
    facts["licence_requested"] = licence_requested
    facts["deployment_requested"] = deployment_requested
    facts["eligible_licence"] = eligible_licence
    _deployment_cap(work, deployment_by_entity)
    _run_checks(work, expenses.checks)


def excluded_line_message(line: ExpenseLine, kind: ExpenseKind) -> str:
    return line_message(line, kind, f"non retenue, l'entité {line.entity} est écartée.")


def line_message(line: ExpenseLine, kind: ExpenseKind, text: str) -> str:
    return f"Ligne {line.index + 1} ({kind.label}, {french.euros(line.amount)}) : {text}"


def prorated_message(line: ExpenseLine, kind: ExpenseKind, covered: int, months: int, amount: Decimal) -> str:
    return line_message(line, kind, f"couvre {covered} mois, retenue pour {months} mois, soit "
                                     f"{french.euros(amount)}.")


def _deployment_cap(work: _Work, deployment_by_entity: dict[str, Decimal]) -> None:
    formula = work.policy.expenses.eligible_deployment
    facts = work.facts
    requested: Decimal = facts["deployment_requested"]
    # bounded before rounding: whatever the formula gives, the result lies between 0 and the request
    eligible = work.round(min(max(ZERO, Decimal(formula.expression.function(facts))), requested))
    capped = eligible < requested
    work.find(Applied("expenses.eligible_deployment", "info" if capped else "pass", formula.clause, None,
                      formula.expression.inputs, None, Wording(cap_message, (formula.label, eligible, requested))))
    if requested:
        for siren, amount in deployment_by_entity.items():
            work.entity_deployment[siren] = work.round(amount * eligible / requested)
    applicant = work.application.applicant.siren
    eligible_licence: Decimal = facts["eligible_licence"]
    facts["eligible_deployment"] = eligible
    facts["eligible_total"] = eligible_licence + eligible
    facts["excluded_total"] = facts["requested_total"] - eligible_licence - eligible
    facts["applicant_eligible_total"] = (work.entity_licence.get(applicant, ZERO)
                                         + work.entity_deployment.get(applicant, ZERO))


def cap_message(label: str, eligible: Decimal, requested: Decimal) -> str:
    if eligible < requested:
        return f"{label} : {french.euros(eligible)} retenus sur {french.euros(requested)} de déploiement demandé."
    return f"{label} : le déploiement demandé ({french.euros(requested)}) est retenu en entier."


def _mutualisation(work: _Work) -> None:
    section = work.policy.mutualisation
    facts = work.facts
    mutualised = facts["mutualised"] = bool(section.mutualised_when.function(facts))
    count = facts["co_beneficiaries_with_licences"]
    work.find(Applied("mutualisation.mutualised_when", "pass" if mutualised else "info", section.clause, None,
                      section.mutualised_when.inputs, None,
                      Wording(mutualisation_message, (section.label, mutualised, count))))
    _run_checks(work, section.checks)


def mutualisation_message(label: str, mutualised: bool, count: int) -> str:
    return f"{label} : {'oui' if mutualised else 'non'} ({count} co-bénéficiaire(s) couvert(s) avec des licences)."


def _rate(work: _Work) -> None:
    rate = work.policy.rate
    facts = work.facts
    find = work.find
    tier = rate.tiers[-1]
    for candidate in rate.tiers:
        if candidate.when is None or candidate.when.function(facts):
            tier = candidate
            break
    work.tier = tier
    find(tier.when_taken)
    supplied = facts["document_kinds"]
    total = tier.rate
    for bonus in rate.bonuses:
        evidence = bonus.evidence
        if not bonus.when.function(facts):
            find(bonus.when_not_met)
        elif evidence is not None and not any(kind in supplied for kind in evidence.one_of):
            find(bonus.when_unproven)
            work.missing.append(bonus_missing(bonus))
        else:
            total += bonus.value
            work.bonuses.append(bonus)
            find(bonus.when_granted)
    ceiling = rate.ceiling
    work.final_rate = min(total, ceiling.value)
    find(Applied("rate.ceiling", "info" if total > ceiling.value else "pass", ceiling.clause, None, (), None,
                 Wording(ceiling_message, (ceiling, total))))


def ceiling_message(ceiling: Ceiling, total: Decimal) -> str:
    if total > ceiling.value:
        return f"{ceiling.label} : le taux de {french.percent(total)} est ramené à {french.percent(ceiling.value)}."
    return f"Taux final : {french.percent(total)} ({ceiling.label.lower()} : {french.percent(ceiling.value)})."


def _sovereignty(work: _Work) -> None:
    _run_checks(work, work.policy.sovereignty.checks)


def _conditions(work: _Work) -> None:
    _run_checks(work, work.policy.conditions.checks)


def _run_checks(work: _Work, checks: tuple[Check, ...]) -> None:
    facts = work.facts
    find = work.find
    for check in checks:
        if check.optional:
            absent = [name for name in check.optional if facts[name] is None]
            if absent and check.on_absent is not None:
                labels = tuple(work.policy.facts.application[name].label for name in absent)
                if check.on_absent == "pass":
                    message = Wording(check_message, (check, "sans objet, non renseigné : ", labels, "."))
                    find(Applied(check.rule, "pass", check.clause, None, check.test.inputs, None, message))
                else:
                    message = Wording(check_message, (check, "à renseigner (", labels, ")."))
                    find(Applied(check.rule, FAILED_OUTCOMES[check.on_absent], check.clause, check.on_absent,
                                 check.test.inputs, None, message))
                continue
        find(check.when_passed if check.test.function(facts) else check.when_failed)


def check_message(check: Check, before: str, absent: tuple[str, ...], after: str) -> str:
    return f"{check.label} : {before}{', '.join(absent)}{after}"


def _documents(work: _Work) -> None:
    supplied = work.application.documents
    kinds = set(work.facts["document_kinds"])
    facts = work.facts
    covered = {e.siren for e in work.covered}
    for requirement in work.policy.documents.requirements:
        if requirement.when is not None and not requirement.when.function(facts):
            work.find(requirement.when_not_required)
            continue
        if not requirement.signed_by_all_covered and not kinds.isdisjoint(requirement.one_of):
            work.find(requirement.when_supplied)
            continue
        problem = document_problem(requirement, supplied, work.covered, covered)
        if problem is None:
            work.find(requirement.when_supplied)
            continue
        work.find(Applied(requirement.rule, FAILED_OUTCOMES[requirement.on_missing], requirement.clause,
                          requirement.on_missing, (), None, missing_message(requirement.label, problem)))
        work.missing.append(requirement_missing(requirement))


def missing_message(label: str, problem: str) -> str:
    return f"{label} : {problem}."


def requirement_missing(requirement: Requirement) -> MissingDocument:
    return MissingDocument(requirement.rule, requirement.label, requirement.one_of, requirement.clause,
                           requirement.on_missing)


def bonus_missing(bonus: Bonus) -> MissingDocument:
    evidence = bonus.evidence
    assert evidence is not None, "only a bonus that needs evidence can lack it"
    return MissingDocument(bonus.rule, evidence.label, evidence.one_of, evidence.clause, None)


def document_problem(requirement: Requirement, supplied: tuple[SuppliedDocument, ...], covered: list[Entity],
                     sirens: set[str]) -> str | None:
    """What is wrong with the documents supplied for ``requirement``, if anything."""
    candidates = [d for d in supplied if d.kind in requirement.one_of]
    if not candidates:
        return "pièce manquante"
    if requirement.signed_by_all_covered and not any(sirens <= set(d.signed_by) for d in candidates):
        best = max(candidates, key=lambda d: len(sirens & set(d.signed_by)))
        unsigned = [e.siren for e in covered if e.siren not in best.signed_by]
        return f"signature manquante de {', '.join(unsigned)}"
    return None


def _reporting(work: _Work) -> None:
    facts = work.facts
    for indicator in work.policy.reporting.indicators:
        if indicator.when is not None and not indicator.when.function(facts):
            work.find(indicator.when_not_required)
            continue
        work.indicators.append(indicator)
        work.find(indicator.when_required)


def _status(work: _Work) -> None:
    work.status = work.policy.statuses.worst({entry.effect for entry in work.trace if entry.effect is not None})


SECTIONS: tuple[Callable[[_Work], None], ...] = (
    _window, _beneficiaries, _expenses, _mutualisation, _rate, _sovereignty, _conditions, _documents,
    _reporting, _status,
)


def _amounts(work: _Work) -> tuple[Decimal, ...]:
    """The amounts of the decision, in the order of ``Amounts``."""
    policy, facts = work.policy, work.facts
    ineligible = work.status == "ineligible"
    licence: Decimal = facts["eligible_licence"]
    deployment: Decimal = facts["eligible_deployment"]
    rate = work.final_rate
    grant_licence = ZERO if ineligible else work.round(licence * rate)
    grant_deployment = ZERO if ineligible else work.round(deployment * rate)
    total = grant_licence + grant_deployment
    clause = policy.rate.clause
    if ineligible:
        work.find(Applied("amounts.grant", "info", clause, None, (), None, NO_GRANT))
    else:
        work.find(Applied("amounts.grant", "info", clause, None, (), None,
                          Wording(grant_message, (policy.rounding, licence, deployment, rate, grant_licence,
                                                  grant_deployment))))
        _payments(work, total)
    return (facts["requested_total"], licence, deployment, facts["eligible_total"], facts["excluded_total"],
            grant_licence, grant_deployment, total)


def grant_message(rounding: Rounding, licence: Decimal, deployment: Decimal, rate: Decimal, grant_licence: Decimal,
                  grant_deployment: Decimal) -> str:
    return (f"Subvention : {french.euros(licence)} de licences et {french.euros(deployment)} de déploiement éligibles "
            f"à {french.percent(rate)}, soit {french.euros(grant_licence)} + {french.euros(grant_deployment)} = "
            f"{french.euros(grant_licence + grant_deployment)} ({rounding.label.lower()} : "
            f"{french.ROUNDING_WORDS[rounding.mode]}).")


def _payments(work: _Work, total: Decimal) -> None:
    paid = ZERO
    for tranche in work.policy.payments.tranches:
        amount = total - paid if tranche.share is None else work.round(total * tranche.share)
        paid += amount
        work.paid.append((tranche, amount))
        work.find(Applied(tranche.rule, "info", tranche.clause, None, (), None,
                          Wording(tranche_message, (tranche, amount))))


def tranche_message(tranche: Tranche, amount: Decimal) -> str:
    return f"{tranche.label} : {french.euros(amount)}, {tranche.condition[0].lower()}{tranche.condition[1:]}."
