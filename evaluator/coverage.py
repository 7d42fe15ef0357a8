"""Coverage of a policy's rules by test cases: which outcomes of each rule the cases exercised.

The *possible* outcomes of a rule are read from the policy model, never written here per rule:
a bonus may be granted or not (and refused for want of evidence when it asks for some), a category
has its default outcome and one per conditional case, a criterion may be met or failed (and not
filled in when it says what happens then), a document requirement may be met or missing (and not
required when it has a condition), and so on; a policy that gains a tier, a bonus or a criterion
gains its outcomes. The *observed* outcomes are read from the decisions: each finding of a rule is
classified into one of the rule's outcomes, and the status of the decision is one outcome of
``statuses``. Each kind of rule is one small function, behind one table (``SECTIONS``).

Like ``opa test --coverage``, the figure is never rounded up: 199 outcomes out of 200 read
99.5 %, and a threshold is compared on the exact counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from evaluator import french
from evaluator.decision import Decision, Finding
from evaluator.documents import Document
from evaluator.engine import CATEGORY_FINDINGS
from evaluator.findings import Status
from evaluator.policy import Category, CategoryOutcome, Check, Policy
from evaluator.problems import InputError, Problem

Observer = Callable[[Sequence[Finding], Decision], frozenset[str]]


@dataclass(frozen=True)
class Branch:
    """One possible outcome of a rule: a short key (``granted``) and a French label."""

    key: str
    label: str


@dataclass(frozen=True)
class Rule:
    """A rule of the policy (``id`` is its path in the policy file, as in the findings), its possible
    outcomes, and how to read which of them a decision took."""

    id: str
    label: str
    clause: str
    branches: tuple[Branch, ...]
    observe: Observer = field(compare=False, repr=False)


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


# -- the possible outcomes, read from the model -------------------------------------------------


def rules(policy: Policy) -> tuple[Rule, ...]:
    """Every rule of ``policy`` with its possible outcomes, in the order of the evaluation."""
    return tuple(rule for section in SECTIONS for rule in section(policy))


def _by_outcome(keys: Mapping[str, str]) -> Observer:
    """Reads a finding's outcome (``pass``, ``info``…) as one of the rule's outcomes."""
    return lambda findings, _decision: frozenset(keys[f.outcome] for f in findings if f.outcome in keys)


def _status_words(policy: Policy, status: Status) -> str:
    return policy.statuses.label(status).lower()


def _window(policy: Policy) -> Iterator[Rule]:
    window = policy.window
    yield Rule("window", window.label, window.clause,
               (Branch("inside", "dans la période"),
                Branch("outside", f"hors de la période → {_status_words(policy, window.on_outside)}")),
               _by_outcome({"pass": "inside", "fail": "outside"}))


_CATEGORY_FINDINGS: dict[str, str] = {finding: outcome for outcome, (finding, _) in CATEGORY_FINDINGS.items()}
"""A category's finding read back as the category's outcome."""


def _category_branches(category: Category) -> tuple[Branch, ...]:
    """One branch per distinct outcome: the conditional cases in order, then the default one.
    Cases that lead to the same outcome share its branch."""
    conditions: dict[CategoryOutcome, list[str]] = {}
    for case in category.cases:
        conditions.setdefault(case.outcome, []).append(f"si {case.when.text}")
    conditions.setdefault(category.outcome, []).append("sinon" if category.cases else "")
    return tuple(
        Branch(outcome, french.OUTCOMES[outcome] + (f", {' ; '.join(w for w in words if w)}" if any(words) else ""))
        for outcome, words in conditions.items()
    )


def _category_observer() -> Observer:
    return _by_outcome(_CATEGORY_FINDINGS)


def _beneficiaries(policy: Policy) -> Iterator[Rule]:
    beneficiaries = policy.beneficiaries
    for category in beneficiaries.categories.values():
        yield Rule(f"beneficiaries.categories.{category.id}", category.label, category.clause,
                   _category_branches(category), _category_observer())
    unknown = beneficiaries.unknown_category
    yield Rule("beneficiaries.unknown_category", "Catégorie absente des listes", unknown.clause,
               (Branch(unknown.outcome, french.OUTCOMES[unknown.outcome]),), _category_observer())


_GROUP_WORDS = {"licence": "retenue (licences)", "deployment": "retenue (déploiement)"}


def _expenses(policy: Policy) -> Iterator[Rule]:
    expenses = policy.expenses
    for kind in expenses.kinds.values():
        if kind.group == "excluded":
            branch, observe = Branch("excluded", "exclue"), _by_outcome({"fail": "excluded"})
        else:  # a line of an entity set aside also fails: that is the entity's outcome, not the kind's
            branch, observe = Branch("retained", _GROUP_WORDS[kind.group]), _by_outcome({"pass": "retained"})
        yield Rule(f"expenses.kinds.{kind.id}", kind.label, kind.clause, (branch,), observe)
    period = expenses.funded_period
    yield Rule("expenses.funded_period", period.label, period.clause,
               (Branch("prorated", f"ligne ramenée à {period.months} mois"),), _by_outcome({"info": "prorated"}))
    formula = expenses.eligible_deployment
    yield Rule("expenses.eligible_deployment", formula.label, formula.clause,
               (Branch("whole", "retenu en entier"), Branch("capped", "plafonné")),
               _by_outcome({"pass": "whole", "info": "capped"}))
    yield from _checks(policy, "expenses.checks", expenses.checks)


def _mutualisation(policy: Policy) -> Iterator[Rule]:
    section = policy.mutualisation
    yield Rule("mutualisation.mutualised_when", section.label, section.clause,
               (Branch("yes", "mutualisée"), Branch("no", "non mutualisée")),
               _by_outcome({"pass": "yes", "info": "no"}))
    yield from _checks(policy, "mutualisation.checks", section.checks)


def _rate(policy: Policy) -> Iterator[Rule]:
    rate = policy.rate
    for tier in rate.tiers:
        yield Rule(f"rate.base.{tier.id}", tier.label, tier.clause,
                   (Branch("taken", f"palier retenu ({french.percent(tier.rate)})"),), _by_outcome({"pass": "taken"}))
    for bonus in rate.bonuses:
        branches = [Branch("granted", f"accordée (+{french.percent(bonus.value)})"),
                    Branch("not_granted", "conditions non réunies")]
        if bonus.evidence is not None:
            branches.append(Branch("missing_evidence", "demandée sans justificatif recevable"))
        yield Rule(f"rate.bonuses.{bonus.id}", bonus.label, bonus.clause, tuple(branches),
                   _by_outcome({"pass": "granted", "info": "not_granted", "missing": "missing_evidence"}))
    ceiling = rate.ceiling
    yield Rule("rate.ceiling", ceiling.label, ceiling.clause,
               (Branch("not_reached", "taux sous le plafond"),
                Branch("applied", f"taux ramené à {french.percent(ceiling.value)}")),
               _by_outcome({"pass": "not_reached", "info": "applied"}))


def _sovereignty(policy: Policy) -> Iterator[Rule]:
    yield from _checks(policy, "sovereignty.criteria", policy.sovereignty.checks)


def _conditions(policy: Policy) -> Iterator[Rule]:
    yield from _checks(policy, "conditions.checks", policy.conditions.checks)


def _checks(policy: Policy, section: str, checks: Iterable[Check]) -> Iterator[Rule]:
    for check in checks:
        branches = [Branch("met", "rempli"), Branch("failed", f"non rempli → {_status_words(policy, check.on_fail)}")]
        if check.on_absent is not None:
            then = "sans objet" if check.on_absent == "pass" else _status_words(policy, check.on_absent)
            branches.append(Branch("absent", f"non renseigné → {then}"))
        yield Rule(f"{section}.{check.id}", check.label, check.clause, tuple(branches), _check_observer(check))


def _check_observer(check: Check) -> Observer:
    """A criterion not filled in reads an optional fact left empty; otherwise ``pass`` is met."""
    optional = set(check.optional)

    def classify(finding: Finding) -> str:
        if check.on_absent is not None and any(name in optional and value is None for name, value in finding.inputs):
            return "absent"
        return "met" if finding.outcome == "pass" else "failed"

    return lambda findings, _decision: frozenset(classify(f) for f in findings)


def _documents(policy: Policy) -> Iterator[Rule]:
    for requirement in policy.documents.requirements:
        branches = [Branch("supplied", "fournie"),
                    Branch("missing", f"manquante → {_status_words(policy, requirement.on_missing)}")]
        if requirement.when is not None:
            branches.append(Branch("not_required", "non requise"))
        yield Rule(f"documents.requirements.{requirement.id}", requirement.label, requirement.clause, tuple(branches),
                   _by_outcome({"pass": "supplied", "info": "not_required", "fail": "missing", "missing": "missing",
                                "review": "missing"}))


def _reporting(policy: Policy) -> Iterator[Rule]:
    for indicator in policy.reporting.indicators:
        branches = [Branch("required", "à transmettre")]
        if indicator.when is not None:
            branches.append(Branch("not_required", "non demandé"))
        yield Rule(f"reporting.indicators.{indicator.id}", indicator.label, indicator.clause, tuple(branches),
                   _indicator_observer(indicator.id))


def _indicator_observer(indicator: str) -> Observer:
    def observe(findings: Sequence[Finding], decision: Decision) -> frozenset[str]:
        if not findings:
            return frozenset()
        required = any(obligation.id == indicator for obligation in decision.obligations)
        return frozenset({"required" if required else "not_required"})

    return observe


def _payments(policy: Policy) -> Iterator[Rule]:
    for tranche in policy.payments.tranches:
        yield Rule(f"payments.tranches.{tranche.id}", tranche.label, tranche.clause,
                   (Branch("computed", "montant calculé"),), _by_outcome({"info": "computed"}))


def _statuses(policy: Policy) -> Iterator[Rule]:
    statuses = policy.statuses
    yield Rule("statuses", "Statut de la demande", statuses.clause,
               tuple(Branch(s.id, s.label) for s in statuses.order),
               lambda _findings, decision: frozenset({decision.status}))


SECTIONS: tuple[Callable[[Policy], Iterator[Rule]], ...] = (
    _window, _beneficiaries, _expenses, _mutualisation, _rate, _sovereignty, _conditions, _documents, _reporting,
    _payments, _statuses,
)


# -- the observed outcomes, read from the decisions ---------------------------------------------


def observed(table: Sequence[Rule], decision: Decision) -> frozenset[tuple[str, str]]:
    """The ``(rule, outcome)`` pairs ``decision`` exercised among the rules of ``table``."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in decision.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    pairs: set[tuple[str, str]] = set()
    for rule in table:
        possible = {branch.key for branch in rule.branches}
        pairs.update((rule.id, key) for key in rule.observe(by_rule.get(rule.id, ()), decision) if key in possible)
    return frozenset(pairs)


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
