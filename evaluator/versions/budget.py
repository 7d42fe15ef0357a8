"""A portfolio against the programme's credits (a version's ``budget``): the eligible applications
commit their grants in submission order (then in the order of the portfolio); each envelope — the
credits of the whole window, and those of each calendar year of submission the version declares —
says what is committed, what remains, and the application at which its credits run out.

The commitments are taken as they come, in any order (``Ledger``), in memory bounded whatever the
size of the portfolio: by submission day, the sum and the count of the grants, and only the first
commitments of the day that the credits may still run out on (those that the credits left, after
the days before, still cover, and the first they no longer cover). The days have a bounded number
(the window's), and so have these commitments (by the credits, less those of the days before)."""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from evaluator.core import french
from evaluator.core.decision import Decision, money_text
from evaluator.core.policy import Budget, Policy
from evaluator.reading.parse import Document
from evaluator.reading.problems import Refusals, Refused
from evaluator.versions.registry import Registry

ZERO = Decimal(0)
TRIM_EVERY = 4096
"""Commitments taken between two trims of those kept (``_Account.trim``)."""


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
    """One envelope of credits and what the eligible applications commit against it: the
    application at which the credits run out (``exhausted``: the first they no longer cover
    whole), and how much of it they still cover."""

    year: int | None
    """The calendar year of submission whose credits these are; ``None``: the whole window's."""
    label: str
    credits: Decimal
    committed: Decimal
    applications: int
    exhausted: tuple[Commitment, Decimal] | None

    @property
    def remaining(self) -> Decimal:
        return self.credits - self.committed

    def to_dict(self) -> dict[str, object]:
        out = self.exhausted
        return {"envelope": "window" if self.year is None else "year", "year": self.year, "label": self.label,
                "credits": money_text(self.credits), "committed": money_text(self.committed),
                "remaining": money_text(self.remaining), "applications": self.applications,
                "exhausted": None if out is None else {
                    "line": out[0].line, "reference": out[0].reference, "submitted_on": out[0].submitted_on.isoformat(),
                    "grant": money_text(out[0].grant), "covered": money_text(out[1])}}

    def text(self) -> str:
        head = (f"{self.label} : {french.euros(self.credits)} de crédits, {french.euros(self.committed)} engagés "
                f"par {self.applications} demande(s) éligible(s) ; ")
        if self.remaining >= 0:
            head += f"reste {french.euros(self.remaining)}."
        else:
            head += f"dépassement de {french.euros(-self.remaining)}."
        if self.exhausted is not None:
            commitment, covered = self.exhausted
            head += (f" Les crédits sont épuisés le {french.day(commitment.submitted_on)}, par {commitment.named()} "
                     f"({french.euros(commitment.grant)}, dont {french.euros(covered)} couverts).")
        return head


@dataclass
class _Day:
    """The commitments of one submission day: their sum and count, and the first of them in the
    order of the portfolio (all of them, or, when ``cut``, those up to the first the credits left
    for the day no longer cover)."""

    total: Decimal = ZERO
    count: int = 0
    kept: list[Commitment] = field(default_factory=list)
    cut: bool = False


class _Account:
    """One envelope's credits and the commitments set against them."""

    def __init__(self, year: int | None, credits: Decimal) -> None:
        self.year, self.credits = year, credits
        self.days: dict[date, _Day] = {}
        self.taken = 0

    def add(self, commitment: Commitment) -> None:
        day = self.days.setdefault(commitment.submitted_on, _Day())
        day.total += commitment.grant
        day.count += 1
        if not day.cut or (day.kept and commitment.line < day.kept[-1].line):  # (else: after the cut)
            insort(day.kept, commitment, key=lambda c: c.line)
        self.taken += 1
        if self.taken % TRIM_EVERY == 0:
            self.trim()

    def trim(self) -> None:
        """Keep, of each day, the commitments up to the first that the credits left after the days
        before (those known so far: the credits left can only shrink) no longer cover."""
        before = ZERO
        for when in sorted(self.days):
            day = self.days[when]
            running = before
            for index, commitment in enumerate(day.kept):
                running += commitment.grant
                if running > self.credits:
                    if index + 1 < len(day.kept):
                        del day.kept[index + 1:]
                        day.cut = True
                    break
            before += day.total

    def envelope(self) -> Envelope:
        committed, exhausted = ZERO, None
        for when in sorted(self.days):
            day = self.days[when]
            if exhausted is None and committed + day.total > self.credits:
                running = committed
                for commitment in day.kept:
                    if running + commitment.grant > self.credits:
                        exhausted = (commitment, max(ZERO, self.credits - running))
                        break
                    running += commitment.grant
            committed += day.total
        label = "Toute la période" if self.year is None else f"Année {self.year}"
        return Envelope(self.year, label, self.credits, committed, sum(d.count for d in self.days.values()), exhausted)


