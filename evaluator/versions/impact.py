"""Impact of an amendment on a portfolio: every application decided under two versions, and what
changes — status, grant — with counts and totals, for staff to weigh before amending a programme
funded « dans la limite des crédits disponibles »."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from evaluator.core import french
from evaluator.core.application import build_application
from evaluator.core.decision import Decision, money_text
from evaluator.core.engine import evaluate
from evaluator.core.policy import Policy
from evaluator.reading.parse import json_line_document
from evaluator.reading.problems import InputError, visible


@dataclass(frozen=True)
class Outcome:
    """One application of the portfolio: its line, reference and both decisions (``None`` for a line
    that is not a valid application, whose problems are given)."""

    line: int
    reference: str | None
    before: Decision | None
    after: Decision | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Impact:
    old_version: str
    new_version: str
    outcomes: tuple[Outcome, ...]

    def decided(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.before is not None and o.after is not None]

    def invalid(self) -> list[Outcome]:
        """The lines that are not valid applications, left out of the counts and totals."""
        return [o for o in self.outcomes if o.problems]

    def changed(self) -> list[Outcome]:
        return [o for o in self.decided() if _kind(o) != "inchangée"]

    def counts(self) -> Counter[str]:
        counts = Counter(_kind(o) for o in self.decided())
        counts.update(["invalide"] * (len(self.outcomes) - len(self.decided())))
        return counts

    def totals(self) -> tuple[Decimal, Decimal]:
        decided = self.decided()
        return (sum((_grant(o.before) for o in decided), Decimal(0)),
                sum((_grant(o.after) for o in decided), Decimal(0)))

    def to_dict(self) -> dict[str, object]:
        before, after = self.totals()
        return {
            "from": self.old_version,
            "to": self.new_version,
            "applications": len(self.outcomes),
            "counts": dict(sorted(self.counts().items())),
            "grant_total_before": money_text(before),
            "grant_total_after": money_text(after),
            "grant_total_difference": money_text(after - before),
            "changes": [_change(o) for o in self.changed()],
            "invalid": [{"line": o.line, "problems": list(o.problems)} for o in self.invalid()],
        }


def _grant(decision: Decision | None) -> Decimal:
    return decision.amounts.grant_total if decision is not None else Decimal(0)


def _kind(outcome: Outcome) -> str:
    """The kind of change of one application, in French."""
    before, after = outcome.before, outcome.after
    assert before is not None and after is not None
    if before.status != after.status:
        return f"statut {before.status_label.lower()} → {after.status_label.lower()}"
    if after.amounts.grant_total > before.amounts.grant_total:
        return "subvention en hausse"
    if after.amounts.grant_total < before.amounts.grant_total:
        return "subvention en baisse"
    return "inchangée"


def _change(outcome: Outcome) -> dict[str, object]:
    before, after = outcome.before, outcome.after
    assert before is not None and after is not None
    return {
        "line": outcome.line, "reference": outcome.reference, "kind": _kind(outcome),
        "status_before": before.status, "status_after": after.status,
        "grant_before": money_text(before.amounts.grant_total), "grant_after": money_text(after.amounts.grant_total),
        "rate_before": str(before.rate.final), "rate_after": str(after.rate.final),
    }


def to_text(impact: Impact) -> str:
    before, after = impact.totals()
    lines = [f"Impact du passage de la version {impact.old_version} à la version {impact.new_version} "
             f"sur {len(impact.outcomes)} demande(s) :"]
    for kind, count in sorted(impact.counts().items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {count:>7}  {kind}")
    lines.append(f"Subvention totale : {french.euros(before)} → {french.euros(after)} "
                 f"({'+' if after >= before else ''}{french.euros(after - before)})")
    changed = impact.changed()
    if changed:
        lines.append("Demandes dont la décision change :")
        lines.extend(_line(o) for o in changed)
    invalid = impact.invalid()
    if invalid:
        lines.append("Lignes invalides, non évaluées :")
        lines.extend(f"  ligne {o.line} : " + o.problems[0].replace("\n", "\n    ") for o in invalid)
    return visible("\n".join(lines)) + "\n"


def _line(outcome: Outcome) -> str:
    before, after = outcome.before, outcome.after
    assert before is not None and after is not None
    name = outcome.reference or f"ligne {outcome.line}"
    return (f"  - {name} : {before.status_label.lower()}, {french.euros(before.amounts.grant_total)} → "
            f"{after.status_label.lower()}, {french.euros(after.amounts.grant_total)}")


def assess(old: Policy, new: Policy, lines: Iterable[tuple[int, str]], source: str) -> Impact:
    """Decide each application of a JSON Lines portfolio under ``old`` and under ``new``."""
    outcomes = []
    for number, line in lines:
        try:
            document = json_line_document(line, source, number)
            before = evaluate(old, build_application(document, old))
            after = evaluate(new, build_application(document, new))
        except InputError as error:
            outcomes.append(Outcome(number, None, None, None, tuple(p.render() for p in error.problems)))
            continue
        outcomes.append(Outcome(number, before.reference, before, after))
    return Impact(old.version, new.version, tuple(outcomes))
