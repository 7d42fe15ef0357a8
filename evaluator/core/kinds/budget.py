"""The programme's credits (``budget``): an amount for the whole window and, if the policy says so,
one for each calendar year of submission. They decide no application (the cahier grants cofinancing
« dans la limite des crédits disponibles », case by case): ``versions.budget`` sets the commitments
of a portfolio's eligible applications against them. A policy without ``budget`` declares none."""

from __future__ import annotations

from decimal import Decimal

from evaluator.core import french
from evaluator.core.kinds.base import SETTING, Branch, Description, Kind, Loader, Section, Work
from evaluator.core.policy import Budget, Policy

NOT_DECLARED = "Cette version ne déclare pas les crédits du programme."


def load(loader: Loader) -> Budget:
    section = loader.data.get("budget")
    if section is None:  # the window's clause is the one that opens the guichet « dans la limite des crédits »
        return Budget("Crédits du programme", None, {}, loader.data["window"]["clause"], NOT_DECLARED)
    per_year = {int(year): Decimal(amount) for year, amount in section.get("per_year", {}).items()}
    credits = Decimal(section["credits"]) if "credits" in section else None
    if credits is not None and sum(per_year.values()) > credits:
        loader.problem(("budget", "per_year"), "les crédits des années dépassent les crédits de toute la période",
                       "la somme des crédits annuels ne peut dépasser « credits »")
    return Budget(loader.text(("budget", "label")), credits, per_year, section["clause"],
                  loader.interpretation(("budget",), section))


def _nothing(_work: Work) -> None:
    """The credits decide no application."""


def _branches(_budget: Budget, _policy: Policy) -> tuple[Branch, ...]:
    return ()


def _describe(budget: Budget, _policy: Policy) -> Description:
    whole = "non déclarés" if budget.credits is None else french.euros(budget.credits)
    years = " ; ".join(f"{year} : {french.euros(amount)}" for year, amount in sorted(budget.per_year.items()))
    return ("crédits de la période", whole), ("par année de dépôt", years or "non déclarés")


BUDGET = Kind("budget", SETTING, lambda policy: (policy.budget,) if policy.budget.declared else (), _branches,
              _describe)
SECTION: Section = Section("budget", "Crédits du programme", (BUDGET,), _nothing, lambda policy: policy.budget, load)
