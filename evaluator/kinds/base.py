"""What every kind of rule shares: its outcomes, its section, and the state of an evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from evaluator.application import Application, Entity
from evaluator.decision import EntityRow, MissingDocument
from evaluator.findings import Applied, Status
from evaluator.policy import Bonus, Indicator, Policy, Tranche


class Rule(Protocol):
    """What every rule of a policy has."""

    @property
    def rule(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def clause(self) -> str: ...


@dataclass(frozen=True)
class Branch:
    """One possible outcome of a rule: a short key (``granted``) and a French label."""

    key: str
    label: str


@dataclass(frozen=True)
class Kind:
    """A kind of rule: its name, its French name, its rules in a policy and their outcomes."""

    name: str
    label: str
    rules: Callable[[Policy], Iterable[Any]]
    branches: Callable[[Any, Policy], tuple[Branch, ...]]


@dataclass(frozen=True)
class Section:
    """A section of the policy, applied at its turn: its kinds and how they are evaluated."""

    name: str
    kinds: tuple[Kind, ...]
    evaluate: Callable[[Work], None]


def status_words(policy: Policy, status: Status) -> str:
    """A status in words, for an outcome's label."""
    return policy.statuses.named(status).lower()


ZERO = Decimal(0)


class Work:
    """The state of one evaluation: the facts known so far, the trace of the rules applied, and the
    figures of the decision."""

    __slots__ = ("application", "bonuses", "covered", "entity_deployment", "entity_licence", "entity_rows", "facts",
                 "figures", "final_rate", "find", "indicators", "missing", "paid", "policy", "round", "status", "tier",
                 "trace")

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
        self.figures: tuple[Decimal, ...] = ()
