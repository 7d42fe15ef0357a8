"""The evaluator: applies a policy to an application and returns a decision. No I/O.

The evaluation walks the policy's sections in the order in which their facts become known (window,
beneficiaries, expenses, mutualisation, rate, sovereignty, conditions, documents, reporting, then
amounts); each section is a small function that reads the policy's data for it, adds the facts it
establishes and leaves one finding per rule it applies. Nothing of the cahier des charges — no
threshold, rate, list or outcome — is written here: it all comes from the policy.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from evaluator import french
from evaluator.application import Application, Entity
from evaluator.decision import (
    Amounts,
    Decision,
    EntityResult,
    Finding,
    InputValue,
    MissingDocument,
    Obligation,
    Outcome,
    Payment,
    PolicyReference,
    RateBuildUp,
    Rated,
    Role,
)
from evaluator.expressions import Evaluator
from evaluator.facts import APPLICATION_FACTS, ENTITY_FACTS
from evaluator.policy import CategoryOutcome, Check, Policy, Status

ZERO = Decimal(0)
_CATEGORY_OUTCOMES: dict[str, Outcome] = {"eligible": "pass", "review": "review", "ineligible": "fail"}
_FAILED: dict[str, Outcome] = {"ineligible": "fail", "incomplete": "missing", "review": "review"}


@dataclass
class _Work:
    """The state of one evaluation: facts known so far, findings, and the figures of the decision."""

    policy: Policy
    application: Application
    facts: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    missing: list[MissingDocument] = field(default_factory=list)
    entities: list[EntityResult] = field(default_factory=list)
    covered: list[Entity] = field(default_factory=list)
    entity_licence: dict[str, Decimal] = field(default_factory=dict)
    entity_deployment: dict[str, Decimal] = field(default_factory=dict)
    base: Rated = field(default_factory=lambda: Rated("", "", ZERO))
    bonuses: list[Rated] = field(default_factory=list)
    final_rate: Decimal = ZERO
    obligations: list[Obligation] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    grants: tuple[Decimal, Decimal] = (ZERO, ZERO)
    status: Status = "eligible"

    def __post_init__(self) -> None:
        self.evaluate = Evaluator(self.facts)

    def find(self, rule: str, outcome: Outcome, clause: str, message: str, effect: Status | None = None,
             inputs: tuple[str, ...] = ()) -> None:
        self.findings.append(Finding(rule, outcome, clause, message, effect, self.inputs(inputs)))

    def inputs(self, names: tuple[str, ...] | frozenset[str]) -> tuple[tuple[str, InputValue], ...]:
        return tuple((name, self.facts[name]) for name in sorted(names) if name in self.facts)

    def round(self, amount: Decimal) -> Decimal:
        return self.policy.rounding.apply(amount)


def evaluate(policy: Policy, application: Application, selected_for: date | None = None) -> Decision:
    """Decide ``application`` under ``policy``."""
    work = _Work(policy, application, _input_facts(policy, application))
    for section in SECTIONS:
        section(work)
    amounts = _amounts(work)
    return Decision(
        status=work.status,
        status_label=policy.statuses.label(work.status),
        reference=application.reference,
        submitted_on=application.submitted_on,
        policy=PolicyReference(policy.id, policy.version, policy.sha256, selected_for),
        rate=RateBuildUp(work.base, tuple(work.bonuses), policy.rate.ceiling.value, work.final_rate),
        amounts=amounts,
        mutualised=bool(work.facts["mutualised"]),
        licence_count=int(work.facts["licence_count"]),
        entities=tuple(work.entities),
        payments=tuple(work.payments),
        findings=tuple(work.findings),
        missing_documents=tuple(work.missing),
        obligations=tuple(work.obligations),
    )


def _input_facts(policy: Policy, application: Application) -> dict[str, Any]:
    solution, applicant = application.solution, application.applicant
    known: dict[str, Any] = {
        "submitted_on": application.submitted_on,
        "purchase_date": application.purchase_date,
        "frugal_ai": application.frugal_ai,
        "public_procurement_compliant": application.public_procurement_compliant,
        "solution_kind": solution.kind,
        "editor_country": solution.editor_country,
        "hosting_countries": solution.hosting_countries,
        "processing_countries": solution.processing_countries,
        "model_provider_country": solution.model_provider_country,
        "auditability_commitment": solution.auditability_commitment,
        "extra_eu_transfer": solution.extra_eu_transfer,
        "eu_law_applicable": solution.eu_law_applicable,
        "extra_eu_jurisdiction": solution.extra_eu_jurisdiction,
        "reversibility": solution.reversibility,
        "ai_act_compliant": solution.ai_act_compliant,
        "applicant_category": applicant.category,
        "applicant_licences": applicant.licences,
        "applicant_overseas": applicant.overseas,
        "applicant_action_coeur_de_ville": applicant.action_coeur_de_ville,
        "applicant_qpv_population_share": applicant.qpv_population_share,
        "applicant_non_economic_activity": applicant.non_economic_activity,
        "document_kinds": tuple(sorted({supplied.kind for supplied in application.documents})),
        "co_beneficiary_count": len(application.co_beneficiaries),
    }
    known.update({key: p.value for key, p in policy.parameters.items()})
    known.update({key: item.values for key, item in policy.lists.items()})
    return known


def _entity_facts(entity: Entity) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in ENTITY_FACTS}


# -- sections -----------------------------------------------------------------------------------


def _window(work: _Work) -> None:
    window = work.policy.window
    submitted = work.application.submitted_on
    period = f"du {french.day(window.opens_on)} au {french.day(window.closes_on)}"
    if window.opens_on <= submitted <= window.closes_on:
        work.find("window", "pass", window.clause, f"Demande déposée le {french.day(submitted)}, {period} : "
                  "dans la période de dépôt.", inputs=("submitted_on",))
    else:
        work.find("window", "fail", window.clause, f"Demande déposée le {french.day(submitted)}, hors de la "
                  f"période de dépôt ({period}).", window.on_outside, ("submitted_on",))


def _beneficiaries(work: _Work) -> None:
    application = work.application
    people: list[tuple[Role, Entity]] = [("applicant", application.applicant)]
    people.extend(("co_beneficiary", entity) for entity in application.co_beneficiaries)
    for role, entity in people:
        outcome, rule, clause, message = _classify(work, entity)
        applicant = role == "applicant"
        covered = applicant or outcome != "ineligible"
        who = f"{'Demandeur' if applicant else 'Co-bénéficiaire'} {entity.name} ({entity.siren})"
        if outcome == "eligible":
            effect: Status | None = None
        elif outcome == "review":
            effect = "review"
        else:
            effect = "ineligible" if applicant else None
            message += "" if applicant else " Il est écarté de la demande, avec ses lignes de dépenses."
        work.findings.append(Finding(rule, _CATEGORY_OUTCOMES[outcome], clause, f"{who} : {message}", effect,
                                     (("siren", entity.siren), ("category", entity.category))))
        work.entities.append(EntityResult(role, entity.siren, entity.name, entity.category, outcome, covered,
                                          entity.licences, ZERO, ZERO))
        if covered:
            work.covered.append(entity)
    co_covered = work.covered[1:]
    work.facts.update({
        "covered_co_beneficiary_count": len(co_covered),
        "co_beneficiaries_with_licences": sum(1 for e in co_covered if e.licences > 0),
        "licence_count": sum(e.licences for e in work.covered),
        "max_qpv_population_share": max(e.qpv_population_share for e in work.covered),
    })


def _classify(work: _Work, entity: Entity) -> tuple[CategoryOutcome, str, str, str]:
    """Outcome, rule id, clause and French message for an entity's category."""
    beneficiaries = work.policy.beneficiaries
    category = beneficiaries.categories.get(entity.category)
    if category is None:
        unknown = beneficiaries.unknown_category
        close = difflib.get_close_matches(entity.category, list(beneficiaries.categories), n=1, cutoff=0.75)
        message = f"catégorie « {entity.category} » absente des listes du cahier des charges"
        message += f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
        message += f" : {_OUTCOME_WORDS[unknown.outcome]}."
        return unknown.outcome, "beneficiaries.unknown_category", unknown.clause, message
    rule = f"beneficiaries.categories.{category.id}"
    if category.cases:
        # an entity's facts, and the parameters and lists that every expression may read
        constants = {name: work.facts[name] for name in (*work.policy.parameters, *work.policy.lists)}
        evaluate = Evaluator({**constants, **_entity_facts(entity)})
        for case in category.cases:
            if evaluate(case.when):
                return case.outcome, rule, category.clause, f"{category.label} : {case.label}."
    message = f"{category.label} : {_OUTCOME_WORDS[category.outcome]}."
    if category.reason:
        message += f" {category.reason}"
    return category.outcome, rule, category.clause, message


