"""The policy model: one version of the cahier des charges, as frozen data.

Every rule carries the clause it comes from and, where the text is ambiguous, the interpretation
the version retains. Expressions are already checked (``Expression``). What a rule derives from its
data (the findings known when the policy loads, its messages) is a field set once, when it is built
(``_derive``; the constructor does not take it), not a ``functools.cached_property``: mypyc, which
compiles this module in a wheel, makes a cached property a plain property, computed at every read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from functools import partial
from typing import Any, Literal

from evaluator.core.expressions import Expression
from evaluator.core.facts import Aggregate, FactTable, Reader, Stage
from evaluator.core.findings import FAILED_OUTCOMES, Applied, Outcome, Status
from evaluator.core.french import GROUPS, OUTCOMES, percent
from evaluator.reading.validation import Schema

CategoryOutcome = Literal["eligible", "review", "ineligible"]
Group = Literal["licence", "deployment", "excluded"]


def _static(rule: str, outcome: Outcome, clause: str, message: str, effect: Status | None,
            inputs: tuple[str, ...], branch: str) -> Applied:
    """A rule applied whose finding is known when the policy loads (shared by every decision)."""
    return Applied(rule, outcome, clause, effect, inputs, None, branch, message)


def _derive(instance: object, **values: object) -> None:
    """Set the fields a frozen rule derives from its data, in its ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(instance, name, value)


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
    apply: Callable[[Decimal], Decimal] = field(init=False, repr=False, compare=False)
    """Round an amount as the policy says."""

    def __post_init__(self) -> None:
        _derive(self, apply=partial(Decimal.quantize, exp=self.quantum, rounding=ROUNDING_MODES[self.mode]))


@dataclass(frozen=True)
class StatusDefinition:
    id: Status
    label: str


