"""The policy model: one version of the cahier des charges, as frozen data.

Every rule carries the clause it comes from and, where the text is ambiguous, the interpretation
the version retains. Expressions are already checked (``Expression``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Literal

import orjson

from evaluator.expressions import Expression
from evaluator.facts import OPTIONAL_FACTS
from evaluator.french import GROUPS, OUTCOMES, percent

if TYPE_CHECKING:
    from evaluator.compiled import Decide

Status = Literal["ineligible", "incomplete", "review", "eligible"]
CategoryOutcome = Literal["eligible", "review", "ineligible"]
Group = Literal["licence", "deployment", "excluded"]

FAILED_OUTCOMES: dict[str, Literal["fail", "missing", "review"]] = {
    "ineligible": "fail", "incomplete": "missing", "review": "review"}
"""The outcome of a finding whose rule leads to a status: not eligible is a failure, incomplete a
missing piece, review a review."""

class StaticTrace(tuple[str, Literal["pass", "fail", "review", "missing", "info"], str, str, "Status | None",
                        tuple[str, ...], None]):
    """A rule applied whose trace is known when the policy loads: its rule, outcome, clause, message,
    effect and the names of the facts it reads (see ``decision.Trace``), and its JSON form, written
    once (``json``: never to be changed, every decision that records this finding shares it), and
    serialised (``fragment``, compact JSON)."""

    json: dict[str, Any]
    fragment: orjson.Fragment


def _static(rule: str, outcome: Literal["pass", "fail", "review", "missing", "info"], clause: str, message: str,
            effect: Status | None, inputs: tuple[str, ...]) -> StaticTrace:
    entry = StaticTrace((rule, outcome, clause, message, effect, inputs, None))
    entry.json = {"rule": rule, "outcome": outcome, "clause": clause, "message": message, "effect": effect,
                  "inputs": list(inputs)}
    entry.fragment = orjson.Fragment(orjson.dumps(entry.json))
    return entry

ROUNDING_MODES = {"down": ROUND_DOWN, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "up": ROUND_UP}


@dataclass(frozen=True)
class Source:
    title: str
    version: str
    date: date


@dataclass(frozen=True)
class Rounding:
    label: str
    quantum: Decimal
    mode: str
    clause: str
    interpretation: str | None

    @cached_property
    def apply(self) -> Callable[[Decimal], Decimal]:
        """Round an amount as the policy says."""
        return partial(Decimal.quantize, exp=self.quantum, rounding=ROUNDING_MODES[self.mode])


@dataclass(frozen=True)
class StatusDefinition:
    id: Status
    label: str


@dataclass(frozen=True)
class Statuses:
    order: tuple[StatusDefinition, ...]
    clause: str
    interpretation: str | None

    def label(self, status: Status) -> str:
        return self._labels[status]

    @cached_property
    def _labels(self) -> dict[Status, str]:
        return {s.id: s.label for s in self.order}

    def worst(self, statuses: set[Status]) -> Status:
        """The status that takes precedence among ``statuses`` (the last one when empty)."""
        return next((s.id for s in self.order if s.id in statuses), self.order[-1].id)


@dataclass(frozen=True)
class Window:
    label: str
    opens_on: date
    closes_on: date
    on_outside: Status
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Parameter:
    id: str
    label: str
    value: int | Decimal | date
    unit: str
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class NamedList:
    id: str
    label: str
    values: tuple[str, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class CategoryCase:
    when: Expression
    outcome: CategoryOutcome
    label: str


@dataclass(frozen=True)
class Category:
    id: str
    rule: str
    label: str
    outcome: CategoryOutcome
    reason: str | None
    cases: tuple[CategoryCase, ...]
    clause: str
    interpretation: str | None

    @cached_property
    def message(self) -> str:
        return f"{self.label} : {OUTCOMES[self.outcome]}." + (f" {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class UnknownCategory:
    outcome: CategoryOutcome
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Beneficiaries:
    categories: Mapping[str, Category]
    unknown_category: UnknownCategory
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class ExpenseKind:
    id: str
    rule: str
    label: str
    group: Group
    reason: str | None
    clause: str
    interpretation: str | None

    @cached_property
    def eligible_text(self) -> str:
        return f"dépense éligible ({GROUPS[self.group]})."

    @cached_property
    def excluded_text(self) -> str:
        return f"non éligible. {self.reason}"


@dataclass(frozen=True)
class FundedPeriod:
    label: str
    months: int
    applies_to: Group
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Formula:
    label: str
    expression: Expression
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Check:
    """A criterion: ``test`` must hold; ``on_fail`` (and ``on_absent`` for a missing optional fact)
    is the status it leads to otherwise."""

    id: str
    rule: str
    label: str
    test: Expression
    on_fail: Status
    on_absent: Status | Literal["pass"] | None
    clause: str
    interpretation: str | None

    @cached_property
    def optional(self) -> tuple[str, ...]:
        """The facts of the test an application may leave out."""
        return tuple(name for name in self.test.names if name in OPTIONAL_FACTS)

    @cached_property
    def when_passed(self) -> StaticTrace:
        """The trace of this check when its test holds (see ``decision.Trace``)."""
        return _static(self.rule, "pass", self.clause, f"{self.label} : oui.", None, self.test.inputs)

    @cached_property
    def when_failed(self) -> StaticTrace:
        """The trace of this check when its test fails."""
        outcome = FAILED_OUTCOMES[self.on_fail]
        return _static(self.rule, outcome, self.clause, f"{self.label} : non.", self.on_fail, self.test.inputs)


@dataclass(frozen=True)
class Expenses:
    kinds: Mapping[str, ExpenseKind]
    funded_period: FundedPeriod
    eligible_deployment: Formula
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Mutualisation:
    label: str
    mutualised_when: Expression
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Tier:
    id: str
    rule: str
    label: str
    when: Expression | None
    rate: Decimal
    clause: str
    interpretation: str | None

    @cached_property
    def when_taken(self) -> StaticTrace:
        """The trace of this tier when it gives the base rate (see ``decision.Trace``)."""
        message = f"Taux de base : {percent(self.rate)} ({self.label})."
        return _static(self.rule, "pass", self.clause, message, None, self.when.inputs if self.when else ())


@dataclass(frozen=True)
class Evidence:
    label: str
    one_of: tuple[str, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Bonus:
    id: str
    rule: str
    label: str
    when: Expression
    value: Decimal
    evidence: Evidence | None
    clause: str
    interpretation: str | None

    @cached_property
    def when_not_met(self) -> StaticTrace:
        return _static(self.rule, "info", self.clause, f"{self.label} : conditions non réunies.", None,
                       self.when.inputs)

    @cached_property
    def when_unproven(self) -> StaticTrace:
        evidence = self.evidence
        assert evidence is not None, "only a bonus that needs evidence can lack it"
        message = f"{self.label} : demandée sans justificatif recevable, non accordée ({evidence.label} attendu)."
        return _static(self.rule, "missing", evidence.clause, message, None, self.when.inputs)

    @cached_property
    def when_granted(self) -> StaticTrace:
        message = f"{self.label} : accordée, +{percent(self.value)}."
        return _static(self.rule, "pass", self.clause, message, None, self.when.inputs)


@dataclass(frozen=True)
class Ceiling:
    label: str
    value: Decimal
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Rate:
    tiers: tuple[Tier, ...]
    bonuses: tuple[Bonus, ...]
    ceiling: Ceiling
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class CheckGroup:
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class DocumentKind:
    id: str
    label: str


@dataclass(frozen=True)
class Requirement:
    id: str
    rule: str
    label: str
    one_of: tuple[str, ...]
    when: Expression | None
    signed_by_all_covered: bool
    on_missing: Status
    clause: str
    interpretation: str | None

    @cached_property
    def when_not_required(self) -> StaticTrace:
        inputs = self.when.inputs if self.when else ()
        return _static(self.rule, "info", self.clause, f"{self.label} : non requise pour cette demande.", None, inputs)

    @cached_property
    def when_supplied(self) -> StaticTrace:
        return _static(self.rule, "pass", self.clause, f"{self.label} : fournie.", None, ())


@dataclass(frozen=True)
class Documents:
    kinds: Mapping[str, DocumentKind]
    requirements: tuple[Requirement, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Tranche:
    id: str
    rule: str
    label: str
    share: Decimal | None  # None: the rest of the grant
    condition: str
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Payments:
    tranches: tuple[Tranche, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Indicator:
    id: str
    rule: str
    label: str
    when: Expression | None
    frequency: str
    clause: str
    interpretation: str | None

    @cached_property
    def when_not_required(self) -> StaticTrace:
        inputs = self.when.inputs if self.when else ()
        return _static(self.rule, "info", self.clause, f"Indicateur non demandé : {self.label}.", None, inputs)

    @cached_property
    def when_required(self) -> StaticTrace:
        return _static(self.rule, "info", self.clause, f"Indicateur à transmettre {self.frequency} : {self.label}.",
                       None, ())

    @cached_property
    def obligation(self) -> dict[str, str]:
        """The obligation it makes, in a decision's JSON form (never to be changed: shared)."""
        return {"id": self.id, "label": self.label, "frequency": self.frequency, "clause": self.clause}

    @cached_property
    def obligation_fragment(self) -> orjson.Fragment:
        return orjson.Fragment(orjson.dumps(self.obligation))


@dataclass(frozen=True)
class Reporting:
    frequency: str
    indicators: tuple[Indicator, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    status: Literal["draft", "published"]
    effective_from: date
    title: str
    source: Source
    sha256: str
    origin: str
    rounding: Rounding
    statuses: Statuses
    window: Window
    parameters: Mapping[str, Parameter]
    lists: Mapping[str, NamedList]
    beneficiaries: Beneficiaries
    expenses: Expenses
    mutualisation: Mutualisation
    rate: Rate
    sovereignty: CheckGroup
    conditions: CheckGroup
    documents: Documents
    payments: Payments
    reporting: Reporting

    def __hash__(self) -> int:
        return hash(self.sha256)

    @cached_property
    def decide(self) -> Decide:
        """The function deciding an application under this policy (``evaluator.compiled``): written
        and compiled on first use, which ``load_policy`` makes at load."""
        from evaluator.compiled import compile_policy  # the compiled code builds decisions, which name policies

        return compile_policy(self)

    @cached_property
    def constants(self) -> dict[str, Any]:
        """The parameters and lists, by name: what every expression may read besides the facts."""
        return {**{key: p.value for key, p in self.parameters.items()},
                **{key: item.values for key, item in self.lists.items()}}
