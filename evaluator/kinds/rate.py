"""The rate (``rate``): the first base tier whose condition holds (``rate.base``), each bonus granted
when its condition holds and, if it asks for evidence, a document of its list was supplied
(``rate.bonuses``), then the ceiling (``rate.ceiling``)."""

from __future__ import annotations

from decimal import Decimal

from evaluator import french
from evaluator.decision import MissingDocument
from evaluator.findings import Applied, Wording
from evaluator.kinds.base import Branch, Kind, Section, Work
from evaluator.policy import Bonus, Ceiling, Policy, Tier


def evaluate(work: Work) -> None:
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
            work.missing.append(missing_evidence(bonus))
        else:
            total += bonus.value
            work.bonuses.append(bonus)
            find(bonus.when_granted)
    ceiling = rate.ceiling
    work.final_rate = min(total, ceiling.value)
    reached = total > ceiling.value
    find(Applied(ceiling.rule, "info" if reached else "pass", ceiling.clause, None, (), None,
                 Wording(ceiling_message, (ceiling, total)), "applied" if reached else "not_reached"))


def ceiling_message(ceiling: Ceiling, total: Decimal) -> str:
    if total > ceiling.value:
        return f"{ceiling.label} : le taux de {french.percent(total)} est ramené à {french.percent(ceiling.value)}."
    return f"Taux final : {french.percent(total)} ({ceiling.label.lower()} : {french.percent(ceiling.value)})."


def missing_evidence(bonus: Bonus) -> MissingDocument:
    evidence = bonus.evidence
    assert evidence is not None, "only a bonus that needs evidence can lack it"
    return MissingDocument(bonus.rule, evidence.label, evidence.one_of, evidence.clause, None)


def _tier_branches(tier: Tier, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch("taken", f"palier retenu ({french.percent(tier.rate)})"),)


def _bonus_branches(bonus: Bonus, _policy: Policy) -> tuple[Branch, ...]:
    found = [Branch("granted", f"accordée (+{french.percent(bonus.value)})"),
             Branch("not_granted", "conditions non réunies")]
    if bonus.evidence is not None:
        found.append(Branch("missing_evidence", "demandée sans justificatif recevable"))
    return tuple(found)


def _ceiling_branches(ceiling: Ceiling, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch("not_reached", "taux sous le plafond"),
            Branch("applied", f"taux ramené à {french.percent(ceiling.value)}"))


TIER = Kind("tier", "Palier du taux de base", lambda policy: policy.rate.tiers, _tier_branches)
BONUS = Kind("bonus", "Bonification", lambda policy: policy.rate.bonuses, _bonus_branches)
CEILING = Kind("ceiling", "Taux maximal", lambda policy: (policy.rate.ceiling,), _ceiling_branches)
SECTION = Section("rate", (TIER, BONUS, CEILING), evaluate)