@dataclass(frozen=True)
class Statuses:
    order: tuple[StatusDefinition, ...]
    clause: str
    interpretation: str | None
    labels: Mapping[Status, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _derive(self, labels={s.id: s.label for s in self.order})

    @property
    def rule(self) -> str:
        return "statuses"

    @property
    def label(self) -> str:
        return "Statut de la demande"

    def named(self, status: Status) -> str:
        """A status's label."""
        return self.labels[status]

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

    @property
    def rule(self) -> str:
        return "window"


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
    message: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _derive(self, message=f"{self.label} : {OUTCOMES[self.outcome]}." + (f" {self.reason}" if self.reason else ""))


@dataclass(frozen=True)
class UnknownCategory:
    outcome: CategoryOutcome
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "beneficiaries.unknown_category"

    @property
    def label(self) -> str:
        return "Catégorie absente des listes"


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

    eligible_text: str = field(init=False, repr=False, compare=False)
    excluded_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _derive(self, eligible_text=f"dépense éligible ({GROUPS[self.group]}).",
                excluded_text=f"non éligible. {self.reason}")


@dataclass(frozen=True)
class FundedPeriod:
    label: str
    months: int
    applies_to: Group
    duration: str
    """The expense-line fact that gives a line's duration, in months."""
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "expenses.funded_period"


@dataclass(frozen=True)
class Formula:
    label: str
    expression: Expression
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "expenses.eligible_deployment"


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

    optional: tuple[str, ...]
    """The facts of the test an application may leave out."""

    when_passed: Applied = field(init=False, repr=False, compare=False)
    """The finding of this check when its test holds."""
    when_failed: Applied = field(init=False, repr=False, compare=False)
    """The finding of this check when its test fails."""

    def __post_init__(self) -> None:
        inputs = self.test.inputs
        _derive(self, when_passed=_static(self.rule, "pass", self.clause, f"{self.label} : oui.", None, inputs, "met"),
                when_failed=_static(self.rule, FAILED_OUTCOMES[self.on_fail], self.clause, f"{self.label} : non.",
                                    self.on_fail, inputs, "failed"))


@dataclass(frozen=True)
class Cap:
    """A bound on an amount: ``limit`` (euros, or a formula) for each line, each entity covered, or
    the whole application (``per``), on the amounts of ``applies_to`` (an expense group or kind)."""

    id: str
    rule: str
    label: str
    per: Literal["line", "entity", "application"]
    limit: Expression
    applies_to: str
    clause: str
    interpretation: str | None
    inputs: tuple[str, ...]
    """What its finding shows it read: the limit's inputs, or only the parameters it reads when it
    is over one line's or one entity's facts (the decision's facts are the application's)."""


@dataclass(frozen=True)
class Expenses:
    kinds: Mapping[str, ExpenseKind]
    funded_period: FundedPeriod
    caps: tuple[Cap, ...]
    """Applied in this order: each line's, then each entity's, then the application's."""
    eligible_deployment: Formula
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None

    line_caps: tuple[Cap, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _derive(self, line_caps=tuple(cap for cap in self.caps if cap.per == "line"))


@dataclass(frozen=True)
class Budget:
    """The programme's credits (``budget``): for the whole window, and by calendar year of submission.
    They decide no application; ``guichet budget`` and ``guichet impact`` set commitments against them."""

    label: str
    credits: Decimal | None
    per_year: Mapping[int, Decimal]
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "budget"

    @property
    def declared(self) -> bool:
        return self.credits is not None or bool(self.per_year)


Split = Literal["pro_rata", "licence_first", "deployment_first"]
"""How a capped grant is shared between the licence and deployment grants."""


@dataclass(frozen=True)
class Grant:
    """The grant's caps in euros (per entity, then per application), how a capped grant is split,
    and the criteria that read it."""

    caps: tuple[Cap, ...]
    split: Split
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "grant.split"

    @property
    def label(self) -> str:
        return "Partage d'une subvention plafonnée"


@dataclass(frozen=True)
class Mutualisation:
    label: str
    mutualised_when: Expression
    checks: tuple[Check, ...]
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "mutualisation.mutualised_when"


@dataclass(frozen=True)
class Tier:
    id: str
    rule: str
    label: str
    when: Expression | None
    rate: Decimal
    clause: str
    interpretation: str | None

    when_taken: Applied = field(init=False, repr=False, compare=False)
    """The finding of this tier when it gives the base rate."""

    def __post_init__(self) -> None:
        message = f"Taux de base : {percent(self.rate)} ({self.label})."
        _derive(self, when_taken=_static(self.rule, "pass", self.clause, message, None,
                                         self.when.inputs if self.when else (), "taken"))


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

    when_not_met: Applied = field(init=False, repr=False, compare=False)
    when_unproven: Applied | None = field(init=False, repr=False, compare=False)
    """Its finding when it is asked for without the evidence it needs (``None``: it needs none)."""
    when_granted: Applied = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs, evidence = self.when.inputs, self.evidence
        unproven = None if evidence is None else _static(
            self.rule, "missing", evidence.clause,
            f"{self.label} : demandée sans justificatif recevable, non accordée ({evidence.label} attendu).", None,
            inputs, "missing_evidence")
        _derive(self, when_unproven=unproven,
                when_not_met=_static(self.rule, "info", self.clause, f"{self.label} : conditions non réunies.", None,
                                     inputs, "not_granted"),
                when_granted=_static(self.rule, "pass", self.clause,
                                     f"{self.label} : accordée, +{percent(self.value)}.", None, inputs, "granted"))


@dataclass(frozen=True)
class Ceiling:
    label: str
    value: Decimal
    clause: str
    interpretation: str | None

    @property
    def rule(self) -> str:
        return "rate.ceiling"


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

    when_not_required: Applied = field(init=False, repr=False, compare=False)
    when_supplied: Applied = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs = self.when.inputs if self.when else ()
        _derive(self, when_not_required=_static(self.rule, "info", self.clause,
                                                f"{self.label} : non requise pour cette demande.", None, inputs,
                                                "not_required"),
                when_supplied=_static(self.rule, "pass", self.clause, f"{self.label} : fournie.", None, (), "supplied"))


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

    when_not_required: Applied = field(init=False, repr=False, compare=False)
    when_required: Applied = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        inputs = self.when.inputs if self.when else ()
        _derive(self, when_not_required=_static(self.rule, "info", self.clause,
                                                f"Indicateur non demandé : {self.label}.", None, inputs,
                                                "not_required"),
                when_required=_static(self.rule, "info", self.clause,
                                      f"Indicateur à transmettre {self.frequency} : {self.label}.", None, (),
                                      "required"))


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
    facts: FactTable
    application_schema: dict[str, Any]
    """The schema of an application this version decides (``application.application_schema``)."""
    beneficiaries: Beneficiaries
    expenses: Expenses
    mutualisation: Mutualisation
    rate: Rate
    sovereignty: CheckGroup
    conditions: CheckGroup
    documents: Documents
    grant: Grant
    payments: Payments
    budget: Budget
    reporting: Reporting
    sections: tuple[Any, ...]
    """The sections the policy is applied by, in order (``kinds.base.Section``): the bundled ones
    (``kinds.registry.SECTIONS``) and any other it was loaded with."""
    extensions: Mapping[str, Any]
    """What the sections the bundled schema does not know loaded, by section name."""

    application_check: Schema = field(init=False, repr=False, compare=False)
    covered_aggregates: tuple[Aggregate, ...] = field(init=False, repr=False, compare=False)
    """The aggregates over the entities covered, known once the beneficiaries are examined."""
    reader: Reader = field(init=False, repr=False, compare=False)
    """How this version reads the fields it declares."""
    constants: dict[str, Any] = field(init=False, repr=False, compare=False)
    """The parameters and lists, by name: what every expression may read besides the facts."""

    def __post_init__(self) -> None:
        _derive(self, application_check=Schema(f"application {self.version}", self.application_schema),
                covered_aggregates=tuple(a for a in self.facts.aggregates if a.fact().stage is Stage.ENTITIES),
                reader=Reader.of(self.facts),
                constants={**{key: p.value for key, p in self.parameters.items()},
                           **{key: item.values for key, item in self.lists.items()}})

    def __hash__(self) -> int:
        return hash(self.sha256)
