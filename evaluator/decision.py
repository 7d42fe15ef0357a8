"""The decision: what the evaluator returns, and its stable JSON form
(``schemas/decision.schema.json``). Amounts and rates are decimal strings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from evaluator.policy import CategoryOutcome, Status

Outcome = Literal["pass", "fail", "review", "missing", "info"]
Role = Literal["applicant", "co_beneficiary"]
InputValue = str | int | bool | Decimal | date | tuple[str, ...] | None

DECISION_FORMAT = "1"


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "clause": self.clause,
            "message": self.message,
            "effect": self.effect,
            "inputs": {name: _json_value(value) for name, value in self.inputs},
        }


@dataclass(frozen=True)
class PolicyReference:
    id: str
    version: str
    sha256: str
    selected_for: date | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256,
                "selected_for": _json_value(self.selected_for)}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": rate_text(self.base.value),
            "base_tier": self.base.id,
            "bonuses": {bonus.id: rate_text(bonus.value) for bonus in self.bonuses},
            "ceiling": rate_text(self.ceiling),
            "final": rate_text(self.final),
        }


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

    def to_dict(self) -> dict[str, str]:
        return {name: money_text(getattr(self, name)) for name in self.__dataclass_fields__}


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role, "siren": self.siren, "name": self.name, "category": self.category,
            "outcome": self.outcome, "covered": self.covered, "licences": self.licences,
            "eligible_licence": money_text(self.eligible_licence),
            "eligible_deployment": money_text(self.eligible_deployment),
        }


@dataclass(frozen=True)
class Payment:
    id: str
    label: str
    amount: Decimal
    condition: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "amount": money_text(self.amount), "condition": self.condition}


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

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label, "frequency": self.frequency, "clause": self.clause}


@dataclass(frozen=True)
class Decision:
    status: Status
    status_label: str
    reference: str | None
    submitted_on: date
    policy: PolicyReference
    rate: RateBuildUp
    amounts: Amounts
    mutualised: bool
    licence_count: int
    entities: tuple[EntityResult, ...]
    payments: tuple[Payment, ...]
    findings: tuple[Finding, ...]
    missing_documents: tuple[MissingDocument, ...]
    obligations: tuple[Obligation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": DECISION_FORMAT,
            "status": self.status,
            "status_label": self.status_label,
            "reference": self.reference,
            "submitted_on": self.submitted_on.isoformat(),
            "policy": self.policy.to_dict(),
            "rate": self.rate.to_dict(),
            "amounts": self.amounts.to_dict(),
            "mutualised": self.mutualised,
            "licence_count": self.licence_count,
            "entities": [entity.to_dict() for entity in self.entities],
            "payments": [payment.to_dict() for payment in self.payments],
            "findings": [finding.to_dict() for finding in self.findings],
            "missing_documents": [missing.to_dict() for missing in self.missing_documents],
            "obligations": [obligation.to_dict() for obligation in self.obligations],
        }

    def to_json(self, indent: int | None = 2) -> str:
        separators = (",", ": ") if indent is not None else (",", ":")
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, separators=separators)


def money_text(amount: Decimal) -> str:
    """``4800`` → ``"4800.00"``."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def rate_text(rate: Decimal) -> str:
    """``0.4`` → ``"0.40"``; finer rates keep their digits (``"0.125"``)."""
    exponent = rate.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{rate.normalize():f}"
    return f"{rate.quantize(Decimal('0.01')):f}"


def _json_value(value: InputValue) -> Any:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
