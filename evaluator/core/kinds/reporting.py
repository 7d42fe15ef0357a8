"""Reporting indicators (``reporting.indicators``): each is to be sent, when its condition holds."""

from __future__ import annotations

from typing import Any

from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.kinds.base import Branch, Kind, Loader, Noun, Section, Work, code, rule_id
from evaluator.core.policy import Indicator, Policy, Reporting
from evaluator.reading.problems import JsonPath


def load(loader: Loader) -> Reporting:
    section = loader.data["reporting"]
    clause = section["clause"]

    frequency = loader.text(("reporting", "frequency"))

    def indicator(path: JsonPath, key: str, item: dict[str, Any]) -> Indicator:
        when = loader.expression((*path, "when"), Stage.GRANT, Type.BOOL) if "when" in item else None
        return Indicator(key, rule_id(path), loader.text((*path, "label")), when, frequency,
                         item.get("clause", clause), loader.interpretation(path, item))

    return Reporting(frequency, loader.items(("reporting", "indicators"), indicator),
                     clause, loader.interpretation(("reporting",), section))


def evaluate(work: Work) -> None:
    facts = work.facts
    for indicator in work.policy.reporting.indicators:
        if indicator.when is not None and not indicator.when.function(facts):
            work.find(indicator.when_not_required)
            continue
        work.indicators.append(indicator)
        work.find(indicator.when_required)


def _branches(indicator: Indicator, _policy: Policy) -> tuple[Branch, ...]:
    return (Branch("required", "à transmettre"),) + (
        (Branch("not_required", "non demandé"),) if indicator.when is not None else ())


INDICATOR = Kind("indicator", Noun("indicateur", False), lambda policy: policy.reporting.indicators, _branches,
                 lambda indicator, _policy: (("quand", code(indicator.when, "toujours")),
                                             ("fréquence", indicator.frequency)))
SECTION: Section = Section("reporting", "Indicateurs d'impact", (INDICATOR,), evaluate,
                           lambda policy: policy.reporting, load)
