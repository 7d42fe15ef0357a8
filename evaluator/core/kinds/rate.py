"""The rate (``rate``): the first base tier whose condition holds (``rate.base``), each bonus granted
when its condition holds and, if it asks for evidence, a document of its list was supplied
(``rate.bonuses``), then the ceiling (``rate.ceiling``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from evaluator.core import french
from evaluator.core.decision import MissingDocument
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import Applied
from evaluator.core.kinds.base import (
    SETTING,
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Section,
    Work,
    code,
    number,
    rule_id,
)
from evaluator.core.policy import Bonus, Ceiling, Evidence, Policy, Rate, Tier
from evaluator.reading.problems import JsonPath


def load(loader: Loader) -> Rate:
    section = loader.data["rate"]
    clause = section["clause"]
    keys = list(section["base"])

    def tier(path: JsonPath, key: str, item: dict[str, Any]) -> Tier:
        last = key == keys[-1]
        if last and "when" in item:
            loader.problem((*path, "when"), "le dernier palier du taux de base s'applique sans condition",
                           "retirez « when » du dernier palier, ou ajoutez un palier par défaut")
        if not last and "when" not in item:
            loader.problem(path, "seul le dernier palier du taux de base peut être sans condition")
        when = loader.expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL) if "when" in item else None
        return Tier(key, rule_id(path), loader.text((*path, "label")), when, number(item["rate"]),
                    item.get("clause", clause),
                    loader.interpretation(path, item))

    def bonus(path: JsonPath, key: str, item: dict[str, Any]) -> Bonus | None:
        when = loader.expression((*path, "when"), Stage.MUTUALISATION, Type.BOOL)
        evidence = None
        if "evidence" in item:
            proof = item["evidence"]
            loader.known_documents((*path, "evidence", "one_of"), proof["one_of"])
            evidence = Evidence(loader.text((*path, "evidence", "label")), tuple(proof["one_of"]),
                                proof.get("clause", item.get("clause", clause)),
                                loader.interpretation((*path, "evidence"), proof))
        if when is None:
            return None
        return Bonus(key, rule_id(path), loader.text((*path, "label")), when, number(item["value"]), evidence,
                     item.get("clause", clause), loader.interpretation(path, item))

    ceiling = section["ceiling"]
    return Rate(
        loader.items(("rate", "base"), tier),
        loader.items(("rate", "bonuses"), bonus),
        Ceiling(loader.text(("rate", "ceiling", "label")), number(ceiling["value"]), ceiling.get("clause", clause),
                loader.interpretation(("rate", "ceiling"), ceiling)),
        clause,
        loader.interpretation(("rate",), section),
    )


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
    supplied = work.supplied
    total = tier.rate
    for bonus in rate.bonuses:
        evidence, unproven = bonus.evidence, bonus.when_unproven
        if not bonus.when.function(facts):
            find(bonus.when_not_met)
        elif evidence is not None and unproven is not None and not any(kind in supplied for kind in evidence.one_of):
            find(unproven)
            work.missing.append(missing_evidence(bonus))
        else:
            total += bonus.value
            work.bonuses.append(bonus)
            find(bonus.when_granted)
    ceiling = rate.ceiling
    work.final_rate = facts["rate"] = min(total, ceiling.value)
    reached = total > ceiling.value
    find(Applied(ceiling.rule, "info" if reached else "pass", ceiling.clause, None, (), None,
                 "applied" if reached else "not_reached", ceiling_message, (ceiling, total)))


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


def _describe_tier(tier: Tier, _policy: Policy) -> Description:
    return ("taux", french.percent(tier.rate)), ("condition", code(tier.when, "dans les autres cas"))


def _describe_bonus(bonus: Bonus, _policy: Policy) -> Description:
    evidence = "aucun" if bonus.evidence is None else ", ".join(bonus.evidence.one_of)
    return (("valeur", f"+{french.percent(bonus.value)}"), ("condition", code(bonus.when, "")),
            ("justificatif", evidence))


TIER = Kind("tier", Noun("palier du taux de base", False, "value"), lambda policy: policy.rate.tiers, _tier_branches,
            _describe_tier)
BONUS = Kind("bonus", Noun("bonification", True, "first"), lambda policy: policy.rate.bonuses, _bonus_branches,
             _describe_bonus)
CEILING = Kind("ceiling", SETTING, lambda policy: (policy.rate.ceiling,), _ceiling_branches,
               lambda ceiling, _policy: (("taux", french.percent(ceiling.value)),))
SECTION: Section = Section("rate", "Niveau de financement", (TIER, BONUS, CEILING), evaluate,
                           lambda policy: policy.rate, load)
