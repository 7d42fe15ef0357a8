"""Caps (``expenses.caps``, ``grant.caps``): an amount bounded by a limit in euros or by a formula,
for each expense line, each entity covered or the whole application. One kind of rule, found in two
sections: the amounts retained and the grant."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from evaluator.core import french
from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import Applied
from evaluator.core.kinds.base import (
    ZERO,
    Branch,
    Description,
    Kind,
    Loader,
    Noun,
    Work,
    code,
    placeholder,
    rule_id,
)
from evaluator.core.policy import Cap, Policy
from evaluator.reading.problems import JsonPath

PER_ORDER = ("line", "entity", "application")
"""The order in which caps apply."""
PER_WORDS = {"line": "par ligne de dépenses", "entity": "par entité couverte", "application": "par demande"}


def load(loader: Loader, path: JsonPath, clause: str, stage: Stage,
         applies_to: Callable[[JsonPath, dict[str, Any]], str]) -> tuple[Cap, ...]:
    """The caps at ``path``: a limit per line or per entity reads that line's or entity's facts, a
    limit per application the application's facts known at ``stage``; ``applies_to`` says what each
    bounds (checked by the section)."""

    def cap(item_path: JsonPath, key: str, item: dict[str, Any]) -> Cap:
        per = item["per"]
        where = (*item_path, "limit")
        limit = (loader.expression(where, stage, Type.NUMBER) if per == "application"
                 else loader.item_expression(where, "expense" if per == "line" else "entity", Type.NUMBER))
        limit = limit or placeholder()
        constants = {*loader.data["parameters"], *loader.data["lists"]}
        inputs = limit.inputs if per == "application" else tuple(name for name in limit.inputs if name in constants)
        return Cap(key, rule_id(item_path), loader.text((*item_path, "label")), per, limit,
                   applies_to(item_path, item), item.get("clause", clause), loader.interpretation(item_path, item),
                   inputs)

    return loader.items(path, cap)


def limit(cap: Cap, facts: Mapping[str, Any]) -> Decimal:
    """The cap's limit for these facts; a formula giving less than nothing bounds at zero."""
    return max(ZERO, Decimal(cap.limit.function(facts)))


def item_limit(cap: Cap, policy: Policy, facts: Mapping[str, Any]) -> Decimal:
    """The limit of a cap per line or per entity, over that item's facts, the parameters besides."""
    return limit(cap, {**policy.constants, **facts})


def bound(work: Work, cap: Cap, amount: Decimal, ceiling: Decimal, entity: str | None, whom: str) -> Decimal:
    """``amount`` bounded by ``ceiling``, rounded as the policy says, the finding recorded: « capped »
    when the cap binds, « within » otherwise (only for a cap per application, the others tell only
    when they bind, as the funded period does)."""
    if amount > ceiling:
        capped = work.round(ceiling)
        work.find(Applied(cap.rule, "info", cap.clause, None, cap.inputs, entity, "capped", capped_message,
                          (cap.label, whom, amount, capped)))
        return capped
    if cap.per == "application":
        work.find(Applied(cap.rule, "pass", cap.clause, None, cap.inputs, entity, "within", within_message,
                          (cap.label, whom, amount, work.round(ceiling))))
    return amount


def capped_message(label: str, whom: str, amount: Decimal, capped: Decimal) -> str:
    return f"{label} : {whom}{french.euros(amount)} ramenés à {french.euros(capped)}."


def within_message(label: str, whom: str, amount: Decimal, ceiling: Decimal) -> str:
    return f"{label} : {whom}{french.euros(amount)}, sous le plafond de {french.euros(ceiling)}."


def branches(cap: Cap, _policy: Policy) -> tuple[Branch, ...]:
    found = (Branch("capped", "montant ramené au plafond"),)
    return (Branch("within", "sous le plafond"), *found) if cap.per == "application" else found


def describe(cap: Cap, policy: Policy) -> Description:
    return (("limite", code(cap.limit, "")), ("appliqué", PER_WORDS[cap.per]), ("porte sur", target(cap, policy)))


def target(cap: Cap, policy: Policy) -> str:
    """What the cap bounds, in words: the grant, an expense group or (per line) an expense kind."""
    if cap.applies_to == GRANT:
        return "la subvention"
    if cap.applies_to in french.GROUPS:
        return f"les dépenses retenues ({french.GROUPS[cap.applies_to]})"
    return f"les lignes « {policy.expenses.kinds[cap.applies_to].label} »"


GRANT = "grant"
"""What a cap of the grant applies to."""


def kind(name: str, rules: Callable[[Policy], Iterable[Cap]]) -> Kind:
    """The caps of one section of the policy."""
    return Kind(name, Noun("plafond", False, "first"), rules, branches, describe)