_OUTCOME_WORDS = {"eligible": "bénéficiaire éligible", "review": "évaluation au cas par cas",
                  "ineligible": "non éligible"}


def _expenses(work: _Work) -> None:
    expenses = work.policy.expenses
    period = expenses.funded_period
    covered = {e.siren for e in work.covered}
    sums = {"requested_total": ZERO, "licence_requested": ZERO, "deployment_requested": ZERO, "eligible_licence": ZERO}
    deployment_by_entity: dict[str, Decimal] = {}
    for line in work.application.expenses:
        kind = expenses.kinds[line.kind]
        rule = f"expenses.kinds.{kind.id}"
        what = f"Ligne {line.index + 1} ({kind.label}, {french.euros(line.amount)})"
        sums["requested_total"] += line.amount
        if line.entity not in covered:
            work.find(rule, "fail", kind.clause, f"{what} : non retenue, l'entité {line.entity} est écartée.")
            continue
        if kind.group == "excluded":
            work.find(rule, "fail", kind.clause, f"{what} : non éligible. {kind.reason}")
            continue
        amount = line.amount
        if kind.group == period.applies_to and line.months is not None and line.months > period.months:
            amount = work.round(line.amount * period.months / line.months)
            work.find("expenses.funded_period", "info", period.clause,
                      f"{what} : couvre {line.months} mois, retenue pour {period.months} mois, soit "
                      f"{french.euros(amount)}.")
        if kind.group == "licence":
            sums["licence_requested"] += line.amount
            sums["eligible_licence"] += amount
            work.entity_licence[line.entity] = work.entity_licence.get(line.entity, ZERO) + amount
        else:
            sums["deployment_requested"] += amount
            deployment_by_entity[line.entity] = deployment_by_entity.get(line.entity, ZERO) + amount
        work.find(rule, "pass", kind.clause, f"{what} : dépense éligible ({_GROUP_WORDS[kind.group]}).")
    work.facts.update(sums)
    _deployment_cap(work, deployment_by_entity)
    _run_checks(work, "expenses.checks", expenses.checks)


