"""The policy model: one version of the cahier des charges, as frozen data.

Every rule carries the clause it comes from and, where the text is ambiguous, the interpretation
the version retains. Expressions are already checked (``Expression``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from evaluator.expressions import Expression

Status = Literal["ineligible", "incomplete", "review", "eligible"]
CategoryOutcome = Literal["eligible", "review", "ineligible"]
Group = Literal["licence", "deployment", "excluded"]

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

    def apply(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=ROUNDING_MODES[self.mode])


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
        return next(s.label for s in self.order if s.id == status)

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
    label: str
    outcome: CategoryOutcome
    reason: str | None
    cases: tuple[CategoryCase, ...]
    clause: str
    interpretation: str | None


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
    label: str
    group: Group
    reason: str | None
    clause: str
    interpretation: str | None


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
    label: str
    test: Expression
    on_fail: Status
    on_absent: Status | Literal["pass"] | None
    clause: str
    interpretation: str | None


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
    label: str
    when: Expression | None
    rate: Decimal
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Evidence:
    label: str
    one_of: tuple[str, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Bonus:
    id: str
    label: str
    when: Expression
    value: Decimal
    evidence: Evidence | None
    clause: str
    interpretation: str | None


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
    label: str
    one_of: tuple[str, ...]
    when: Expression | None
    signed_by_all_covered: bool
    on_missing: Status
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Documents:
    kinds: Mapping[str, DocumentKind]
    requirements: tuple[Requirement, ...]
    clause: str
    interpretation: str | None


@dataclass(frozen=True)
class Tranche:
    id: str
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
    label: str
    when: Expression | None
    clause: str
    interpretation: str | None


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
