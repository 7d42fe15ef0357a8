"""The decision: what the evaluator returns, and its stable JSON form
(``schemas/decision.schema.json``). Amounts and rates are decimal strings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, TypeVar

import orjson

from evaluator.core.application import Application, Entity
from evaluator.core.findings import Applied, Outcome, Status
from evaluator.core.policy import Bonus, CategoryOutcome, Indicator, Policy, Tier, Tranche

Role = Literal["applicant", "co_beneficiary"]
InputValue = str | int | bool | Decimal | date | tuple[str, ...] | None

DECISION_FORMAT = "1"
T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    """What one rule found: its outcome, the clause it applies, the facts it read, and the status
    it leads the application to (``effect``), if any."""

    rule: str
    outcome: Outcome
    clause: str
    message: str
    effect: Status | None = None
    inputs: tuple[tuple[str, InputValue], ...] = ()
    entity: str | None = None


@dataclass(frozen=True)
class PolicyReference:
    id: str
    version: str
    sha256: str
    selected_for: date | None


@dataclass(frozen=True)
class Rated:
    """A rate tier taken or a bonus granted."""

    id: str
    label: str
    value: Decimal


@dataclass(frozen=True)
class RateBuildUp:
    base: Rated
    bonuses: tuple[Rated, ...]
    ceiling: Decimal
    final: Decimal


@dataclass(frozen=True)
class Amounts:
    requested_total: Decimal
    eligible_licence: Decimal
    eligible_deployment: Decimal
    eligible_total: Decimal
    excluded_total: Decimal
    grant_licence: Decimal
    grant_deployment: Decimal
    grant_total: Decimal


@dataclass(frozen=True)
class EntityResult:
    role: Role
    siren: str
    name: str
    category: str
    outcome: CategoryOutcome
    covered: bool
    licences: int
    eligible_licence: Decimal
    eligible_deployment: Decimal


@dataclass(frozen=True)
class Payment:
    id: str
    label: str
    amount: Decimal
    condition: str


@dataclass(frozen=True)
class MissingDocument:
    requirement: str
    label: str
    one_of: tuple[str, ...]
    clause: str
    effect: Status | None

    def to_dict(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "label": self.label, "one_of": list(self.one_of),
                "clause": self.clause, "effect": self.effect}


@dataclass(frozen=True)
class Obligation:
    id: str
    label: str
    frequency: str
    clause: str


AMOUNTS = ("requested_total", "eligible_licence", "eligible_deployment", "eligible_total", "excluded_total",
           "grant_licence", "grant_deployment", "grant_total")
"""The amounts of a decision, in the order of ``Decision.figures`` and of ``Amounts``."""

EntityRow = tuple[Role, Entity, CategoryOutcome, bool]
"""An entity of the application: its role, itself, its category's outcome, whether it is covered."""