_GROUP_WORDS = {"licence": "licences", "deployment": "déploiement"}


def _deployment_cap(work: _Work, deployment_by_entity: dict[str, Decimal]) -> None:
    formula = work.policy.expenses.eligible_deployment
    requested: Decimal = work.facts["deployment_requested"]
    # bounded before rounding: whatever the formula gives, the result lies between 0 and the request
    eligible = work.round(min(max(Decimal(work.evaluate(formula.expression)), ZERO), requested))
    if eligible < requested:
        work.find("expenses.eligible_deployment", "info", formula.clause,
                  f"{formula.label} : {french.euros(eligible)} retenus sur {french.euros(requested)} de "
                  f"déploiement demandé.", inputs=tuple(formula.expression.names))
    else:
        work.find("expenses.eligible_deployment", "pass", formula.clause,
                  f"{formula.label} : le déploiement demandé ({french.euros(requested)}) est retenu en entier.",
                  inputs=tuple(formula.expression.names))
    for siren, amount in deployment_by_entity.items():
        work.entity_deployment[siren] = work.round(amount * eligible / requested) if requested else ZERO
    applicant = work.application.applicant.siren
    eligible_licence: Decimal = work.facts["eligible_licence"]
    work.facts.update({
        "eligible_deployment": eligible,
        "eligible_total": eligible_licence + eligible,
        "excluded_total": work.facts["requested_total"] - eligible_licence - eligible,
        "applicant_eligible_total": work.entity_licence.get(applicant, ZERO)
        + work.entity_deployment.get(applicant, ZERO),
    })
    work.entities = [
        EntityResult(e.role, e.siren, e.name, e.category, e.outcome, e.covered, e.licences,
                     work.entity_licence.get(e.siren, ZERO), work.entity_deployment.get(e.siren, ZERO))
        for e in work.entities
    ]


