"""A portfolio against the programme's credits (a version's ``budget``): the eligible applications
commit their grants in submission order (then in the order of the portfolio); each envelope — the
credits of the whole window, and those of each calendar year of submission the version declares —
says what is committed, what remains, and the application at which its credits run out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from evaluator.core import french
from evaluator.core.decision import Decision, money_text
from evaluator.core.policy import Budget

ZERO = Decimal(0)


@dataclass(frozen=True)
class Commitment:
    """An eligible application's grant, committed against the credits."""

    line: int
    reference: str | None
    submitted_on: date
    grant: Decimal

    def named(self) -> str:
        if self.reference:
            return f"la demande {self.reference} (ligne {self.line})"
        return f"la demande de la ligne {self.line}"


@dataclass(frozen=True)
class Envelope:
    """One envelope of credits and the commitments set against it, in order."""

    label: str
    credits: Decimal
    commitments: tuple[Commitment, ...]

    @property
    def committed(self) -> Decimal:
        return sum((c.grant for c in self.commitments), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.credits - self.committed

    def running_out(self) -> tuple[Commitment, Decimal] | None:
        """The first commitment the credits no longer cover, and how much of it they still cover."""
        total = ZERO
        for commitment in self.commitments:
            if total + commitment.grant > self.credits:
                return commitment, max(ZERO, self.credits - total)
            total += commitment.grant
        return None

    def to_dict(self) -> dict[str, object]:
        out = self.running_out()
        return {"envelope": self.label, "credits": money_text(self.credits), "committed": money_text(self.committed),
                "remaining": money_text(self.remaining), "applications": len(self.commitments),
                "exhausted": None if out is None else {
                    "line": out[0].line, "reference": out[0].reference, "submitted_on": out[0].submitted_on.isoformat(),
                    "grant": money_text(out[0].grant), "covered": money_text(out[1])}}

    def text(self) -> str:
        head = (f"{self.label} : {french.euros(self.credits)} de crédits, {french.euros(self.committed)} engagés "
                f"par {len(self.commitments)} demande(s) éligible(s) ; ")
        if self.remaining >= 0:
            head += f"reste {french.euros(self.remaining)}."
        else:
            head += f"dépassement de {french.euros(-self.remaining)}."
        out = self.running_out()
        if out is not None:
            commitment, covered = out
            head += (f" Les crédits sont épuisés le {french.day(commitment.submitted_on)}, par {commitment.named()} "
                     f"({french.euros(commitment.grant)}, dont {french.euros(covered)} couverts).")
        return head


def envelopes(budget: Budget, decided: Iterable[tuple[int, Decision]]) -> tuple[Envelope, ...]:
    """The envelopes of ``budget`` with the commitments of the eligible ``decided`` applications
    (line in the portfolio, decision)."""
    commitments = sorted((Commitment(line, d.reference, d.submitted_on, d.amounts.grant_total)
                          for line, d in decided if d.status == "eligible"),
                         key=lambda c: (c.submitted_on, c.line))
    found = []
    if budget.credits is not None:
        found.append(Envelope("Toute la période", budget.credits, tuple(commitments)))
    found.extend(Envelope(f"Année {year}", amount, tuple(c for c in commitments if c.submitted_on.year == year))
                 for year, amount in sorted(budget.per_year.items()))
    return tuple(found)


def to_text(budget: Budget, found: tuple[Envelope, ...]) -> str:
    if not found:
        return f"{budget.label} : la version ne déclare pas de crédits.\n"
    return f"{budget.label} ({budget.clause}) :\n" + "".join(f"  - {envelope.text()}\n" for envelope in found)
