"""Expense lines (``expenses``): each line's kind (``expenses.kinds``) retains it as licence or
deployment or excludes it; a line of the group the funded period applies to and longer than it is
prorated (``expenses.funded_period``); the amounts retained are bounded by the caps per line, per
entity and per application (``expenses.caps``); the deployment retained is capped by the policy's
formula (``expenses.eligible_deployment``); then the section's criteria (``expenses.checks``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from evaluator.core import french
from evaluator.core.application import ExpenseLine
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import Applied
from evaluator.core.kinds import caps, checks
from evaluator.core.kinds.base import (
    SETTING,
    ZERO,
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Section,
    Work,
    code,
    placeholder,
    rule_id,
)
from evaluator.core.policy import ExpenseKind, Expenses, Formula, FundedPeriod, Policy
from evaluator.reading.problems import JsonPath

_GROUP_WORDS = {"licence": "retenue (licences)", "deployment": "retenue (déploiement)"}


def load(loader: Loader) -> Expenses:
    section = loader.data["expenses"]
    clause = section["clause"]

    def kind(path: JsonPath, key: str, item: dict[str, Any]) -> ExpenseKind:
        return ExpenseKind(key, rule_id(path), loader.text((*path, "label")), item["group"],
                           loader.text((*path, "reason")) if "reason" in item else None,
                           item.get("clause", clause), loader.interpretation(path, item))

    kinds = {k.id: k for k in loader.items(("expenses", "kinds"), kind)}
    if not any(k.group == "licence" for k in kinds.values()):
        loader.problem(("expenses", "kinds"), "aucune nature de dépense n'est dans le groupe licence",
                       "une demande ne peut être cofinancée sans licence éligible")
    period = section["funded_period"]

    def applies_to(path: JsonPath, item: dict[str, Any]) -> str:
        target = item["applies_to"]
        kind = kinds.get(target)
        if item["per"] == "line" and kind is not None and kind.group != "excluded":
            return cast(str, target)
        if target not in ("licence", "deployment"):
            loader.problem((*path, "applies_to"), f"« {target} » n'est pas un groupe de dépenses retenu"
                           + (" ni une nature de dépense retenue" if item["per"] == "line" else ""),
                           "écrivez licence ou deployment" + (", ou une nature de dépense (expenses.kinds) qui "
                                                              "n'est pas exclue" if item["per"] == "line" else
                                                              " : un plafond par entité ou par demande porte "
                                                              "sur un groupe"))
        return cast(str, target)

    bounds = caps.load(loader, ("expenses", "caps"), clause, Stage.ENTITIES, applies_to) if "caps" in section else ()
    formula_item = section["eligible_deployment"]
    formula = loader.expression(("expenses", "eligible_deployment", "formula"), Stage.REQUESTED, Type.NUMBER)
    return Expenses(
        kinds,
        FundedPeriod(loader.text(("expenses", "funded_period", "label")), int(period["months"]),  # 12.0 is 12
                     period["applies_to"], _duration(loader, period["duration"]), period.get("clause", clause),
                     loader.interpretation(("expenses", "funded_period"), period)),
        tuple(sorted(bounds, key=lambda cap: caps.PER_ORDER.index(cap.per))),
        Formula(loader.text(("expenses", "eligible_deployment", "label")), formula or placeholder(),
                formula_item.get("clause", clause),
                loader.interpretation(("expenses", "eligible_deployment"), formula_item)),
        checks.load(loader, ("expenses", "checks"), clause, Stage.ELIGIBLE),
        clause,
        loader.interpretation(("expenses",), section),
    )


def _duration(loader: Loader, name: str) -> str:
    """The expense-line field that gives a line's duration: one the version declares (not the line's
    amount, say), a number."""
    fact = next((item.fact() for item in loader.facts.at("expense") if item.name == name), None)
    if fact is None or fact.type is not Type.NUMBER:
        loader.problem(("expenses", "funded_period", "duration"),
                       f"« {name} » n'est pas un nombre déclaré pour chaque ligne de dépenses",
                       "déclarez-le dans facts.inputs avec « at: expense » et « type: integer »")
    return name


def evaluate(work: Work) -> None:
    expenses = work.policy.expenses
    kinds = expenses.kinds
    period = expenses.funded_period
    covered = {e.siren for e in work.covered}
    requested = licence_requested = deployment_requested = eligible_licence = ZERO
    deployment_by_entity: dict[str, Decimal] = {}
    entity_licence = work.entity_licence
    find = work.find
    line_caps = expenses.line_caps
    for line in work.application.expenses:
        kind = kinds[line.kind]
        rule = kind.rule
        amount = line.amount
        requested += amount
        if line.entity not in covered:
            find(Applied(rule, "fail", kind.clause, None, (), line.entity, "set_aside", excluded_line_message,
                         (line, kind)))
            continue
        group = kind.group
        if group == "excluded":
            find(Applied(rule, "fail", kind.clause, None, (), line.entity, "excluded", line_message,
                         (line, kind, kind.excluded_text)))
            continue
        months = line.facts.get(period.duration)
        if group == period.applies_to and months is not None and months > period.months:
            amount = work.round(amount * period.months / months)
            find(Applied(period.rule, "info", period.clause, None, (), line.entity, "prorated", prorated_message,
                         (line, kind, months, period.months, amount)))
        for cap in line_caps:
            if cap.applies_to in (group, line.kind):
                amount = caps.bound(work, cap, amount, caps.item_limit(cap, work.policy, line.facts), line.entity,
                                    f"ligne {line.index + 1}, ")
        if group == "licence":
            licence_requested += line.amount
            eligible_licence += amount
            entity_licence[line.entity] = entity_licence.get(line.entity, ZERO) + amount
        else:
            deployment_requested += amount
            deployment_by_entity[line.entity] = deployment_by_entity.get(line.entity, ZERO) + amount
        find(Applied(rule, "pass", kind.clause, None, (), line.entity, "retained", line_message,
                     (line, kind, kind.eligible_text)))
    facts = work.facts
    if len(line_caps) < len(expenses.caps):
        eligible_licence = _bound_totals(work, "licence", entity_licence, eligible_licence)
        deployment_requested = _bound_totals(work, "deployment", deployment_by_entity, deployment_requested)
    facts["requested_total"] = requested
    facts["licence_requested"] = licence_requested
    facts["deployment_requested"] = deployment_requested
    facts["eligible_licence"] = eligible_licence
    _deployment_cap(work, deployment_by_entity)
    checks.run(work, expenses.checks)


def _bound_totals(work: Work, group: str, by_entity: dict[str, Decimal], total: Decimal) -> Decimal:
    """The caps per entity, then per application, on the amounts of ``group``: an entity's amount
    above its limit is brought down to it; a total above the application's limit is, and each
    entity's share is reduced in the same proportion (rounded as the policy says)."""
    policy = work.policy
    for cap in policy.expenses.caps:
        if cap.applies_to != group or cap.per == "line":
            continue
        if cap.per == "entity":
            for entity in work.covered:
                if entity.siren in by_entity:
                    by_entity[entity.siren] = caps.bound(work, cap, by_entity[entity.siren],
                                                         caps.item_limit(cap, policy, entity.facts), entity.siren,
                                                         f"{entity.name} ({entity.siren}), ")
            total = sum(by_entity.values(), ZERO)
            continue
        capped = caps.bound(work, cap, total, caps.limit(cap, work.facts), None, "")
        if capped < total:
            for siren, amount in by_entity.items():
                by_entity[siren] = work.round(amount * capped / total)
        total = capped
    return total