def _mutualisation(work: _Work) -> None:
    section = work.policy.mutualisation
    mutualised = bool(work.evaluate(section.mutualised_when))
    work.facts["mutualised"] = mutualised
    count = work.facts["co_beneficiaries_with_licences"]
    work.find("mutualisation.mutualised_when", "pass" if mutualised else "info", section.clause,
              f"{section.label} : {'oui' if mutualised else 'non'} ({count} co-bénéficiaire(s) couvert(s) "
              "avec des licences).", inputs=tuple(section.mutualised_when.names))
    _run_checks(work, "mutualisation.checks", section.checks)


def _rate(work: _Work) -> None:
    rate = work.policy.rate
    tier = next(t for t in rate.tiers if t.when is None or work.evaluate(t.when))
    work.base = Rated(tier.id, tier.label, tier.rate)
    work.find(f"rate.base.{tier.id}", "pass", tier.clause,
              f"Taux de base : {french.percent(tier.rate)} ({tier.label}).",
              inputs=tuple(tier.when.names) if tier.when else ())
    supplied = set(work.facts["document_kinds"])
    for bonus in rate.bonuses:
        rule = f"rate.bonuses.{bonus.id}"
        inputs = tuple(bonus.when.names)
        if not work.evaluate(bonus.when):
            work.find(rule, "info", bonus.clause, f"{bonus.label} : conditions non réunies.", inputs=inputs)
        elif bonus.evidence is not None and not supplied.intersection(bonus.evidence.one_of):
            work.find(rule, "missing", bonus.evidence.clause,
                      f"{bonus.label} : demandée sans justificatif recevable, non accordée "
                      f"({bonus.evidence.label} attendu).", inputs=inputs)
            work.missing.append(MissingDocument(rule, bonus.evidence.label, bonus.evidence.one_of,
                                                bonus.evidence.clause, None))
        else:
            work.bonuses.append(Rated(bonus.id, bonus.label, bonus.value))
            work.find(rule, "pass", bonus.clause, f"{bonus.label} : accordée, +{french.percent(bonus.value)}.",
                      inputs=inputs)
    uncapped = tier.rate + sum((bonus.value for bonus in work.bonuses), ZERO)
    ceiling = rate.ceiling
    work.final_rate = min(uncapped, ceiling.value)
    if uncapped > ceiling.value:
        work.find("rate.ceiling", "info", ceiling.clause,
                  f"{ceiling.label} : le taux de {french.percent(uncapped)} est ramené à "
                  f"{french.percent(ceiling.value)}.")
    else:
        work.find("rate.ceiling", "pass", ceiling.clause,
                  f"Taux final : {french.percent(work.final_rate)} ({ceiling.label.lower()} : "
                  f"{french.percent(ceiling.value)}).")


def _sovereignty(work: _Work) -> None:
    _run_checks(work, "sovereignty.criteria", work.policy.sovereignty.checks)


def _conditions(work: _Work) -> None:
    _run_checks(work, "conditions.checks", work.policy.conditions.checks)


def _run_checks(work: _Work, section: str, checks: tuple[Check, ...]) -> None:
    for check in checks:
        rule = f"{section}.{check.id}"
        absent = sorted(n for n in check.test.names if APPLICATION_FACTS.get(n) and work.facts.get(n) is None
                        and APPLICATION_FACTS[n].optional)
        inputs = tuple(check.test.names)
        on_absent = check.on_absent
        if absent and on_absent == "pass":
            work.find(rule, "pass", check.clause, f"{check.label} : sans objet, "
                      f"non renseigné : {_fact_labels(absent)}.", inputs=inputs)
        elif absent and on_absent is not None and on_absent != "pass":
            work.find(rule, _FAILED[on_absent], check.clause, f"{check.label} : à renseigner "
                      f"({_fact_labels(absent)}).", on_absent, inputs)
        elif work.evaluate(check.test):
            work.find(rule, "pass", check.clause, f"{check.label} : oui.", inputs=inputs)
        else:
            work.find(rule, _FAILED[check.on_fail], check.clause, f"{check.label} : non.", check.on_fail, inputs)


