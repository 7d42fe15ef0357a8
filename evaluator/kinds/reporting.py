"""Reporting indicators (``reporting.indicators``): each is to be sent, when its condition holds."""

from __future__ import annotations

from evaluator.kinds.base import Branch, Kind, Section, Work
from evaluator.policy import Indicator, Policy


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


INDICATOR = Kind("indicator", "Indicateur d'impact", lambda policy: policy.reporting.indicators, _branches)
SECTION = Section("reporting", (INDICATOR,), evaluate)
