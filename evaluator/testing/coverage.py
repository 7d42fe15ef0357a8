"""Coverage of a policy's rules by test cases: which outcomes of each rule the cases exercised.

The *possible* outcomes of a rule are those its kind declares (``evaluator.core.kinds``), never written
here: a bonus may be granted or not (and refused for want of evidence when it asks for some), a
category has its default outcome and one per conditional case, a criterion may be met or failed
(and not filled in when it says what happens then), and so on; a policy that gains a tier, a bonus or
a criterion gains its outcomes, and a new kind of rule brings its own. The *observed* outcomes are
the ``(rule, outcome)`` pairs the decisions' findings name, and the status of each decision, one
outcome of ``statuses``.

Like ``opa test --coverage``, the figure is never rounded up: 199 outcomes out of 200 read
99.5 %, and a threshold is compared on the exact counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from evaluator.core import french
from evaluator.core.decision import Decision
from evaluator.core.kinds.base import Branch
from evaluator.core.kinds.registry import kinds_of
from evaluator.core.policy import Policy
from evaluator.reading.parse import Document
from evaluator.reading.problems import InputError, Problem


@dataclass(frozen=True)
class Rule:
    """A rule of the policy (``id`` is its path in the policy file, as in the findings) and its
    possible outcomes."""

    id: str
    label: str
    clause: str
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class BranchCoverage:
    branch: Branch
    cases: int

    @property
    def covered(self) -> bool:
        return self.cases > 0


@dataclass(frozen=True)
class RuleCoverage:
    rule: Rule
    branches: tuple[BranchCoverage, ...]
    line: int | None

    @property
    def covered(self) -> int:
        return sum(1 for b in self.branches if b.covered)

    @property
    def total(self) -> int:
        return len(self.branches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id, "label": self.rule.label, "clause": self.rule.clause, "line": self.line,
            "covered": self.covered, "total": self.total,
            "outcomes": [{"outcome": b.branch.key, "label": b.branch.label, "covered": b.covered, "cases": b.cases}
                         for b in self.branches],
        }


@dataclass(frozen=True)
class PolicyCoverage:
    policy_id: str
    version: str
    sha256: str
    origin: str
    cases: int
    rules: tuple[RuleCoverage, ...]

    @property
    def covered(self) -> int:
        return sum(r.covered for r in self.rules)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rules)

    @property
    def percent(self) -> Decimal:
        return percent(self.covered, self.total)

    def uncovered(self) -> Iterator[tuple[RuleCoverage, Branch]]:
        for rule in self.rules:
            for branch in rule.branches:
                if not branch.covered:
                    yield rule, branch.branch

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.policy_id, "version": self.version, "sha256": self.sha256, "file": self.origin,
            "cases": self.cases, "covered": self.covered, "total": self.total, "percent": str(self.percent),
            "rules": [rule.to_dict() for rule in self.rules],
        }


@dataclass(frozen=True)
class CoverageReport:
    policies: tuple[PolicyCoverage, ...]

    @property
    def covered(self) -> int:
        return sum(p.covered for p in self.policies)

    @property
    def total(self) -> int:
        return sum(p.total for p in self.policies)

    @property
    def percent(self) -> Decimal:
        return percent(self.covered, self.total)

    def meets(self, minimum: Decimal) -> bool:
        """Whether the coverage reaches ``minimum`` (a percentage), on the exact counts."""
        return self.covered * 100 >= minimum * self.total

    def to_dict(self, minimum: Decimal | None = None) -> dict[str, Any]:
        return {
            "covered": self.covered, "total": self.total, "percent": str(self.percent),
            "minimum": None if minimum is None else str(minimum),
            "meets_minimum": None if minimum is None else self.meets(minimum),
            "policies": [policy.to_dict() for policy in self.policies],
            "uncovered": [
                {"policy": p.policy_id, "version": p.version, "file": p.origin, "line": rule.line,
                 "rule": rule.rule.id, "outcome": branch.key, "label": branch.label}
                for p in self.policies for rule, branch in p.uncovered()
            ],
        }


def percent(covered: int, total: int) -> Decimal:
    """``covered`` out of ``total`` as a percentage with one decimal, rounded down (100 when empty)."""
    if total == 0:
        return Decimal(100)
    return (Decimal(covered * 100) / total).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


# -- the possible outcomes, read from the kinds; the observed ones, from the findings -------------


def rules(policy: Policy) -> tuple[Rule, ...]:
    """Every rule of ``policy`` with its possible outcomes (its kind's ``branches``), in the order of
    the evaluation."""
    return tuple(Rule(rule.rule, rule.label, rule.clause, kind.branches(rule, policy))
                 for kind in kinds_of(policy) for rule in kind.rules(policy))


def observed(table: Sequence[Rule], decision: Decision) -> frozenset[tuple[str, str]]:
    """The ``(rule, outcome)`` pairs ``decision`` exercised among the rules of ``table``: the outcome
    each finding names, and the status the decision took."""
    possible = {(rule.id, branch.key) for rule in table for branch in rule.branches}
    reached = {(finding.rule, finding.branch) for finding in decision.trace}
    reached.add((decision.applied.statuses.rule, decision.status))
    return frozenset(reached & possible)


def policy_coverage(policy: Policy, decisions: Iterable[Decision], lines: Mapping[str, int] | None = None
                    ) -> PolicyCoverage:
    """The coverage of ``policy`` by the decisions taken under it (others are ignored)."""
    table = rules(policy)
    hits: dict[tuple[str, str], int] = {}
    cases = 0
    for decision in decisions:
        if (decision.policy.id, decision.policy.version) != (policy.id, policy.version):
            continue
        cases += 1
        for pair in observed(table, decision):
            hits[pair] = hits.get(pair, 0) + 1
    lines = lines or {}
    return PolicyCoverage(policy.id, policy.version, policy.sha256, policy.origin, cases, tuple(
        RuleCoverage(rule, tuple(BranchCoverage(b, hits.get((rule.id, b.key), 0)) for b in rule.branches),
                     lines.get(rule.id))
        for rule in table
    ))


def coverage(policies: Iterable[Policy], decisions: Iterable[Decision],
             lines: Mapping[str, Mapping[str, int]] | None = None) -> CoverageReport:
    """The coverage of each of ``policies`` (``lines``: the line of each rule, by policy version)."""
    taken = tuple(decisions)
    lines = lines or {}
    return CoverageReport(tuple(policy_coverage(p, taken, lines.get(p.version)) for p in policies))


def rule_lines(document: Document, table: Iterable[Rule]) -> dict[str, int]:
    """The line of each rule in the policy document it was loaded from (rule ids are paths)."""
    found: dict[str, int] = {}
    for rule in table:
        where = document.locate(tuple(rule.id.split(".")))
        if where is not None:
            found[rule.id] = where[0]
    return found


# -- the table for a terminal -------------------------------------------------------------------


def render_text(report: CoverageReport, minimum: Decimal | None = None) -> list[str]:
    """The coverage as French lines: one per rule with its outcomes, then what remains to cover."""
    lines: list[str] = []
    width = max((len(r.rule.id) for p in report.policies for r in p.rules), default=10)
    for policy in report.policies:
        lines.append(f"Couverture des règles : {policy.policy_id} {policy.version} ({_cases(policy.cases)})")
        lines.append(f"  {'Règle':<{width}}  {'Issues':>6}  exercées (✓) et non exercées (✗)")
        for rule in policy.rules:
            marks = " · ".join(f"{'✓' if b.covered else '✗'} {b.branch.label}" for b in rule.branches)
            lines.append(f"  {rule.rule.id:<{width}}  {f'{rule.covered}/{rule.total}':>6}  {marks}")
        lines.append(f"  Total {policy.policy_id} {policy.version} : {policy.covered}/{policy.total} issues "
                     f"({_percent(policy.percent)})")
        missing = list(policy.uncovered())
        if missing:
            lines.append(f"Issues non couvertes ({len(missing)}) :")
            for rule, branch in missing:
                where = f"{policy.origin}:{rule.line}" if rule.line else policy.origin
                lines.append(f"  {where}  {rule.rule.id} : {branch.label}")
    summary = f"Couverture : {_percent(report.percent)} ({report.covered}/{report.total} issues)"
    if minimum is not None:
        verdict = "atteint" if report.meets(minimum) else "NON ATTEINT"
        summary += f" ; minimum exigé : {_percent(minimum)}, {verdict}"
    lines.append(summary)
    return lines


def _percent(value: Decimal) -> str:
    return f"{french.number(value.normalize() if value == value.to_integral_value() else value)} %"


def _cases(count: int) -> str:
    return f"{count} cas" if count else "aucun cas ne l'applique"


def parse_minimum(text: str, source: str = "option --coverage-min") -> Decimal:
    """A coverage threshold, a percentage from 0 to 100 (``95``, ``99.5``, ``95 %``)."""
    cleaned = text.strip().removesuffix("%").strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= 100:
        raise InputError([Problem(source, f"« {text} » n'est pas un pourcentage de 0 à 100",
                                  hint="par exemple --coverage-min 100 ou --coverage-min 95.5")])
    return value