def _fact_labels(names: list[str]) -> str:
    return ", ".join(APPLICATION_FACTS[name].label for name in names)


def _documents(work: _Work) -> None:
    documents = work.policy.documents
    supplied = work.application.documents
    covered = [e.siren for e in work.covered]
    for requirement in documents.requirements:
        rule = f"documents.requirements.{requirement.id}"
        if requirement.when is not None and not work.evaluate(requirement.when):
            work.find(rule, "info", requirement.clause, f"{requirement.label} : non requise pour cette demande.",
                      inputs=tuple(requirement.when.names))
            continue
        candidates = [d for d in supplied if d.kind in requirement.one_of]
        problem = None
        if not candidates:
            problem = "pièce manquante"
        elif requirement.signed_by_all_covered and not any(set(covered) <= set(d.signed_by) for d in candidates):
            best = max(candidates, key=lambda d: len(set(covered) & set(d.signed_by)))
            unsigned = [siren for siren in covered if siren not in best.signed_by]
            problem = f"signature manquante de {', '.join(unsigned)}"
        if problem is None:
            work.find(rule, "pass", requirement.clause, f"{requirement.label} : fournie.")
            continue
        work.find(rule, _FAILED[requirement.on_missing], requirement.clause, f"{requirement.label} : {problem}.",
                  requirement.on_missing)
        work.missing.append(MissingDocument(rule, requirement.label, requirement.one_of, requirement.clause,
                                            requirement.on_missing))


def _reporting(work: _Work) -> None:
    reporting = work.policy.reporting
    for indicator in reporting.indicators:
        rule = f"reporting.indicators.{indicator.id}"
        if indicator.when is not None and not work.evaluate(indicator.when):
            work.find(rule, "info", indicator.clause, f"Indicateur non demandé : {indicator.label}.",
                      inputs=tuple(indicator.when.names))
            continue
        work.obligations.append(Obligation(indicator.id, indicator.label, reporting.frequency, indicator.clause))
        work.find(rule, "info", indicator.clause,
                  f"Indicateur à transmettre {reporting.frequency} : {indicator.label}.")


def _status(work: _Work) -> None:
    effects = {finding.effect for finding in work.findings if finding.effect is not None}
    work.status = work.policy.statuses.worst(effects)


SECTIONS: tuple[Callable[[_Work], None], ...] = (
    _window, _beneficiaries, _expenses, _mutualisation, _rate, _sovereignty, _conditions, _documents,
    _reporting, _status,
)


def _amounts(work: _Work) -> Amounts:
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
        work.find("amounts.grant", "info", clause, "Aucune subvention : la demande n'est pas éligible.")
    else:
        work.find("amounts.grant", "info", clause,
                  f"Subvention : {french.euros(licence)} de licences et {french.euros(deployment)} de "
                  f"déploiement éligibles à {french.percent(rate)}, soit {french.euros(grant_licence)} + "
                  f"{french.euros(grant_deployment)} = {french.euros(total)} ({policy.rounding.label.lower()} : "
                  f"{french.ROUNDING_WORDS[policy.rounding.mode]}).")
        _payments(work, total)
    return Amounts(facts["requested_total"], licence, deployment, facts["eligible_total"], facts["excluded_total"],
                   grant_licence, grant_deployment, total)


def _payments(work: _Work, total: Decimal) -> None:
    paid = ZERO
    for tranche in work.policy.payments.tranches:
        amount = total - paid if tranche.share is None else work.round(total * tranche.share)
        paid += amount
        work.payments.append(Payment(tranche.id, tranche.label, amount, tranche.condition))
        work.find(f"payments.tranches.{tranche.id}", "info", tranche.clause,
                  f"{tranche.label} : {french.euros(amount)}, {tranche.condition[0].lower()}{tranche.condition[1:]}.")