@dataclass(frozen=True)
class Decision:
    """A decision, as the evaluator establishes it: the status, the figures, and the trace of every
    rule applied. Its parts (rate build-up, amounts, entities, payments, findings…) are built from
    these the first time they are read, and ``to_dict`` gives the stable JSON form."""

    status: Status
    selected_for: date | None
    tier: Tier
    granted: tuple[Bonus, ...]
    final_rate: Decimal
    figures: tuple[Decimal, ...]
    entity_rows: tuple[EntityRow, ...]
    entity_amounts: tuple[Mapping[str, Decimal], Mapping[str, Decimal]] = field(repr=False)
    paid: tuple[tuple[Tranche, Decimal], ...]
    missing_documents: tuple[MissingDocument, ...]
    indicators: tuple[Indicator, ...]
    trace: tuple[Applied, ...] = field(repr=False, compare=False)
    facts: Mapping[str, Any] = field(repr=False, compare=False)
    """Every fact of the decision: the policy's parameters and lists, the application's facts and
    those the evaluation established (never changed once established)."""
    applied: Policy = field(repr=False, compare=False)
    application: Application = field(repr=False, compare=False)
    parts: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The parts read so far, by name, each built once (not ``functools.cached_property``, which
    mypyc, compiling this module in a wheel, makes a plain property, built at every read)."""

    def _part(self, name: str, build: Callable[[], T]) -> T:
        """The part ``name``, built by ``build`` the first time it is read."""
        found: T | None = self.parts.get(name)
        if found is None:
            found = self.parts[name] = build()
        return found

    @property
    def policy(self) -> PolicyReference:
        return self._part("policy", lambda: PolicyReference(self.applied.id, self.applied.version,
                                                            self.applied.sha256, self.selected_for))

    @property
    def status_label(self) -> str:
        return self.applied.statuses.named(self.status)

    @property
    def reference(self) -> str | None:
        return self.application.reference

    @property
    def submitted_on(self) -> date:
        return self.application.submitted_on

    @property
    def mutualised(self) -> bool:
        return bool(self.facts["mutualised"])

    @property
    def licence_count(self) -> int:
        """The licences of the entities covered."""
        return sum(entity.licences for _, entity, _, covered in self.entity_rows if covered)

    @property
    def rate(self) -> RateBuildUp:
        tier = self.tier
        return self._part("rate", lambda: RateBuildUp(
            Rated(tier.id, tier.label, tier.rate), tuple(Rated(bonus.id, bonus.label, bonus.value)
                                                         for bonus in self.granted),
            self.applied.rate.ceiling.value, self.final_rate))

    @property
    def amounts(self) -> Amounts:
        return self._part("amounts", lambda: Amounts(*self.figures))

    @property
    def entities(self) -> tuple[EntityResult, ...]:
        licence, deployment = self.entity_amounts
        return self._part("entities", lambda: tuple(
            EntityResult(role, e.siren, e.name, e.category, outcome, covered, e.licences,
                         licence.get(e.siren, _ZERO), deployment.get(e.siren, _ZERO))
            for role, e, outcome, covered in self.entity_rows))

    @property
    def payments(self) -> tuple[Payment, ...]:
        return self._part("payments", lambda: tuple(Payment(t.id, t.label, amount, t.condition)
                                                    for t, amount in self.paid))

    @property
    def obligations(self) -> tuple[Obligation, ...]:
        return self._part("obligations", lambda: tuple(Obligation(i.id, i.label, i.frequency, i.clause)
                                                       for i in self.indicators))

    @property
    def findings(self) -> tuple[Finding, ...]:
        """One finding per rule applied, in order, each message rendered and each fact it read with
        its value (the facts of a decision are never changed once established)."""
        facts = self.facts
        return self._part("findings", lambda: tuple(
            Finding(entry.rule, entry.outcome, entry.clause, entry.text, entry.effect,
                    tuple((name, facts[name]) for name in entry.inputs), entry.entity)
            for entry in self.trace))

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (``schemas/decision.schema.json``), built from the decision's data
        directly; the attributes above are the same data, as Python objects."""
        return self._form(_finding_dict)

    def _form(self, finding: Callable[[Applied], Any]) -> dict[str, Any]:
        """The JSON form, each finding written by ``finding``."""
        applied, application, tier = self.applied, self.application, self.tier
        licence, deployment = self.entity_amounts
        facts = self._facts_read()
        return {
            "format": DECISION_FORMAT,
            "status": self.status,
            "status_label": self.status_label,
            "reference": application.reference,
            "submitted_on": application.submitted_on.isoformat(),
            "policy": {"id": applied.id, "version": applied.version, "sha256": applied.sha256,
                       "selected_for": self.selected_for.isoformat() if self.selected_for else None},
            "rate": {"base": rate_text(tier.rate), "base_tier": tier.id,
                     "bonuses": {bonus.id: rate_text(bonus.value) for bonus in self.granted},
                     "ceiling": rate_text(applied.rate.ceiling.value), "final": rate_text(self.final_rate)},
            "amounts": dict(zip(AMOUNTS, map(money_text, self.figures), strict=True)),
            "mutualised": self.mutualised,
            "licence_count": self.licence_count,
            "entities": [{"role": role, "siren": e.siren, "name": e.name, "category": e.category, "outcome": outcome,
                          "covered": covered, "licences": e.licences,
                          "eligible_licence": money_text(licence.get(e.siren, _ZERO)),
                          "eligible_deployment": money_text(deployment.get(e.siren, _ZERO))}
                         for role, e, outcome, covered in self.entity_rows],
            "payments": [{"id": t.id, "label": t.label, "amount": money_text(amount), "condition": t.condition}
                         for t, amount in self.paid],
            "facts": facts,
            "findings": [finding(entry) for entry in self.trace],
            "missing_documents": [missing.to_dict() for missing in self.missing_documents],
            "obligations": [{"id": i.id, "label": i.label, "frequency": i.frequency, "clause": i.clause}
                            for i in self.indicators],
        }

    def _facts_read(self) -> dict[str, Any]:
        """The facts the findings read, each once, in the order first read, in their JSON form."""
        facts = self.facts
        read: dict[str, Any] = {}
        for entry in self.trace:
            for name in entry.inputs:
                if name not in read:
                    read[name] = json_value(facts[name])
        return read

    def to_json(self, indent: int | None = 2) -> str:
        """The decision as JSON text: indented by two spaces, or compact (``indent=None``)."""
        return self.to_bytes(indent).decode("utf-8")

    def to_bytes(self, indent: int | None = None) -> bytes:
        """The decision as UTF-8 JSON, compact by default: what a batch writes, one per line."""
        if indent is None:
            return orjson.dumps(self._form(_finding_json))
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)


def _finding_dict(entry: Applied) -> dict[str, Any]:
    finding = {"rule": entry.rule, "outcome": entry.outcome, "clause": entry.clause, "message": entry.text,
               "effect": entry.effect, "inputs": list(entry.inputs)}
    if entry.entity is not None:
        finding["entity"] = entry.entity
    return finding


def _finding_json(entry: Applied) -> dict[str, Any] | orjson.Fragment:
    """A finding for compact JSON: one whose message is a text (most are known when the policy loads,
    and shared by every decision that records them) is written once."""
    return _written(entry) if isinstance(entry.message, str) else _finding_dict(entry)


@lru_cache(maxsize=8192)
def _written(entry: Applied) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps(_finding_dict(entry)))


_ZERO = Decimal(0)


def money_text(amount: Decimal) -> str:
    """``4800`` → ``"4800.00"``."""
    return format(amount, ".2f")


@lru_cache(maxsize=1024)  # a few rates, written in every decision; the text depends on the value alone
def rate_text(rate: Decimal) -> str:
    """``0.4`` → ``"0.40"``; finer rates keep their digits (``"0.125"``)."""
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{rate.normalize():f}"
    return f"{rate.quantize(Decimal('0.01')):f}"


def json_value(value: InputValue) -> Any:
    convert = _TO_JSON.get(type(value))
    return value if convert is None else convert(value)


def _decimal_text(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


_TO_JSON: dict[type, Callable[[Any], Any]] = {Decimal: _decimal_text, date: date.isoformat, tuple: list}