def excluded_line_message(line: ExpenseLine, kind: ExpenseKind) -> str:
    return line_message(line, kind, f"non retenue, l'entité {line.entity} est écartée.")


def line_message(line: ExpenseLine, kind: ExpenseKind, text: str) -> str:
    return f"Ligne {line.index + 1} ({kind.label}, {french.euros(line.amount)}) : {text}"


def prorated_message(line: ExpenseLine, kind: ExpenseKind, covered: int, months: int, amount: Decimal) -> str:
    return line_message(line, kind, f"couvre {covered} mois, retenue pour {months} mois, soit "
                                     f"{french.euros(amount)}.")


def _deployment_cap(work: Work, deployment_by_entity: dict[str, Decimal]) -> None:
    formula = work.policy.expenses.eligible_deployment
    facts = work.facts
    requested: Decimal = facts["deployment_requested"]
    # bounded before rounding: whatever the formula gives, the result lies between 0 and the request
    eligible = work.round(min(max(ZERO, Decimal(formula.expression.function(facts))), requested))
    capped = eligible < requested
    work.find(Applied(formula.rule, "info" if capped else "pass", formula.clause, None, formula.expression.inputs,
                      None, "capped" if capped else "whole", cap_message, (formula.label, eligible, requested)))
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


def _kind_branches(kind: ExpenseKind, _policy: Policy) -> tuple[Branch, ...]:
    # a line of an entity set aside is that entity's outcome ("set_aside"), not one of the kind's
    return (Branch("excluded", "exclue"),) if kind.group == "excluded" else (
        Branch("retained", _GROUP_WORDS[kind.group]),)


def _period_branches(period: FundedPeriod, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch("prorated", f"ligne ramenée à {period.months} mois"),)


def _cap_branches(_formula: Formula, _policy: Policy) -> tuple[Branch, ...]:
    return Branch("whole", "retenu en entier"), Branch("capped", "plafonné")


def _describe_kind(kind: ExpenseKind, _policy: Policy) -> Description:
    return ("groupe", french.GROUPS[kind.group]), ("motif d'exclusion", kind.reason or "")


EXPENSE_KIND = Kind("expense_kind", Noun("nature de dépense", True, "value"),
                    lambda policy: policy.expenses.kinds.values(), _kind_branches, _describe_kind)
FUNDED_PERIOD = Kind("funded_period", SETTING, lambda policy: (policy.expenses.funded_period,), _period_branches,
                     lambda period, _policy: (("durée", f"{period.months} mois"),
                                              ("lignes concernées", french.GROUPS[period.applies_to])))
DEPLOYMENT_CAP = Kind("deployment_cap", SETTING, lambda policy: (policy.expenses.eligible_deployment,),
                      _cap_branches, lambda formula, _policy: (("formule", code(formula.expression, "")),))
CAPS = caps.kind("expense_cap", lambda policy: policy.expenses.caps)
CHECKS = checks.kind("expense_check", lambda policy: policy.expenses.checks)
SECTION: Section = Section("expenses", "Dépenses", (EXPENSE_KIND, FUNDED_PERIOD, CAPS, DEPLOYMENT_CAP, CHECKS),
                           evaluate, lambda policy: policy.expenses, load)