class Ledger:
    """The commitments of a portfolio's eligible applications against a version's credits, taken
    as they come (``add``), in bounded memory; ``envelopes`` once all are taken."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.whole = None if budget.credits is None else _Account(None, budget.credits)
        self.years = {year: _Account(year, amount) for year, amount in sorted(budget.per_year.items())}

    def add(self, commitment: Commitment) -> None:
        if self.whole is not None:
            self.whole.add(commitment)
        year = self.years.get(commitment.submitted_on.year)
        if year is not None:
            year.add(commitment)

    def envelopes(self) -> tuple[Envelope, ...]:
        accounts = [] if self.whole is None else [self.whole]
        return tuple(account.envelope() for account in [*accounts, *self.years.values()])

    def to_dict(self, version: str) -> dict[str, object]:
        return {"version": version, "label": self.budget.label, "clause": self.budget.clause,
                "declared": self.budget.declared, "envelopes": [e.to_dict() for e in self.envelopes()]}

    def text(self) -> str:
        return to_text(self.budget, self.envelopes())


def envelopes(budget: Budget, decided: Iterable[tuple[int, Decision]]) -> tuple[Envelope, ...]:
    """The envelopes of ``budget`` with the commitments of the eligible ``decided`` applications
    (line in the portfolio, decision)."""
    ledger = Ledger(budget)
    for line, decision in decided:
        if decision.status == "eligible":
            ledger.add(Commitment(line, decision.reference, decision.submitted_on, decision.amounts.grant_total))
    return ledger.envelopes()


def to_text(budget: Budget, found: tuple[Envelope, ...]) -> str:
    if not found:
        return f"{budget.label} : la version ne déclare pas de crédits.\n"
    return f"{budget.label} ({budget.clause}) :\n" + "".join(f"  - {envelope.text()}\n" for envelope in found)


def commitments(registry: Registry, version: str | None) -> Callable[[Document, int], tuple[Commitment | None, str]]:
    """What a worker keeps of a portfolio's line for ``guichet budget``: the application decided by
    the version that governs it (or ``version``), its commitment when it is eligible, and its status."""

    def commitment(document: Document, line: int) -> tuple[Commitment | None, str]:
        decision = registry.decide(document, version)
        if decision.status != "eligible":
            return None, decision.status
        return Commitment(line, decision.reference, decision.submitted_on, decision.amounts.grant_total), "eligible"

    return commitment


@dataclass
class Portfolio:
    """A portfolio against the credits of ``policy`` (``guichet budget``), as its lines come
    (``add``): the commitments of its eligible applications, its applications counted, and its
    refused lines (the first ``limit`` kept)."""

    policy: Policy
    named: bool
    """Whether the applications are decided by the version named, else each by the one that governs it."""
    limit: int
    decided: int = 0
    eligible: int = 0
    ledger: Ledger = field(init=False)
    refusals: Refusals = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.policy.budget)
        self.refusals = Refusals(self.limit)

    def add(self, record: Commitment | Refused | None) -> None:
        if isinstance(record, Refused):
            self.refusals.add(record)
            return
        self.decided += 1
        if record is not None:
            self.eligible += 1
            self.ledger.add(record)

    def to_dict(self) -> dict[str, object]:
        return {"credits_of": self.policy.version, "decided_by": "named" if self.named else "governing",
                "decided": self.decided, "eligible": self.eligible, **self.refusals.to_dict(),
                "budget": self.ledger.to_dict(self.policy.version)}

    def text(self) -> str:
        how = (f"toutes par la version {self.policy.version}" if self.named
               else "chacune par la version en vigueur à sa date de dépôt")
        text = (f"Selon la version {self.policy.version} — {self.ledger.text()}"
                f"{french.count(self.decided, 'demande décidée', 'demandes décidées')} ({how}), dont "
                f"{french.count(self.eligible, 'éligible', 'éligibles')}.\n")
        refused = self.refusals.text()
        return text + ("\n" + refused if refused else "")
