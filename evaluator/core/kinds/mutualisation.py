"""Mutualisation (``mutualisation``): whether the application is mutualised (``mutualised_when``),
then the section's criteria (``mutualisation.checks``)."""

from __future__ import annotations

from evaluator.core.expressions import Type
from evaluator.core.facts import Stage
from evaluator.core.findings import Applied
from evaluator.core.kinds import checks
from evaluator.core.kinds.base import SETTING, Branch, Kind, Loader, Section, Work, code, placeholder
from evaluator.core.policy import Mutualisation, Policy


def load(loader: Loader) -> Mutualisation:
    section = loader.data["mutualisation"]
    when = loader.expression(("mutualisation", "mutualised_when"), Stage.ELIGIBLE, Type.BOOL)
    return Mutualisation(
        loader.text(("mutualisation", "label")),
        when or placeholder(),
        checks.load(loader, ("mutualisation", "checks"), section["clause"], Stage.MUTUALISATION),
        section["clause"],
        loader.interpretation(("mutualisation",), section),
    )


def evaluate(work: Work) -> None:
    section = work.policy.mutualisation
    facts = work.facts
    mutualised = facts["mutualised"] = bool(section.mutualised_when.function(facts))
    count = sum(1 for entity in work.covered[1:] if entity.licences > 0)
    work.find(Applied(section.rule, "pass" if mutualised else "info", section.clause, None,
                      section.mutualised_when.inputs, None, "yes" if mutualised else "no", message,
                      (section.label, mutualised, count)))
    checks.run(work, section.checks)


def message(label: str, mutualised: bool, count: int) -> str:
    return f"{label} : {'oui' if mutualised else 'non'} ({count} co-bénéficiaire(s) couvert(s) avec des licences)."


def _branches(_section: Mutualisation, _policy: Policy) -> tuple[Branch, ...]:
    return Branch("yes", "mutualisée"), Branch("no", "non mutualisée")


MUTUALISED = Kind("mutualisation", SETTING, lambda policy: (policy.mutualisation,), _branches,
                  lambda section, _policy: (("condition", code(section.mutualised_when, "")),))
CHECKS = checks.kind("mutualisation_check", lambda policy: policy.mutualisation.checks)
SECTION: Section = Section("mutualisation", "Mutualisation", (MUTUALISED, CHECKS), evaluate,
                           lambda policy: policy.mutualisation, load)
